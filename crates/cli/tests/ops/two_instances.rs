//! Two `credence serve` processes on one PostgreSQL database, as behind a load balancer:
//! the day's sweep and reminders run once between them (counted in the database, at the
//! SMTP server and at a webhook receiver), the same renewal plan or import committed on
//! both at the same moment is done once, and mixed API load spread over both answers no 5xx.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{
    mail_header, people_with_credentials, Body, Deployment, PgDatabase, Resp, Scratch, Server,
    SmtpSink,
};

const MEMBERS: usize = 10;

#[test]
fn two_instances_on_one_postgres_do_each_job_once() {
    let started = Instant::now();
    let dir = Scratch::new("two");
    let db = PgDatabase::create();
    let hooks = WebhookReceiver::start();
    // Both instances behind one public address, as behind a load balancer; the webhook
    // receiver is on this machine too.
    let base = Deployment::postgres(&dir.0, &db)
        .with("CREDENCE_PUBLIC_URL", "https://credence.example.org")
        .with("CREDENCE_WEBHOOKS_ALLOW_LOOPBACK", "true");
    let (_, token) = base.agency("Metro Fire");

    // The agency on 2026-03-01: credentials that expire that day and ones due a reminder, and
    // a webhook for status changes. The setup server sends no mail.
    let expiring = {
        let setup = base.serve();
        let due = people_with_credentials(&setup, &token, MEMBERS);
        setup
            .post(
                "/api/v1/webhooks",
                &token,
                json!({"url": hooks.url(), "events": ["credential.status_changed"], "secret": "a webhook secret of ours"}),
            )
            .expect(201);
        assert_eq!(due.len(), MEMBERS);
        let members = setup.get("/api/v1/members?limit=500", &token).expect(200);
        let first_half: Vec<Value> = members["items"].as_array().unwrap()[..MEMBERS / 2]
            .iter()
            .map(|m| m["id"].clone())
            .collect();
        let other = setup
            .post(
                "/api/v1/credential-types",
                &token,
                json!({"code": "CPR", "name": "CPR", "validity_months": 12,
                    "requirements": [{"kind": "hours", "hours": 4, "category": "CPR"}]}),
            )
            .expect(201);
        let other = other["id"].as_str().unwrap().to_string();
        setup
            .post(
                &format!("/api/v1/credential-types/{other}/publish"),
                &token,
                json!({}),
            )
            .expect(200);
        let made = setup
            .post(
                "/api/v1/assignments",
                &token,
                json!({"credential_type_id": other, "mode": "active_with_period",
                    "issue_date": "2025-03-01", "expiration_date": "2026-03-01",
                    "member_ids": first_half}),
            )
            .expect(200);
        made["created"].as_array().unwrap().len()
    };
    assert_eq!(
        base.count("SELECT COUNT(*) FROM outbox"),
        0,
        "nothing queued yet"
    );

    // The next day, two instances start at once: one of them sweeps (the CPR credentials
    // expire) and queues the reminders; both deliver.
    let smtp = SmtpSink::start();
    let next_day = base
        .clone()
        .with("CREDENCE_TODAY", "2026-03-02")
        .with("CREDENCE_SMTP_URL", &smtp.url());
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| next_day.serve());
        let b = s.spawn(|| next_day.serve());
        (a.join().unwrap(), b.join().unwrap())
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let all_sent = || {
        base.count("SELECT COUNT(*) FROM outbox WHERE kind = 'webhook'") == expiring as i64
            && base.count("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'") == 0
    };
    while !all_sent() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(all_sent(), "{}\n{}", a.log_text(), b.log_text());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        base.count("SELECT COUNT(*) FROM daily_job_runs WHERE ran_for = '2026-03-02' AND finished_at IS NOT NULL"),
        1
    );
    // One reminder per EMT credential (and whatever the expired CPR ones are owed), once.
    assert_eq!(
        base.count("SELECT COUNT(*) FROM outbox WHERE kind = 'expiration' AND subject LIKE 'EMT%'"),
        MEMBERS as i64
    );
    let queued_mail = base.count("SELECT COUNT(*) FROM outbox WHERE kind <> 'webhook'");
    let mails = smtp.messages();
    let mut received = BTreeMap::new();
    for m in &mails {
        let key = format!(
            "{} | {}",
            mail_header(m, "To").unwrap_or(""),
            mail_header(m, "Subject").unwrap_or("")
        );
        *received.entry(key).or_insert(0) += 1;
    }
    assert_eq!(
        mails.len() as i64,
        queued_mail,
        "each message received once: {received:?}"
    );
    assert!(received.values().all(|n| *n == 1), "{received:?}");
    let events = hooks.events();
    assert_eq!(
        events.len(),
        expiring,
        "each status change delivered once: {events:?}"
    );
    let distinct: std::collections::BTreeSet<_> = events.iter().collect();
    assert_eq!(distinct.len(), expiring, "{events:?}");
    eprintln!(
        "two instances: one daily run, {queued_mail} mails and {} webhook events, each delivered once",
        events.len()
    );

    // The same renewal plan committed on both at the same moment renews each credential
    // once: one answer renews, the other renews nothing (or is a 409).
    let credentials: Vec<String> = a
        .get("/api/v1/credentials?limit=500&sort=member", &token)
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expiring_soon"] == true)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(credentials.len(), MEMBERS);
    let ty = a
        .get(&format!("/api/v1/credentials/{}", credentials[0]), &token)
        .expect(200)["credential_type_id"]
        .clone();
    let plan = json!({"credential_type_id": ty, "items": credentials.iter().map(|c| json!({
        "credential_id": c, "period_start": "2026-03-02", "period_end": "2026-04-15"})).collect::<Vec<_>>()});
    let answers = at_once(&a, &b, |s| {
        s.post("/api/v1/renewal-plans", &token, plan.clone())
    });
    let renewed: Vec<usize> = answers
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.json()["renewed"].as_array().unwrap().len())
        .collect();
    assert!(
        answers.iter().all(|r| r.status == 201 || r.status == 409),
        "{answers:?}"
    );
    assert_eq!(
        renewed.iter().sum::<usize>(),
        MEMBERS,
        "renewed once in all: {answers:?}"
    );
    assert_eq!(base.count("SELECT COUNT(*) FROM renewal_plans"), 1);
    assert_eq!(
        base.count("SELECT COUNT(*) FROM (SELECT credential_id FROM completion_periods WHERE closed_at IS NULL GROUP BY credential_id HAVING COUNT(*) > 1) AS twice"),
        0,
        "no credential has two open periods"
    );

    // One import's preview committed on both at once: written once, the other told so.
    let csv = "first_name,last_name,email,employee_number,active,groups\nNoah,Lee,noah@example.org,N-1,true,\nMia,Park,mia@example.org,N-2,true,\n";
    let preview = a
        .send(
            "POST",
            "/api/v1/imports",
            &token,
            Some(Body::multipart(
                &[("kind", "members")],
                "new.csv",
                csv.as_bytes(),
            )),
        )
        .expect(201);
    let import = preview["id"].as_str().unwrap().to_string();
    let answers = at_once(&a, &b, |s| {
        s.post(
            &format!("/api/v1/imports/{import}/commit"),
            &token,
            Value::Null,
        )
    });
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{answers:?}");
    let conflict = answers.iter().find(|r| r.status == 409).unwrap().json();
    assert_eq!(
        conflict["detail"], "this import was committed already",
        "{conflict}"
    );
    // Two previews of the same file, committed at once: the members exist once.
    let csv = "first_name,last_name,email,employee_number,active,groups\nZoe,Kim,zoe@example.org,N-3,true,\n";
    let previews: Vec<String> = [&a, &b]
        .iter()
        .map(|s| {
            s.send(
                "POST",
                "/api/v1/imports",
                &token,
                Some(Body::multipart(
                    &[("kind", "members")],
                    "same.csv",
                    csv.as_bytes(),
                )),
            )
            .expect(201)["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let answers = at_once(&a, &b, |s| {
        let id = if s.port == a.port {
            &previews[0]
        } else {
            &previews[1]
        };
        s.post(&format!("/api/v1/imports/{id}/commit"), &token, Value::Null)
    });
    assert!(answers.iter().any(|r| r.status == 200), "{answers:?}");
    assert!(
        answers.iter().all(|r| r.status == 200 || r.status == 409),
        "{answers:?}"
    );
    assert_eq!(
        base.count("SELECT COUNT(*) FROM members"),
        (MEMBERS + 3) as i64
    );

    // Mixed load over both: reads and writes from 8 clients, no 5xx.
    let load_started = Instant::now();
    let servers = [&a, &b];
    let counts: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|client| {
                let (servers, token, credentials) = (&servers, &token, &credentials);
                s.spawn(move || {
                    let mut errors = 0;
                    let mut done = 0;
                    for i in 0..40 {
                        let server = servers[(client + i) % 2];
                        let r = match i % 4 {
                            0 => server.get("/api/v1/credentials?limit=50&sort=-expiration_date", token),
                            1 => server.get("/api/v1/members?limit=50", token),
                            2 => server.get(&format!("/api/v1/credentials/{}", credentials[i % credentials.len()]), token),
                            _ => server.post("/api/v1/training-records", token, json!({
                                "member_id": server.get(&format!("/api/v1/credentials/{}", credentials[client % credentials.len()]), token).json()["member_id"],
                                "completed_on": "2026-03-02", "hours": 1, "category": "CE"})),
                        };
                        if r.status >= 500 {
                            errors += 1;
                            eprintln!("{} {}", r.status, String::from_utf8_lossy(&r.body));
                        }
                        done += 1;
                    }
                    (done, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let requests: usize = counts.iter().map(|c| c.0).sum();
    let errors: usize = counts.iter().map(|c| c.1).sum();
    assert_eq!(errors, 0, "no 5xx under load");
    eprintln!(
        "two instances: {requests} requests in {:.2} s with no 5xx; whole test {:.1} s",
        load_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// The same call made on both servers at the same moment.
fn at_once(a: &Server, b: &Server, call: impl Fn(&Server) -> Resp + Sync) -> Vec<Resp> {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = [a, b]
            .into_iter()
            .map(|server| {
                let (barrier, call) = (&barrier, &call);
                s.spawn(move || {
                    barrier.wait();
                    call(server)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// An HTTP server that answers 200 to every POST and keeps each event's type and credential.
struct WebhookReceiver {
    port: u16,
    events: Arc<Mutex<Vec<String>>>,
}

impl WebhookReceiver {
    fn start() -> WebhookReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let events = Arc::new(Mutex::new(Vec::new()));
        let kept = events.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(body) = read_request(stream) {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    kept.lock()
                        .unwrap()
                        .push(format!("{} {}", v["type"], v["data"]["credential_id"]));
                }
            }
        });
        WebhookReceiver { port, events }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

/// Reads one request's body and answers 200.
fn read_request(mut stream: std::net::TcpStream) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while raw.len() < end + 4 + len {
                let n = stream.read(&mut buf).ok()?;
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return Some(raw[end + 4..].to_vec());
        }
    }
}
