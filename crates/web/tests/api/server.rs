//! The server loop over real TCP: slow and idle clients are cut off, connections are capped,
//! handlers still see the client's address, and shutdown is graceful (#19, Medium 10).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use credence_app::Role;
use credence_web::HttpOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::both_databases;
use crate::harness::TestApp;

const TIMEOUT: Duration = Duration::from_millis(400);

/// The test app served on a free port with a short header-read timeout and room for
/// `max_connections`; answers its address, the stop switch and the server task.
async fn start(
    t: &TestApp,
    max_connections: usize,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let options = HttpOptions {
        header_read_timeout: TIMEOUT,
        max_connections,
        ..HttpOptions::default()
    };
    let router = credence_web::router(t.app.clone(), None, &options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        credence_web::serve(listener, router, &options, async {
            let _ = stopped.await;
        })
        .await;
    });
    (addr, stop, server)
}

/// Reads until the server closes the connection; answers what it sent and how long that took.
/// Gives up (panics) after 5 s: a server that never closes fails the test.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server kept the connection open");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

/// One request on a fresh connection that asks to be closed after it.
async fn request(addr: SocketAddr, head_and_body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head_and_body.as_bytes()).await.unwrap();
    read_until_closed(&mut stream).await.0
}

fn cookie(response: &str, name: &str) -> String {
    response
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {response}"))
        .to_string()
}

both_databases! {
    async fn half_sent_and_idle_connections_are_closed(t) {
        let (addr, stop, server) = start(t, 16).await;

        // Half a request line, then silence: closed after the header-read timeout.
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HT").await.unwrap();
        let (_, waited) = read_until_closed(&mut slow).await;
        assert!(waited >= TIMEOUT - Duration::from_millis(50) && waited < TIMEOUT * 4, "closed after {waited:?}");

        // A whole request is answered; the kept-alive connection is closed once idle as long.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
        let (answer, waited) = read_until_closed(&mut idle).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(waited >= TIMEOUT - Duration::from_millis(50) && waited < TIMEOUT * 4, "closed after {waited:?}");

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server).await.expect("shutdown finishes").unwrap();
        assert!(TcpStream::connect(addr).await.is_err(), "nothing listens after shutdown");
    }

    async fn connections_over_the_cap_wait_for_a_free_slot(t) {
        let (addr, stop, server) = start(t, 1).await;
        // The one slot is taken by a client that sends nothing...
        let _silent = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...so the next client is answered only once the silent one is cut off.
        let started = Instant::now();
        let answer = request(addr, "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(started.elapsed() >= TIMEOUT - Duration::from_millis(100), "answered after {:?}", started.elapsed());
        stop.send(()).unwrap();
        server.await.unwrap();
    }

    async fn handlers_see_the_client_address(t) {
        let user = t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let (addr, stop, server) = start(t, 16).await;
        let form = request(addr, "GET /login HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await;
        let csrf = cookie(&form, "credence_login");
        let body = format!("email=chief%40test.example&password=wrong&csrf={csrf}");
        let refused = request(addr, &format!(
            "POST /login HTTP/1.1\r\nHost: test\r\nConnection: close\r\nCookie: credence_login={csrf}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len())).await;
        assert!(refused.contains("do not match"), "{refused}");
        let subject = user.to_string();
        let events = t.get(&format!("/api/v1/audit-events?subject_id={subject}")).await.expect(200);
        assert_eq!(events["items"][0]["action"], "sign_in_failed");
        assert_eq!(events["items"][0]["after"]["address"], "127.0.0.1");
        stop.send(()).unwrap();
        server.await.unwrap();
    }
}
