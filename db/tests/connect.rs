//! Opening the database: an unreachable or silent server fails within the connect timeout with a
//! clear error instead of hanging, and a bad URL is refused.

use std::time::{Duration, Instant};

use mosaic_db::{DbError, PoolSettings, Store};

fn settings(url: String) -> PoolSettings {
    PoolSettings { connect_timeout: Duration::from_secs(1), ..PoolSettings::new(url) }
}

#[tokio::test]
async fn a_silent_server_fails_within_the_connect_timeout() {
    // A listener that accepts connections and never says a word, like a hung server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let result = Store::connect(&settings(format!("postgres://postgres@{addr}/mosaic"))).await;
    let took = started.elapsed();
    assert!(matches!(result, Err(DbError::Unavailable(_))), "{result:?}");
    assert!(took < Duration::from_secs(3), "gave up after {took:?}, not within the 1 s timeout");
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("PostgreSQL"), "{message}");
}

#[tokio::test]
async fn a_refused_connection_is_reported() {
    // Port 1 on loopback: nothing listens there.
    let result = Store::connect(&settings("postgres://postgres@127.0.0.1:1/mosaic".into())).await;
    assert!(matches!(result, Err(DbError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused() {
    let result = Store::connect(&settings("mysql://localhost/db".into())).await;
    assert!(matches!(result, Err(DbError::Invalid(_))), "{result:?}");
}
