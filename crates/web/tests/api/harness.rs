//! The test harness: every test gets a database of its own (a fresh SQLite file, or a
//! PostgreSQL database cloned from a migrated template), an agency with an admin token,
//! and helpers that send real HTTP requests through the whole router.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use credence_app::{App, Clock, Role, Store};
use credence_store::migrate;
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use tower::ServiceExt;

/// The maintenance database tests connect to in order to create their own.
pub fn postgres_admin_url() -> String {
    std::env::var("CREDENCE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub const TODAY: &str = "2026-03-01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub agency_id: credence_app::ids::AgencyId,
    pub admin: String,
    // Held for its Drop, which removes the database.
    _cleanup: Cleanup,
}

/// The test's database, removed when the test app is dropped: after `finish`, and also when
/// the test panicked half-way, so failing runs leave nothing behind.
enum Cleanup {
    File(std::path::PathBuf),
    Database(String),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database(name) => {
                // Drop runs inside the test's runtime, which cannot block on itself: the
                // DROP DATABASE runs on a thread of its own with a small runtime.
                let name = name.clone();
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the cleanup");
                    runtime.block_on(async {
                        if let Ok(mut admin) = PgConnection::connect(&postgres_admin_url()).await {
                            let _ = admin
                                .execute(
                                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                                )
                                .await;
                        }
                    });
                });
                let _ = dropped.join();
            }
        }
    }
}

/// A response: status, headers and the body parsed as JSON (or Null).
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self.body
    }

    /// Asserts a problem+json error with this status and returns its body.
    #[track_caller]
    pub fn problem(self, status: u16) -> Value {
        let content_type = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert_eq!(
            content_type, "application/problem+json",
            "body: {}",
            self.text
        );
        let body = self.expect(status);
        assert_eq!(body["status"], status);
        assert!(body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:credence:problem:"));
        assert!(!body["detail"].as_str().unwrap().is_empty());
        body
    }

    /// The fields named in a 422.
    #[track_caller]
    pub fn invalid_fields(self) -> Vec<String> {
        let body = self.problem(422);
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect()
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}_{}_{}", std::process::id(), n, rand::random::<u32>())
}

async fn postgres_database() -> (String, String) {
    let admin_url = postgres_admin_url();
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL must be running for the test suite (see README)");
    let template = format!("credence_template_{:x}", migrate::fingerprint());
    // One process at a time builds the template; the lock is released with the connection.
    admin
        .execute("SELECT pg_advisory_lock(7261002)")
        .await
        .unwrap();
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    if exists.is_none() {
        admin
            .execute(format!("CREATE DATABASE {template}").as_str())
            .await
            .unwrap();
        let store = Store::connect(&swap_database(&admin_url, &template))
            .await
            .unwrap();
        migrate::run(&store).await.unwrap();
        store.close().await;
    }
    let name = format!("credence_test_{}", unique_name());
    admin
        .execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
        .await
        .unwrap();
    admin
        .execute("SELECT pg_advisory_unlock(7261002)")
        .await
        .unwrap();
    admin.close().await.ok();
    (swap_database(&admin_url, &name), name)
}

fn swap_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("database url ends with /name");
    format!("{base}/{name}")
}

impl TestApp {
    pub async fn new(db: Db) -> TestApp {
        Self::with_today(db, TODAY).await
    }

    pub async fn with_today(db: Db, today: &str) -> TestApp {
        let (url, cleanup) = match db {
            Db::Sqlite => {
                let dir = std::env::temp_dir().join("credence-tests");
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("{}.sqlite3", unique_name()));
                (format!("sqlite://{}", path.display()), Cleanup::File(path))
            }
            Db::Postgres => {
                let (url, name) = postgres_database().await;
                (url, Cleanup::Database(name))
            }
        };
        let store = Store::connect(&url).await.unwrap();
        migrate::run(&store).await.unwrap();
        let today: NaiveDate = today.parse().unwrap();
        let worker = env!("CARGO_BIN_EXE_credence-test-render-worker");
        let app = App::new(store, Clock::fixed(today))
            .with_renderer(credence_documents::Renderer::new(worker.into(), vec![]))
            .with_public_url("https://credence.test")
            // A fixed key-encryption key: tests sign badges as a configured server does.
            .with_key_encryption_key(
                credence_app::documents::badges::keys::KeyEncryptionKey::parse(&"42".repeat(32))
                    .unwrap(),
            );
        let agency = app
            .create_agency("Test Fire District", Some("test"), "America/Chicago")
            .await
            .unwrap();
        let admin = app
            .create_token(agency.id, Role::Admin, None, Some("test"))
            .await
            .unwrap();
        let router = credence_web::router(app.clone(), None, &credence_web::HttpOptions::default());
        TestApp {
            app,
            router,
            agency_id: agency.id,
            admin,
            _cleanup: cleanup,
        }
    }

    /// A token of another role in the same agency.
    pub async fn token(&self, role: Role, member_id: Option<&str>) -> String {
        let member = member_id.map(|m| m.parse::<credence_app::ids::MemberId>().ok().unwrap());
        self.app
            .create_token(self.agency_id, role, member, None)
            .await
            .unwrap()
    }

    /// An admin token of a second agency, to prove tenants cannot see each other.
    pub async fn other_agency_admin(&self) -> String {
        let other = self
            .app
            .create_agency("Other County EMS", None, "UTC")
            .await
            .unwrap();
        self.app
            .create_token(other.id, Role::Admin, None, None)
            .await
            .unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        self.send_request(req).await
    }

    pub async fn send_request(&self, req: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, Some(&self.admin), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(&self.admin), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(&self.admin), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(&self.admin), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, Some(&self.admin), None)
            .await
    }

    /// The same agency and database with the clock on another day, for history that spans
    /// days: `t.on("2026-01-05").put(…)` writes as if it were that day.
    pub fn on(&self, today: &str) -> OnDay {
        let mut app = self.app.clone();
        app.clock = Clock::fixed(today.parse().unwrap());
        OnDay {
            router: credence_web::router(app, None, &credence_web::HttpOptions::default()),
            admin: self.admin.clone(),
        }
    }

    /// The same agency and database served by `app` (the test's app with other settings,
    /// such as webhooks to loopback receivers allowed); requests go as the test's admin.
    pub fn served_by(&self, app: App) -> OnDay {
        OnDay {
            router: credence_web::router(app, None, &credence_web::HttpOptions::default()),
            admin: self.admin.clone(),
        }
    }

    /// Closes the store; dropping the app then removes the test's database (see [`Cleanup`]).
    pub async fn finish(self) {
        self.app.store.close().await;
    }
}

/// A [`TestApp`]'s router with its clock on another day ([`TestApp::on`]); requests go as
/// the test's admin.
pub struct OnDay {
    router: Router,
    admin: String,
}

impl OnDay {
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.admin));
        let req = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                req.body(Body::from(b.to_string())).unwrap()
            }
            None => req.body(Body::empty()).unwrap(),
        };
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).to_string(),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
}

/// Defines each test twice, once per database, from one body:
/// `both_databases! { async fn name(t) { … } }` with `t: &TestApp`.
#[macro_export]
macro_rules! both_databases {
    ($(async fn $name:ident($t:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::harness::TestApp::new($crate::harness::Db::Sqlite).await;
                {
                    let $t = &app;
                    $body
                }
                app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::harness::TestApp::new($crate::harness::Db::Postgres).await;
                {
                    let $t = &app;
                    $body
                }
                app.finish().await;
            }
        }
    )*};
}
