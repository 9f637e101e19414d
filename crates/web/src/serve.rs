//! The server loop. `axum::serve` sets no header-read timeout and no connection limit, so a
//! client that sends half a request (or opens thousands of connections and sends nothing)
//! holds a connection and a task forever. Here each connection is hyper's HTTP/1 with a
//! timer: a request head must arrive within `header_read_timeout` of the connection waiting
//! for one, which bounds both slow headers and idle keep-alive connections; and at most
//! `max_connections` are served at once (more wait in the listener's backlog).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::HttpOptions;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets each
/// connection finish the request it is on, and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: &HttpOptions,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let (closing, closing_rx) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // A slot first, then accept: over the limit, connections wait in the backlog
        // instead of each costing a task.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, usually: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Handlers see the peer as `ConnectInfo` (sign-in throttling counts per address).
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = closing.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every slot back means every connection has closed.
    let all = u32::try_from(options.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}
