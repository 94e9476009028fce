//! Accepting connections. `axum::serve` starts hyper without a timer, so nothing bounds how long a
//! client may take to send its request headers: a slow client (a byte a minute) holds a connection
//! forever, and a few thousand of them hold the server. This loop serves HTTP/1.1 with hyper's
//! header-read timeout (which also closes a keep-alive connection left idle that long), WebSocket
//! upgrades, the peer address for `ConnectInfo`, and a graceful stop. Request bodies have their own
//! timeout in the middleware stack.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Service;

/// Serves `app` on `listener` until `stop` completes, then stops accepting, lets the requests in
/// flight finish, and returns once every connection closed (upgraded WebSockets are theirs to end).
/// `client_timeout` bounds reading a request's headers and a connection's idle time.
pub async fn serve(listener: TcpListener, app: Router, client_timeout: Duration, stop: impl Future<Output = ()>) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(client_timeout);
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let (stopping, stop_rx) = watch::channel(false);
    // Every connection holds a receiver; when all are dropped, every connection has closed.
    let (all_closed, open) = watch::channel(());
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // Out of file descriptors and the like: pause rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = match make.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let connection = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service)).with_upgrades();
        let (stop_rx, open) = (stop_rx.clone(), open.clone());
        tokio::spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopped(stop_rx) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    stopping.send_replace(true);
    drop(open);
    all_closed.closed().await;
}

/// Completes when the stop is signalled (a function of its own: the watch's guard must not live in
/// the connection's `select!`).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
