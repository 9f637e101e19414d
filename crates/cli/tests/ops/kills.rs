//! A server killed hard (SIGKILL) at random moments, twenty times, while a client generates
//! certificates in batches and has them e-mailed and the server queues and delivers
//! reminders: after restarts, every certificate exists once with its PDF, and every message
//! reached the SMTP server exactly once, counted there and in the database.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

use crate::support::{
    mail_header, people_with_credentials, try_request, Body, Deployment, Resp, Scratch, Server,
    SmtpSink,
};

const MEMBERS: usize = 24;
const BATCH: usize = 3;
const KILLS: usize = 20;

#[test]
fn sigkill_twenty_times_loses_and_repeats_nothing() {
    let started = Instant::now();
    let dir = Scratch::new("kills");
    let smtp = SmtpSink::start();
    let deployment = Deployment::sqlite(&dir.0).with("CREDENCE_SMTP_URL", &smtp.url());
    let (_, token) = deployment.agency("Metro Fire");
    // Set up the day before, so that the day's jobs (sweep, reminders) run under the kills.
    let credentials = {
        let server = deployment
            .clone()
            .with("CREDENCE_TODAY", "2026-02-28")
            .serve();
        people_with_credentials(&server, &token, MEMBERS)
    };
    let mut rng = rand::thread_rng();
    let (mut killed_starting, mut killed_mid_request) = (0, 0);
    for _ in 0..KILLS {
        // Killed at any moment from its start: while migrating, running the day's jobs,
        // delivering mail, or serving the client.
        let mut server = deployment.spawn();
        let dead = Arc::new(AtomicBool::new(false));
        let killer = {
            let (pid, dead) = (server.pid(), dead.clone());
            let after = Duration::from_millis(rng.gen_range(0..1500));
            std::thread::spawn(move || {
                std::thread::sleep(after);
                let status = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .unwrap();
                assert!(status.success());
                dead.store(true, Ordering::SeqCst);
            })
        };
        // The client works until the server dies under it, then idles.
        if !server.wait_up() {
            killed_starting += 1;
        } else {
            let client = Client {
                server: &server,
                token: &token,
            };
            if client.work(&credentials).is_err() && dead.load(Ordering::SeqCst) {
                killed_mid_request += 1;
            }
        }
        killer.join().unwrap();
        drop(server);
    }

    // The last start: the client finishes what is left, the server drains its outbox.
    let server = deployment.serve();
    let client = Client {
        server: &server,
        token: &token,
    };
    client
        .work(&credentials)
        .expect("the client finishes on a live server");
    let pending = "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'";
    let deadline = Instant::now() + Duration::from_secs(60);
    while deployment.count(pending) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let queued = deployment.count("SELECT COUNT(*) FROM outbox");
    assert_eq!(
        deployment.count(pending),
        0,
        "every message delivered within a minute of the last start: {}",
        server.log_text()
    );
    // A moment for a duplicate to show up at the SMTP server, if one were coming.
    std::thread::sleep(Duration::from_millis(500));

    // Certificates: one per credential, each with its PDF.
    assert_eq!(
        deployment.count("SELECT COUNT(*) FROM certificates"),
        MEMBERS as i64
    );
    assert_eq!(
        deployment.count(
            "SELECT COUNT(DISTINCT credential_id) FROM certificates WHERE file_id IS NOT NULL"
        ),
        MEMBERS as i64
    );
    let register = server
        .get("/api/v1/certificates?limit=500", &token)
        .expect(200);
    for c in register["items"].as_array().unwrap() {
        let pdf = server.get(
            &format!("/api/v1/certificates/{}/pdf", c["id"].as_str().unwrap()),
            &token,
        );
        assert_eq!(pdf.status, 200);
        assert!(pdf.body.starts_with(b"%PDF-"));
    }

    // Mail: one reminder per credential and one certificate mail per certificate in the
    // outbox, and each message received exactly once.
    let kinds = |kind: &str| {
        deployment.count(&format!(
            "SELECT COUNT(*) FROM outbox WHERE kind = '{kind}'"
        ))
    };
    assert_eq!(kinds("expiration"), MEMBERS as i64);
    assert_eq!(kinds("certificate"), MEMBERS as i64);
    // At the SMTP server, by Message-ID (made from the outbox row, the same on every try):
    // every message arrived, and once. The one exception SMTP cannot avoid: a server killed
    // after the mail server accepted a message and before it recorded that. Such a message
    // shows a second attempt in the outbox and arrives again with the same Message-ID.
    let received = smtp.messages();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_what: BTreeMap<String, usize> = BTreeMap::new();
    for m in &received {
        *by_id
            .entry(mail_header(m, "Message-ID").unwrap_or("").to_string())
            .or_insert(0) += 1;
        let what = format!(
            "{} | {}",
            mail_header(m, "To").unwrap_or(""),
            mail_header(m, "Subject").unwrap_or("")
        );
        *by_what.entry(what).or_insert(0) += 1;
    }
    let message_id = |id: i64| format!("<outbox.msg_{id}@localhost>");
    let once = deployment.ids("SELECT id FROM outbox WHERE attempts = 1");
    let cut = deployment.ids("SELECT id FROM outbox WHERE attempts > 1");
    let tries = |id: i64| deployment.count(&format!("SELECT attempts FROM outbox WHERE id = {id}"));
    assert_eq!((once.len() + cut.len()) as i64, queued);
    assert_eq!(
        by_id.len() as i64,
        queued,
        "every message arrived: {by_id:?}"
    );
    assert_eq!(
        by_what.len() as i64,
        queued,
        "one message per reminder or certificate"
    );
    for id in &once {
        assert_eq!(
            by_id.get(&message_id(*id)),
            Some(&1),
            "msg_{id} was tried once and arrived once\n{}",
            all_logs(&dir.0)
        );
    }
    let mut resent = 0;
    for id in &cut {
        let n = by_id.get(&message_id(*id)).copied().unwrap_or(0);
        assert!(
            n >= 1 && n as i64 <= tries(*id),
            "msg_{id} arrived {n} times in {} tries",
            tries(*id)
        );
        resent += n - 1;
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{KILLS} kills ({killed_starting} while starting, {killed_mid_request} in the middle of a request), {queued} messages ({} tried again after a kill cut a try, {resent} received twice), {} certificates, {:.1} s",
        cut.len(),
        MEMBERS,
        elapsed.as_secs_f64()
    );
    assert!(elapsed < Duration::from_secs(120), "took {elapsed:?}");
}

struct Client<'a> {
    server: &'a Server,
    token: &'a str,
}

/// The server went away in the middle of a request.
#[derive(Debug)]
struct Gone;

impl Client<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Resp, Gone> {
        let body = body.map(|b| Body::json(&b));
        try_request(self.server.port, method, path, Some(self.token), body).map_err(|_| Gone)
    }

    /// What a careful client does after any failure: look at what is there, then do what is
    /// missing. Certificates come in batches (all or nothing each), and each certificate is
    /// e-mailed once. Any answer but success or a cut connection fails the test.
    fn work(&self, credentials: &[String]) -> Result<(), Gone> {
        for batch in credentials.chunks(BATCH) {
            let mut have = Vec::new();
            for c in batch {
                let r = self.call(
                    "GET",
                    &format!("/api/v1/certificates?credential_id={c}"),
                    None,
                )?;
                let n = r.expect(200)["items"].as_array().unwrap().len();
                assert!(n <= 1, "credential {c} has {n} certificates");
                have.push(n);
            }
            assert!(
                have.iter().all(|n| *n == have[0]),
                "a batch is all or nothing: {have:?}"
            );
            if have[0] == 0 {
                let r = self.call(
                    "POST",
                    "/api/v1/certificates",
                    Some(json!({"credential_ids": batch})),
                )?;
                r.expect(201);
            }
        }
        let outbox = self
            .call("GET", "/api/v1/outbox?limit=500", None)?
            .expect(200);
        let mailed: Vec<String> = outbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "certificate")
            .map(|m| m["subject_id"].as_str().unwrap().to_string())
            .collect();
        let register = self
            .call("GET", "/api/v1/certificates?limit=500", None)?
            .expect(200);
        for c in register["items"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            if !mailed.iter().any(|m| m == id) {
                let r = self.call("POST", &format!("/api/v1/certificates/{id}/email"), None)?;
                r.expect(202);
            }
        }
        // Done: stay until the server is killed (or return on the last, live one).
        Ok(())
    }
}

/// Every server's log, oldest first, for a failure's message.
fn all_logs(dir: &std::path::Path) -> String {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("serve-"))
        .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
        .collect();
    logs.sort();
    logs.iter()
        .map(|(_, p)| {
            format!(
                "== {}\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect()
}
