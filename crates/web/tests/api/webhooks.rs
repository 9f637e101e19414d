//! Webhooks (#20): subscriptions (admins), events written to the outbox with the change that
//! caused them, and delivery to real HTTP receivers started here — signed, once per event,
//! retried with backoff after failures, and a receiver that hangs holds up no other.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use credence_app::notify::webhooks::WebhookSettings;
use credence_app::{App, Clock, Role};
use hmac::Mac;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::{OnDay, TestApp};

const SECRET: &str = "a-secret-of-enough-length";

/// How a test receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    /// 500 to the first n requests, then 200.
    FailFirst(usize),
    /// Never answers.
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    signature: String,
    event: String,
    delivery: String,
    content_type: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// An HTTP server on a port of its own that records every request.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(answer: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = seen.clone();
        let handler = move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(Received {
                        signature: header("credence-signature"),
                        event: header("credence-event"),
                        delivery: header("credence-delivery"),
                        content_type: header("content-type"),
                        body,
                    });
                    log.len()
                };
                match answer {
                    Answer::Ok => StatusCode::NO_CONTENT,
                    Answer::FailFirst(k) if n <= k => StatusCode::INTERNAL_SERVER_ERROR,
                    Answer::FailFirst(_) => StatusCode::OK,
                    Answer::Hang => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        StatusCode::OK
                    }
                }
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

/// Checks `Credence-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` as a receiver would.
fn verify(r: &Received, secret: &str) {
    let (t, v1) = r
        .signature
        .split_once(",v1=")
        .unwrap_or_else(|| panic!("signature {:?}", r.signature));
    let t = t.strip_prefix("t=").unwrap();
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "a fresh timestamp: {age}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature of {}", r.body);
}

/// The test's app with loopback receivers allowed and a short timeout.
fn loose(t: &TestApp) -> App {
    t.app.clone().with_webhook_settings(WebhookSettings {
        timeout: Duration::from_secs(1),
        allow_loopback: true,
    })
}

async fn subscribe(api: &OnDay, url: &str, events: &[&str]) -> String {
    let r = api
        .post(
            "/api/v1/webhooks",
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

/// Makes every queued delivery due now (the retry backoff, fast-forwarded).
async fn due_now(t: &TestApp) {
    let mut tx = t.app.store.begin().await.unwrap();
    credence_store::query("UPDATE outbox SET next_attempt_at = created_at WHERE status = 'queued'")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn webhook_rows(outbox: &Value) -> Vec<Value> {
    outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "webhook")
        .cloned()
        .collect()
}

both_databases! {
    async fn a_webhook_is_added_read_changed_disabled_and_deleted_with_an_audit_trail(t) {
        let api = t.served_by(loose(t));
        let created = api.post("/api/v1/webhooks", json!({"url": " https://hooks.example.org/credence ", "events": ["credential.issued", "training_record.created"], "secret": SECRET})).await;
        assert_eq!(created.status.as_u16(), 201, "{}", created.text);
        let id = created.body["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("whk_"));
        assert_eq!(created.headers["location"], format!("/api/v1/webhooks/{id}"));
        let w = created.body;
        assert_eq!((w["url"].as_str(), w["enabled"].as_bool(), w["version"].as_i64()), (Some("https://hooks.example.org/credence"), Some(true), Some(1)));
        assert_eq!(w["events"], json!(["credential.issued", "training_record.created"]));
        assert!(w.get("secret").is_none(), "the secret is never shown");
        assert_eq!(t.get(&format!("/api/v1/webhooks/{id}")).await.expect(200), w);
        assert_eq!(t.get("/api/v1/webhooks").await.expect(200), json!({"items": [w], "next_cursor": null}));

        let off = t.patch(&format!("/api/v1/webhooks/{id}"), json!({"enabled": false})).await.expect(200);
        assert_eq!((off["enabled"].as_bool(), off["version"].as_i64()), (Some(false), Some(2)));
        let changed = t.patch(&format!("/api/v1/webhooks/{id}"), json!({"enabled": true, "events": ["credential.revoked"]})).await.expect(200);
        assert_eq!(changed["events"], json!(["credential.revoked"]));
        assert_eq!(changed["enabled"], true);

        t.delete(&format!("/api/v1/webhooks/{id}")).await.expect(204);
        t.get(&format!("/api/v1/webhooks/{id}")).await.problem(404);
        t.delete(&format!("/api/v1/webhooks/{id}")).await.problem(404);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["delete", "enable", "disable", "create"], "enabling again is its own action");
        assert!(!events.to_string().contains(SECRET), "the audit log does not keep the secret");
    }

    async fn events_are_delivered_signed_once_each_and_shown_in_the_outbox(t) {
        let app = loose(t);
        let api = t.served_by(app.clone());
        let everything = Receiver::start(Answer::Ok).await;
        let issued_only = Receiver::start(Answer::Ok).await;
        let all = ["credential.status_changed", "credential.issued", "credential.revoked", "credential.expired", "training_record.created"];
        subscribe(&api, &everything.url, &all).await;
        let narrow = subscribe(&api, &issued_only.url, &["credential.issued"]).await;
        let disabled = Receiver::start(Answer::Ok).await;
        let off = subscribe(&api, &disabled.url, &all).await;
        t.patch(&format!("/api/v1/webhooks/{off}"), json!({"enabled": false})).await.expect(200);

        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (member, credential) = Track::of(&ty).active("2026-01-05").build(t).await;
        t.post("/api/v1/training-records", json!({"member_id": member, "completed_on": "2026-02-01", "hours": 2, "category": "CE"})).await.expect(201);
        t.post(&format!("/api/v1/credentials/{credential}/revoke"), json!({"reason": "card withdrawn"})).await.expect(200);
        let delivered = app.deliver_webhooks().await.unwrap();
        assert_eq!(delivered, everything.seen().len() + issued_only.seen().len());

        let got = everything.seen();
        let types: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect();
        for expected in ["credential.issued", "credential.status_changed", "training_record.created", "credential.revoked"] {
            assert!(types.iter().any(|t| t == expected), "{expected} in {types:?}");
        }
        for r in &got {
            verify(r, SECRET);
            assert_eq!(r.content_type, "application/json");
            let body = r.json();
            assert_eq!(r.event, body["type"].as_str().unwrap());
            assert!(body["id"].as_str().unwrap().starts_with("ev_"));
            assert!(r.delivery.starts_with("msg_"));
            assert_eq!(body["agency_id"], t.agency_id.to_string());
            assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
        }
        let issued = got.iter().map(Received::json).find(|b| b["type"] == "credential.issued").unwrap();
        assert_eq!(issued["data"]["credential_id"], credential.as_str());
        assert_eq!(issued["data"]["member_id"], member.as_str());
        assert_eq!(issued["data"]["credential_type_id"], ty.as_str());
        assert_eq!(issued["data"]["issue_date"], "2026-01-05");
        let revoked = got.iter().map(Received::json).find(|b| b["type"] == "credential.revoked").unwrap();
        assert_eq!(revoked["data"]["credential_id"], credential.as_str());
        let change = got.iter().map(Received::json).find(|b| b["type"] == "credential.status_changed" && b["data"]["status"] == "revoked").unwrap();
        assert!(change["data"]["previous_status"].as_str().unwrap().starts_with("active"), "{change}");
        let record = got.iter().map(Received::json).find(|b| b["type"] == "training_record.created").unwrap();
        assert_eq!((record["data"]["member_id"].as_str(), record["data"]["hours"].as_f64()), (Some(member.as_str()), Some(2.0)));

        // The narrow subscription heard only issuances, with the same event id as the other.
        let narrow_got = issued_only.seen();
        assert_eq!(narrow_got.len(), 1);
        verify(&narrow_got[0], SECRET);
        assert_eq!(narrow_got[0].json()["id"], issued["id"]);
        assert!(disabled.seen().is_empty(), "a disabled webhook hears nothing");

        // Once each: delivery ids and event ids never repeat, and nothing is left to send.
        let mut deliveries: Vec<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
        deliveries.sort_unstable();
        deliveries.dedup();
        assert_eq!(deliveries.len(), got.len());
        due_now(t).await;
        assert_eq!(app.deliver_webhooks().await.unwrap(), 0);
        assert_eq!(everything.seen().len(), got.len());

        // The outbox shows them, sent, to the receiver's address.
        let outbox = t.get("/api/v1/outbox?limit=100").await.expect(200);
        let rows = webhook_rows(&outbox);
        assert_eq!(rows.len(), got.len() + 1);
        assert!(rows.iter().all(|m| m["status"] == "sent" && m["attempts"] == 1));
        assert!(rows.iter().any(|m| m["to"] == issued_only.url.as_str() && m["subject_id"] == narrow.as_str()));
    }

    async fn a_bulk_dry_run_sends_no_events(t) {
        let app = loose(t);
        let api = t.served_by(app.clone());
        let receiver = Receiver::start(Answer::Ok).await;
        subscribe(&api, &receiver.url, &["credential.revoked", "credential.status_changed"]).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        let (_, credential) = Track::of(&ty).active("2026-01-05").build(t).await;
        app.deliver_webhooks().await.unwrap();
        let before = receiver.seen().len();
        let dry = t.post("/api/v1/credentials/bulk-revoke", json!({"credential_ids": [credential], "reason": "checking", "dry_run": true})).await.expect(200);
        assert_eq!(dry["dry_run"], true);
        assert_eq!(app.deliver_webhooks().await.unwrap(), 0, "the dry run was rolled back, its events with it");
        assert_eq!(receiver.seen().len(), before);
    }

    async fn a_receiver_that_fails_twice_gets_the_event_once_after_retries(t) {
        let app = loose(t);
        let api = t.served_by(app.clone());
        let flaky = Receiver::start(Answer::FailFirst(2)).await;
        let hook = subscribe(&api, &flaky.url, &["credential.issued"]).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        Track::of(&ty).active("2026-01-05").build(t).await;

        assert_eq!(app.deliver_webhooks().await.unwrap(), 0, "the first attempt fails");
        assert_eq!(app.deliver_webhooks().await.unwrap(), 0, "and waits out its backoff");
        let outbox = t.get("/api/v1/outbox").await.expect(200);
        let row = &webhook_rows(&outbox)[0];
        assert_eq!((row["status"].as_str(), row["attempts"].as_i64()), (Some("queued"), Some(1)));
        assert!(row["last_error"].as_str().unwrap().contains("500"), "{row}");
        due_now(t).await;
        assert_eq!(app.deliver_webhooks().await.unwrap(), 0, "the second attempt fails");
        due_now(t).await;
        assert_eq!(app.deliver_webhooks().await.unwrap(), 1, "the third is taken");
        due_now(t).await;
        assert_eq!(app.deliver_webhooks().await.unwrap(), 0, "and it is not sent again");

        let got = flaky.seen();
        assert_eq!(got.len(), 3);
        for r in &got {
            verify(r, SECRET);
        }
        assert!(got.iter().all(|r| r.body == got[0].body && r.delivery == got[0].delivery), "the same event each time");
        let outbox = t.get("/api/v1/outbox").await.expect(200);
        let row = &webhook_rows(&outbox)[0];
        assert_eq!((row["status"].as_str(), row["attempts"].as_i64(), row["last_error"].as_str()), (Some("sent"), Some(3), None));
        assert_eq!(row["subject_id"], hook.as_str());
    }

    async fn a_receiver_that_hangs_times_out_without_holding_up_the_others(t) {
        let app = loose(t);
        let api = t.served_by(app.clone());
        let stuck = Receiver::start(Answer::Hang).await;
        let fine = Receiver::start(Answer::Ok).await;
        subscribe(&api, &stuck.url, &["credential.issued"]).await;
        subscribe(&api, &fine.url, &["credential.issued"]).await;
        let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
        Track::of(&ty).active("2026-01-05").build(t).await;

        let started = Instant::now();
        assert_eq!(app.deliver_webhooks().await.unwrap(), 1);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "the pass ends at the 1 s timeout, not with the receiver: {took:?}");
        assert_eq!(fine.seen().len(), 1, "the other receiver got its event");
        assert_eq!(stuck.seen().len(), 1, "the stuck one was asked");
        let outbox = t.get("/api/v1/outbox").await.expect(200);
        let rows = webhook_rows(&outbox);
        let failed = rows.iter().find(|m| m["to"] == stuck.url.as_str()).unwrap();
        assert_eq!(failed["status"], "queued", "tried again later");
        assert!(failed["last_error"].as_str().unwrap().contains("did not answer within 1 s"), "{failed}");
        let sent = rows.iter().find(|m| m["to"] == fine.url.as_str()).unwrap();
        assert_eq!(sent["status"], "sent");
    }

    async fn credential_expired_comes_from_the_daily_pass(t) {
        let receiver = Receiver::start(Answer::Ok).await;
        subscribe(&t.served_by(loose(t)), &receiver.url, &["credential.expired", "credential.status_changed"]).await;
        let ty = t.post("/api/v1/credential-types", json!({"code": "EMT", "name": "EMT", "validity_months": 24,
            "requirements": [{"kind": "hours", "hours": 24, "category": "CE"}]})).await.expect(201);
        let ty = ty["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({})).await.expect(200);
        let member = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith"})).await.expect(201);
        let credential = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period",
            "issue_date": "2024-03-10", "expiration_date": "2026-03-10", "member_ids": [member["id"]]})).await.expect(200)["created"][0].as_str().unwrap().to_string();
        let app = loose(t);
        app.deliver_webhooks().await.unwrap();
        let before = receiver.seen().len();

        let mut later = loose(t);
        later.clock = Clock::fixed("2026-03-11".parse().unwrap());
        later.sweep_all().await.unwrap();
        assert_eq!(later.deliver_webhooks().await.unwrap(), 2);
        let got: Vec<Value> = receiver.seen()[before..].iter().map(Received::json).collect();
        let expired = got.iter().find(|b| b["type"] == "credential.expired").unwrap();
        assert_eq!(expired["data"]["credential_id"], credential.as_str());
        assert_eq!(expired["data"]["member_id"], member["id"]);
        assert_eq!(expired["data"]["expiration_date"], "2026-03-10");
        let change = got.iter().find(|b| b["type"] == "credential.status_changed").unwrap();
        // Its renewal period is open and unfinished, so it is Overdue now; it still expired.
        assert_eq!((change["data"]["previous_status"].as_str(), change["data"]["status"].as_str()), (Some("active_renewal_in_progress"), Some("overdue")));
        // The pass is idempotent, and so are its events.
        later.sweep_all().await.unwrap();
        assert_eq!(later.deliver_webhooks().await.unwrap(), 0);
    }

    async fn a_test_event_reaches_the_receiver(t) {
        let app = loose(t);
        let api = t.served_by(app.clone());
        let receiver = Receiver::start(Answer::Ok).await;
        let id = subscribe(&api, &receiver.url, &["credential.issued"]).await;
        let queued = t.post(&format!("/api/v1/webhooks/{id}/test"), json!({})).await.expect(202);
        assert_eq!((queued["kind"].as_str(), queued["subject"].as_str(), queued["status"].as_str()), (Some("webhook"), Some("webhook.test"), Some("queued")));
        assert_eq!(app.deliver_webhooks().await.unwrap(), 1);
        let got = receiver.seen();
        verify(&got[0], SECRET);
        assert_eq!(got[0].json()["type"], "webhook.test");
        assert_eq!(got[0].json()["data"]["webhook_id"], id.as_str());
    }

    async fn bad_webhooks_are_refused_with_the_field_named(t) {
        let body = |url: &str, events: Value, secret: &str| json!({"url": url, "events": events, "secret": secret});
        let issued = json!(["credential.issued"]);
        for (url, why) in [
            ("ftp://hooks.example.org/x", "must start with http:// or https://"),
            ("not a url", "is not a web address"),
            ("https://user:pw@hooks.example.org/x", "must not carry a user name or password"),
            ("http://127.0.0.1:9000/hook", "loopback"),
            ("http://localhost/hook", "loopback"),
            ("http://[::1]:8080/hook", "loopback"),
            ("https://credence.test/api/v1/members", "points at this Credence server"),
        ] {
            let r = t.post("/api/v1/webhooks", body(url, issued.clone(), SECRET)).await.problem(422);
            assert_eq!(r["errors"][0]["field"], "url", "{url}");
            assert!(r["errors"][0]["message"].as_str().unwrap().contains(why), "{url}: {r}");
        }
        let r = t.post("/api/v1/webhooks", body("https://hooks.example.org/x", json!([]), SECRET)).await.invalid_fields();
        assert_eq!(r, ["events"]);
        let r = t.post("/api/v1/webhooks", body("https://hooks.example.org/x", json!(["credential.issued", "credential.deleted"]), SECRET)).await.problem(422);
        assert_eq!(r["errors"][0]["field"], "events[1]");
        assert!(r["errors"][0]["message"].as_str().unwrap().contains("credential.deleted"));
        let fields = t.post("/api/v1/webhooks", body("gopher://x", json!(["nope"]), "short")).await.invalid_fields();
        assert_eq!(fields, ["url", "events[0]", "secret"], "every problem at once");
        t.post("/api/v1/webhooks", json!({"url": "https://hooks.example.org/x", "events": ["credential.issued"]})).await.problem(422);
        assert_eq!(t.get("/api/v1/webhooks").await.expect(200)["items"], json!([]), "nothing was written");

        // Loopback is accepted only where the server allows it (tests, local development).
        let loose_api = t.served_by(loose(t));
        let id = subscribe(&loose_api, "http://127.0.0.1:9000/hook", &["credential.issued"]).await;
        // An edit is checked the same way.
        let fields = t.patch(&format!("/api/v1/webhooks/{id}"), json!({"url": "ftp://x", "events": []})).await.invalid_fields();
        assert_eq!(fields, ["url", "events"]);
        let fields = t.patch(&format!("/api/v1/webhooks/{id}"), json!({"secret": "short"})).await.invalid_fields();
        assert_eq!(fields, ["secret"]);
        t.patch(&format!("/api/v1/webhooks/{id}"), json!({"colour": "red"})).await.problem(422);
        t.get("/api/v1/webhooks/whk_0").await.problem(404);
        t.get("/api/v1/webhooks/crd_1").await.problem(404);
    }

    async fn another_agency_cannot_see_or_touch_a_webhook(t) {
        let id = subscribe(&t.served_by(loose(t)), "https://hooks.example.org/x", &["credential.issued"]).await;
        let other = t.other_agency_admin().await;
        let path = format!("/api/v1/webhooks/{id}");
        t.send(Method::GET, &path, Some(&other), None).await.problem(404);
        t.send(Method::PATCH, &path, Some(&other), Some(json!({"enabled": false}))).await.problem(404);
        t.send(Method::POST, &format!("{path}/test"), Some(&other), Some(json!({}))).await.problem(404);
        t.send(Method::DELETE, &path, Some(&other), None).await.problem(404);
        assert_eq!(t.send(Method::GET, "/api/v1/webhooks", Some(&other), None).await.expect(200)["items"], json!([]));
        // Its own events do not reach this agency's webhook.
        let ty = t.send(Method::POST, "/api/v1/credential-types", Some(&other), Some(json!({"code": "CPR", "name": "CPR", "validity_months": 24}))).await.expect(201);
        let ty = ty["id"].as_str().unwrap();
        t.send(Method::POST, &format!("/api/v1/credential-types/{ty}/publish"), Some(&other), Some(json!({}))).await.expect(200);
        let m = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "O", "last_name": "Ther"}))).await.expect(201);
        t.send(Method::POST, "/api/v1/assignments", Some(&other), Some(json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": "2026-01-05", "member_ids": [m["id"]]}))).await.expect(200);
        assert!(webhook_rows(&t.get("/api/v1/outbox").await.expect(200)).is_empty());
        assert_eq!(t.get(&path).await.expect(200)["enabled"], true);
    }

    async fn the_webhooks_page_adds_tests_disables_and_shows_deliveries(t) {
        use crate::web_pages::{follow, form, page, sign_in};
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        t.app.create_user(t.agency_id, "officer@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let cookie = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/webhooks", &officer).await.status, 403);
        assert!(!page(t, "/", &officer).await.text.contains("href=\"/webhooks\""));

        let list = page(t, "/webhooks", &cookie).await;
        assert_eq!(list.status, 200);
        assert!(list.text.contains("No webhooks yet"));
        assert!(list.text.contains("href=\"/webhooks\""), "in the Agency menu");
        assert!(list.text.contains("value=\"whsec_"), "a secret is suggested");
        let csrf = list.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let forged = form(t, "/webhooks", &cookie, "url=https%3A%2F%2Fhooks.example.org%2Fx&events=credential.issued&secret=0123456789abcdef").await;
        assert_eq!(forged.status, 400);
        let refused = form(t, "/webhooks", &cookie, &format!("csrf={csrf}&url=ftp%3A%2F%2Fx&secret=0123456789abcdef")).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("The address must start with http:// or https://."), "{}", refused.text);
        assert!(refused.text.contains("Events: choose at least one event."));
        assert!(refused.text.contains("value=\"ftp://x\""), "what was typed is kept");
        let added = form(t, "/webhooks", &cookie, &format!("csrf={csrf}&url=https%3A%2F%2Fhooks.example.org%2Fx&events=credential.issued&events=credential.revoked&secret=0123456789abcdef")).await;
        assert_eq!(added.status, 303, "{}", added.text);
        let shown = follow(t, &added, &cookie).await;
        assert!(shown.text.contains("Events now go to https://hooks.example.org/x."));
        assert!(shown.text.contains("Nothing sent yet."));
        let id = t.get("/api/v1/webhooks").await.expect(200)["items"][0]["id"].as_str().unwrap().to_string();

        let tested = form(t, &format!("/webhooks/{id}/test"), &cookie, &format!("csrf={csrf}")).await;
        assert_eq!(tested.status, 303);
        let shown = follow(t, &tested, &cookie).await;
        assert!(shown.text.contains("A test event is queued"));
        assert!(shown.text.contains("<code>webhook.test</code>"), "the delivery is listed");
        let off = form(t, &format!("/webhooks/{id}/enabled"), &cookie, &format!("csrf={csrf}&enabled=false")).await;
        assert_eq!(off.status, 303);
        assert!(follow(t, &off, &cookie).await.text.contains("receives no events until it is enabled"));
        assert_eq!(t.get(&format!("/api/v1/webhooks/{id}")).await.expect(200)["enabled"], false);
        let outbox = page(t, "/outbox", &cookie).await;
        assert!(outbox.text.contains("webhook.test") && outbox.text.contains("Webhook"));
        let gone = form(t, &format!("/webhooks/{id}/delete"), &cookie, &format!("csrf={csrf}")).await;
        assert_eq!(gone.status, 303);
        t.get(&format!("/api/v1/webhooks/{id}")).await.problem(404);
    }
}
