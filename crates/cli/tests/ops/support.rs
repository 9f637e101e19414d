//! What the operations tests share: the real `credence` binary run as a server, a small
//! HTTP/1.1 client for it, the outside services they start (SMTP sink, S3-compatible
//! server, PostgreSQL databases) and direct counts in the database.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Tests' "today" (as in the API tests).
pub const TODAY: &str = "2026-03-01";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch directory of its own, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "credence-ops-{what}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where a deployment keeps its data: a data directory (SQLite) or a PostgreSQL URL, and the
/// environment every `credence` process of it gets.
#[derive(Clone)]
pub struct Deployment {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub env: Vec<(String, String)>,
}

impl Deployment {
    pub fn sqlite(dir: &Path) -> Deployment {
        Deployment {
            data_dir: dir.to_path_buf(),
            database_url: format!("sqlite://{}", dir.join("credence.sqlite3").display()),
            env: Vec::new(),
        }
    }

    pub fn postgres(dir: &Path, db: &PgDatabase) -> Deployment {
        Deployment {
            data_dir: dir.to_path_buf(),
            database_url: db.url.clone(),
            env: Vec::new(),
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> Deployment {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_credence"));
        c.arg("--data-dir")
            .arg(&self.data_dir)
            .env("CREDENCE_DATABASE_URL", &self.database_url)
            .env("CREDENCE_TODAY", TODAY)
            .env("CREDENCE_LOG", "info,sqlx=warn,tower_http=warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// The binary with this deployment's settings and `args`, to start as it suits the test.
    pub fn command_for(&self, args: &[&str]) -> Command {
        let mut c = self.command();
        c.args(args);
        c
    }

    /// Runs a command to its end; panics with its stderr when it fails. Answers stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "credence {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new agency and an admin API token for it.
    pub fn agency(&self, name: &str) -> (String, String) {
        let slug = self.run(&["agency", "create", "--name", name]);
        let token = self.run(&["token", "create", "--agency", &slug, "--role", "admin"]);
        (slug, token)
    }

    /// `credence serve` on a free port, up and answering /healthz.
    pub fn serve(&self) -> Server {
        let mut server = self.spawn();
        if !server.wait_up() {
            let log = server.log_text();
            server.kill();
            panic!("credence serve did not come up: {log}");
        }
        server
    }

    /// `credence serve` on a free port, just started.
    pub fn spawn(&self) -> Server {
        let port = free_port();
        let log = self.data_dir.join(format!("serve-{port}.log"));
        let child = self
            .command()
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Server { child, port, log }
    }

    /// Counts rows straight from the database (`SELECT COUNT(*) …`).
    pub fn count(&self, sql: &str) -> i64 {
        let mut values = self.ids(sql);
        assert_eq!(values.len(), 1, "{sql}");
        values.remove(0)
    }

    /// Runs one statement straight on the database and rolls it back; answers its error.
    pub fn refused(&self, sql: &str) -> Option<String> {
        let (url, sql) = (self.database_url.clone(), sql.to_string());
        on_own_runtime(async move {
            let store = credence_store::Store::connect(&url).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            let result = credence_store::query(sql.as_str()).execute(&mut tx).await;
            drop(tx);
            store.close().await;
            result.err().map(|e| e.to_string())
        })
    }

    /// The integers of a one-column query, straight from the database.
    pub fn ids(&self, sql: &str) -> Vec<i64> {
        let (url, sql) = (self.database_url.clone(), sql.to_string());
        on_own_runtime(async move {
            let store = credence_store::Store::connect(&url).await.unwrap();
            let mut tx = store.read().await.unwrap();
            let values: Vec<i64> = credence_store::query(sql.as_str())
                .scalars(&mut tx)
                .await
                .unwrap();
            drop(tx);
            store.close().await;
            values
        })
    }
}

/// Runs `work` to its end on a thread and runtime of its own: the tests are plain threads,
/// and a runtime cannot be started inside one that is running.
fn on_own_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

/// A running `credence serve`; killed (SIGKILL) on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Waits until /healthz answers (true), or the process has exited or 30 s have passed.
    pub fn wait_up(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = try_request(self.port, "GET", "/healthz", None, None) {
                if r.status == 200 {
                    return true;
                }
            }
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no draining, no cleanup, as when a machine or container dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        request(self.port, "GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        let body = Body::json(&body);
        request(self.port, "POST", path, Some(token), Some(body))
    }

    pub fn send(&self, method: &str, path: &str, token: &str, body: Option<Body>) -> Resp {
        request(self.port, method, path, Some(token), body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Body {
    pub fn json(v: &Value) -> Body {
        Body {
            content_type: "application/json".into(),
            bytes: v.to_string().into_bytes(),
        }
    }

    /// A multipart/form-data body: text fields, then one `file` field.
    pub fn multipart(fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> Body {
        let boundary = format!("credence{}", rand::random::<u64>());
        let mut bytes = Vec::new();
        for (name, value) in fields {
            bytes.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        bytes.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        bytes.extend_from_slice(file);
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Body {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            bytes,
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, String::from_utf8_lossy(&self.body))
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The JSON body, after checking the status.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

/// One request on a fresh connection (`Connection: close`); panics when the server does not
/// answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Body>,
) -> Resp {
    try_request(port, method, path, token, body)
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
}

/// One request; an error when the connection fails or is cut (a killed server).
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Body>,
) -> std::io::Result<Resp> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let bytes = match body {
        Some(b) => {
            head.push_str(&format!("Content-Type: {}\r\n", b.content_type));
            b.bytes
        }
        None => Vec::new(),
    };
    head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&bytes)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let cut = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "response cut short");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(cut)?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(cut)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body).ok_or_else(cut)?;
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len {
            return Err(cut());
        }
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Starts a helper program that listens on `port`; panics, naming how to install it, when it
/// cannot be started or does not listen within ten seconds.
fn start_listening(mut command: Command, port: u16, install: &str) -> Child {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {command:?} ({e}); {install}"));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{command:?} exited ({status}); {install}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{command:?} did not listen on port {port}; {install}");
}

/// A real SMTP server (aiosmtpd from PyPI) that keeps what it receives in a maildir.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    maildir: Scratch,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let port = free_port();
        let maildir = Scratch::new("mail");
        let mut command = Command::new("python3");
        command
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.0.join("box"));
        let child = start_listening(
            command,
            port,
            "install it with: python3 -m pip install aiosmtpd (bin/test does)",
        );
        SmtpSink {
            child,
            port,
            maildir,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw text of every message received.
    pub fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.0.join("box").join("new"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of a header line of a raw message.
pub fn mail_header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// An S3-compatible server (moto_server from PyPI, in memory) with one bucket.
pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
    pub bucket: String,
}

impl S3Server {
    pub fn start(bucket: &str) -> S3Server {
        let port = free_port();
        let mut command = Command::new("python3");
        command.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]);
        let child = start_listening(
            command,
            port,
            "the S3 tests need moto_server: python3 -m pip install 'moto[server]' (bin/test does)",
        );
        let created = request(port, "PUT", &format!("/{bucket}"), None, None);
        assert_eq!(created.status, 200, "creating the bucket: {created:?}");
        S3Server {
            child: Some(child),
            port,
            bucket: bucket.to_string(),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The deployment's environment for this bucket (docs/operations.md lists it).
    pub fn configure(&self, d: Deployment) -> Deployment {
        d.with("CREDENCE_FILES_URL", &format!("s3://{}", self.bucket))
            .with("AWS_ENDPOINT", &self.endpoint())
            .with("AWS_ALLOW_HTTP", "true")
            .with("AWS_REGION", "us-east-1")
            .with("AWS_ACCESS_KEY_ID", "credence-test")
            .with("AWS_SECRET_ACCESS_KEY", "credence-test-secret")
    }

    /// The keys stored in the bucket.
    pub fn keys(&self) -> Vec<String> {
        let r = request(
            self.port,
            "GET",
            &format!("/{}?list-type=2&max-keys=1000", self.bucket),
            None,
            None,
        );
        assert_eq!(r.status, 200, "listing the bucket");
        let text = String::from_utf8_lossy(&r.body).into_owned();
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// The bytes of one object, read with boto3 (moto's own dependency): a signed request, as
    /// the bucket is private.
    pub fn object(&self, key: &str) -> Vec<u8> {
        let script = "import boto3, sys; s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='credence-test', aws_secret_access_key='credence-test-secret'); sys.stdout.buffer.write(s3.get_object(Bucket=sys.argv[2], Key=sys.argv[3])['Body'].read())";
        let out = Command::new("python3")
            .args(["-c", script, &self.endpoint(), &self.bucket, key])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "reading {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Stops the server hard: its port refuses connections from now on.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL database of its own (from CREDENCE_TEST_POSTGRES_URL's server), dropped on
/// drop. bin/test also removes any that an interrupted run left behind.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let admin_url = std::env::var("CREDENCE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "credence_test_ops_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        PgDatabase {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-qc", sql])
        .output()
        .expect("psql (PostgreSQL's client) is needed for the PostgreSQL tests");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 1×1 PNG, one dark red pixel: a logo.
pub const RED_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xa8, 0x97, 0x95, 0x05,
    0x00, 0x01, 0xd8, 0x00, 0xba, 0x06, 0xb1, 0xc1, 0xae, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// An agency's people and credentials, set up through the API: `n` members imported from a
/// CSV file (with e-mail addresses), a published credential type, and an active credential
/// for each expiring on 2026-04-15 (45 days after [`TODAY`]: due a reminder).
/// Answers the credential ids.
pub fn people_with_credentials(server: &Server, token: &str, n: usize) -> Vec<String> {
    let mut csv = String::from("first_name,last_name,email,employee_number,active,groups\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Member{i},Tester,member{i}@example.org,E{i:04},true,\n"
        ));
    }
    let preview = server
        .send(
            "POST",
            "/api/v1/imports",
            token,
            Some(Body::multipart(
                &[("kind", "members")],
                "members.csv",
                csv.as_bytes(),
            )),
        )
        .expect(201);
    assert_eq!(preview["errors"], serde_json::json!([]), "{preview}");
    let import = preview["id"].as_str().unwrap();
    server
        .post(
            &format!("/api/v1/imports/{import}/commit"),
            token,
            Value::Null,
        )
        .expect(200);
    let members = server.get("/api/v1/members?limit=500", token).expect(200);
    let member_ids: Vec<Value> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(member_ids.len(), n);
    let ty = server
        .post(
            "/api/v1/credential-types",
            token,
            serde_json::json!({"code": "EMT-B", "name": "EMT-Basic", "validity_months": 24,
                "requirements": [{"kind": "hours", "hours": 24, "category": "CE"}]}),
        )
        .expect(201);
    let ty = ty["id"].as_str().unwrap();
    server
        .post(
            &format!("/api/v1/credential-types/{ty}/publish"),
            token,
            serde_json::json!({}),
        )
        .expect(200);
    let assigned = server
        .post(
            "/api/v1/assignments",
            token,
            serde_json::json!({"credential_type_id": ty, "mode": "active_with_period",
                "issue_date": "2024-04-15", "expiration_date": "2026-04-15",
                "member_ids": member_ids}),
        )
        .expect(200);
    assigned["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}
