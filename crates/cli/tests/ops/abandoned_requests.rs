//! Clients that hang up mid-request (a closed browser tab, a load balancer's timeout, a
//! load generator stopping) must not leave the server broken: each write runs to its end
//! whatever becomes of its connection, and later writes still work. A write cut off inside
//! SQLite's `BEGIN IMMEDIATE` once left the single writer connection in a transaction, and
//! every later write failed with 500 until a restart.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};

use crate::support::{Deployment, PgDatabase, Scratch, Server};

#[test]
fn abandoned_writes_leave_later_writes_working_on_sqlite() {
    let dir = Scratch::new("abandon-sqlite");
    abandoned_writes_leave_later_writes_working(Deployment::sqlite(&dir.0));
}

#[test]
fn abandoned_writes_leave_later_writes_working_on_postgres() {
    let dir = Scratch::new("abandon-pg");
    let db = PgDatabase::create();
    abandoned_writes_leave_later_writes_working(Deployment::postgres(&dir.0, &db));
}

fn abandoned_writes_leave_later_writes_working(deployment: Deployment) {
    let (_, token) = deployment.agency("Metro Fire");
    let server = deployment.serve();
    let member = server
        .post(
            "/api/v1/members",
            &token,
            json!({"first_name": "Ava", "last_name": "Smith"}),
        )
        .expect(201)["id"]
        .clone();
    let course = server
        .post(
            "/api/v1/courses",
            &token,
            json!({"code": "HAZ-OPS", "name": "Hazmat Operations", "hours": 8}),
        )
        .expect(201)["id"]
        .clone();
    let record = json!({"member_id": member, "course_id": course, "completed_on": "2026-02-20"});

    // Rounds of 40 writes at once, each client hanging up 0–10 ms after sending: some
    // before the server has read the request, some waiting for the database, some inside
    // a transaction.
    for _ in 0..10 {
        std::thread::scope(|scope| {
            for _ in 0..40 {
                scope.spawn(|| {
                    let stream = send_without_reading(&server, &token, &record);
                    let wait = rand::thread_rng().gen_range(0..=10_000);
                    std::thread::sleep(Duration::from_micros(wait));
                    drop(stream);
                });
            }
        });
    }

    // Later writes and reads answer as ever.
    for _ in 0..5 {
        server
            .post("/api/v1/training-records", &token, record.clone())
            .expect(201);
    }
    let listed: Value = server
        .get(
            &format!(
                "/api/v1/training-records?member_id={}",
                member.as_str().unwrap()
            ),
            &token,
        )
        .expect(200);
    assert!(!listed["items"].as_array().unwrap().is_empty());
    let log = server.log_text();
    assert!(!log.contains("transaction depth"), "{log}");
}

/// Sends a whole `POST /api/v1/training-records` and leaves the answer unread.
fn send_without_reading(server: &Server, token: &str, body: &Value) -> TcpStream {
    let body = body.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /api/v1/training-records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    stream
}
