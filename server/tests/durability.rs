//! Nothing a user was told was saved is lost: clients post messages through the JSON API while the
//! server is killed with SIGKILL (no shutdown, no flush), then a new process on the same database
//! must hold every acknowledged message exactly once. Several rounds, on SQLite (WAL,
//! `synchronous = NORMAL`: durable across process crashes) and on PostgreSQL.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mosaic_test_support::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{free_port, wait_healthy};

mosaic_test_support::both_engines!(acknowledged_messages_survive_kill_9);

/// Clients posting at once, rounds of kill and restart, and how long each round posts.
const CLIENTS: usize = 4;
const ROUNDS: usize = 3;
const POSTING: Duration = Duration::from_millis(1200);

async fn acknowledged_messages_survive_kill_9(engine: Engine) {
    let database = mosaic_test_support::fresh_database(engine).await;
    let dir = support::scratch_dir("durability");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let run = || support::server_process(&database.url, &dir, port, &[]);
    let mut server = run();
    wait_healthy(&base).await;
    let cookie = support::sign_up_at(&base, "Durable", "durable@example.com").await;
    let api = reqwest::Client::builder()
        .default_headers([(reqwest::header::COOKIE, cookie.parse().expect("cookie"))].into_iter().collect())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let res = api.post(format!("{base}/api/conversations")).json(&json!({"title": "durable"})).send().await;
    let conversation: Value = res.expect("create").json().await.expect("json");
    let id = conversation["id"].as_str().expect("id").to_string();
    // content → times acknowledged (201 received).
    let acknowledged: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    for round in 0..ROUNDS {
        let deadline = Instant::now() + POSTING;
        let posters: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (api, url, acknowledged) =
                    (api.clone(), format!("{base}/api/conversations/{id}/messages"), acknowledged.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    // Keep posting until the server is gone (after the deadline it is killed).
                    loop {
                        let content = format!("round {round} client {client} message {n}");
                        n += 1;
                        match api.post(&url).json(&json!({ "content": content })).send().await {
                            Ok(res) if res.status() == StatusCode::CREATED => {
                                *acknowledged.lock().expect("lock").entry(content).or_default() += 1;
                            }
                            Ok(res) => panic!("unexpected {}", res.status()),
                            Err(_) if Instant::now() >= deadline => return,
                            Err(e) => panic!("the server failed before it was killed: {e}"),
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep_until(deadline.into()).await;
        server.kill().expect("SIGKILL");
        server.wait().expect("reaped");
        for poster in posters {
            poster.await.expect("poster");
        }
        server = run();
        wait_healthy(&base).await;
    }
    // Every message the new process holds: the newest page, then earlier ones.
    let mut saved: HashMap<String, usize> = HashMap::new();
    let mut before: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/conversations/{id}/messages?limit=200");
        if let Some(cursor) = &before {
            url.push_str(&format!("&before={cursor}"));
        }
        let page: Value = api.get(&url).send().await.expect("list").json().await.expect("json");
        for m in page["items"].as_array().expect("items") {
            *saved.entry(m["content"].as_str().expect("content").to_string()).or_default() += 1;
        }
        match page["earlier"].as_str() {
            Some(next) if !next.is_empty() => before = Some(next.to_string()),
            _ => break,
        }
    }
    server.kill().expect("stop");
    server.wait().expect("reaped");
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() > CLIENTS * ROUNDS, "the clients got answers: {}", acknowledged.len());
    for (content, times) in &acknowledged {
        assert_eq!(*times, 1, "{content} acknowledged once");
        assert_eq!(saved.get(content), Some(&1), "{content} was acknowledged, so it is saved exactly once");
    }
    assert!(saved.values().all(|n| *n == 1), "no message saved twice");
    let _ = std::fs::remove_dir_all(dir);
}
