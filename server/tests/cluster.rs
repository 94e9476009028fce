//! Several instances on one PostgreSQL database behave as one service: real server processes
//! (the binary), each on its own port, sharing a fresh database, with nothing else between them.
//! PostgreSQL only: it is the engine that several instances share.

mod support;

use std::process::Child;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mosaic_test_support::{fresh_database, postgres_available, Engine, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{free_port, scratch_dir, server_process, sign_up_at, wait_healthy};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The instances' metrics token.
const METRICS_TOKEN: &str = "cluster-test-metrics-token";

/// A lease short enough for a test to see a dead instance's replies settled.
const LEASE_SECS: &str = "2";

/// Server processes on one fresh PostgreSQL database; killed when dropped.
struct Cluster {
    database: TestDatabase,
    dir: std::path::PathBuf,
    processes: Vec<Option<Child>>,
    bases: Vec<String>,
}

/// What carries the signals between the instances.
#[derive(Clone, Debug)]
pub enum Via {
    /// PostgreSQL `LISTEN/NOTIFY`, the default.
    Notify,
    /// Redis or Valkey pub/sub at this URL (`MOSAIC_BUS_URL`).
    Redis(String),
}

/// The Redis the Redis variants use (MOSAIC_TEST_REDIS_URL), if any; under CI it must be set.
fn redis_url() -> Option<String> {
    let url = std::env::var("MOSAIC_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    let under_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(
        url.is_some() || !under_ci,
        "CI is set but MOSAIC_TEST_REDIS_URL is not: the Redis bus tests cannot be skipped"
    );
    if url.is_none() {
        eprintln!("MOSAIC_TEST_REDIS_URL is not set: Redis variant not run");
    }
    url
}

impl Cluster {
    async fn start(via: &Via, n: usize, extra: &[(&str, &str)]) -> Cluster {
        let database = fresh_database(Engine::Postgres).await;
        let dir = scratch_dir("cluster");
        let mut env = vec![("MOSAIC_LEASE_SECS", LEASE_SECS), ("MOSAIC_METRICS_TOKEN", METRICS_TOKEN)];
        if let Via::Redis(url) = via {
            env.push(("MOSAIC_BUS_URL", url.as_str()));
        }
        env.extend_from_slice(extra);
        let (mut processes, mut bases) = (Vec::new(), Vec::new());
        for i in 0..n {
            // Each instance its own data directory, as on separate machines.
            let own = dir.join(format!("instance-{i}"));
            std::fs::create_dir_all(&own).expect("instance dir");
            let port = free_port();
            processes.push(Some(server_process(&database.url, &own, port, &env)));
            bases.push(format!("http://127.0.0.1:{port}"));
            // One at a time: the first applies the migrations.
            wait_healthy(&bases[i]).await;
        }
        Cluster { database, dir, processes, bases }
    }

    fn base(&self, i: usize) -> &str {
        &self.bases[i]
    }

    /// Kills instance `i` without a word (SIGKILL).
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.processes[i].take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.processes.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn connect(base: &str, cookie: &str) -> Socket {
    let mut req = format!("{}/ws", base.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    tokio_tungstenite::connect_async(req).await.expect("websocket").0
}

async fn send(ws: &mut Socket, event: Value) {
    ws.send(Message::text(event.to_string())).await.expect("send");
}

/// The next event, within `within`.
async fn recv_within(ws: &mut Socket, within: Duration) -> Value {
    loop {
        let frame = tokio::time::timeout(within, ws.next()).await.expect("an event in time");
        match frame.expect("open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json event"),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

async fn recv(ws: &mut Socket) -> Value {
    recv_within(ws, Duration::from_secs(10)).await
}

/// Reads events until the reply ends; returns the text of its deltas and the `finished` event.
async fn rest_of_reply(ws: &mut Socket, within: Duration) -> (String, Value) {
    let mut text = String::new();
    loop {
        let e = recv_within(ws, within).await;
        match e["type"].as_str() {
            Some("delta") => text.push_str(e["text"].as_str().expect("text")),
            Some("finished") => return (text, e),
            Some("error") => panic!("error event: {e}"),
            _ => {}
        }
    }
}

/// A message long enough that `standin-slow` takes several seconds to answer it (it quotes it).
fn long_message(words: usize) -> String {
    (0..words).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")
}

/// A slow reply of `words` words started on A, and a socket on B following it: the writer's socket,
/// the follower's, the conversation, and B's snapshot (its `started` event).
async fn followed_reply(cluster: &Cluster, cookie: &str, words: usize) -> (Socket, Socket, Uuid, Value) {
    let mut on_a = connect(cluster.base(0), cookie).await;
    send(&mut on_a, json!({"type": "send", "content": long_message(words), "model": "demo/standin-slow"})).await;
    let started = recv(&mut on_a).await;
    assert_eq!(started["type"], "started", "{started}");
    let conversation: Uuid = started["conversationId"].as_str().expect("id").parse().expect("uuid");
    let mut on_b = connect(cluster.base(1), cookie).await;
    send(&mut on_b, json!({"type": "subscribe", "conversationId": conversation})).await;
    let snapshot = recv(&mut on_b).await;
    assert_eq!(snapshot["type"], "started", "{snapshot}");
    (on_a, on_b, conversation, snapshot)
}

/// The reply as saved: its text and state.
async fn saved_reply(cluster: &Cluster, email: &str, conversation: Uuid) -> mosaic_db::model::Message {
    let store = cluster.database.open().await;
    let (user, _) = store.find_credentials(email).await.expect("lookup").expect("user");
    let query = mosaic_db::model::MessageQuery { limit: 10, ..Default::default() };
    let reply = store.list_messages(user.id, conversation, &query).await.expect("list").items.pop().expect("reply");
    store.close().await;
    reply
}

/// Each scenario over `LISTEN/NOTIFY` and over Redis.
macro_rules! postgres_only {
    ($($name:ident),* $(,)?) => {
        mod notify {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if super::postgres_available() {
                        super::scenarios::$name(super::Via::Notify).await;
                    }
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let (true, Some(url)) = (super::postgres_available(), super::redis_url()) {
                        super::scenarios::$name(super::Via::Redis(url)).await;
                    }
                }
            )*
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_moves_to_postgres_with_the_migrate_command() {
    if postgres_available() {
        scenarios::a_sqlite_database_moves_to_postgres_with_the_migrate_command().await;
    }
}

postgres_only!(
    a_session_made_on_one_instance_works_on_all,
    a_reply_on_one_instance_is_followed_live_and_stopped_from_another,
    a_reply_started_with_post_api_chat_is_followed_from_another_instance,
    sends_racing_on_two_instances_start_one_reply,
    the_live_reply_cap_holds_across_instances,
    a_reply_whose_instance_dies_is_settled_by_a_survivor,
    sign_out_and_ban_close_sockets_on_every_instance,
    the_sign_in_throttle_counts_attempts_on_every_instance,
    a_draining_instance_tells_followers_elsewhere,
    a_follower_cut_off_from_the_bus_rebuilds_without_loss,
);

mod scenarios {
    use super::*;

    pub async fn a_session_made_on_one_instance_works_on_all(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "ann@example.com").await;
        let c = reqwest::Client::new();
        for base in &cluster.bases {
            let res = c.get(format!("{base}/api/conversations")).header("cookie", &cookie).send().await.expect("list");
            assert_eq!(res.status(), StatusCode::OK, "{base}");
        }
    }

    pub async fn a_reply_on_one_instance_is_followed_live_and_stopped_from_another(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "follow@example.com").await;
        let mut on_a = connect(cluster.base(0), &cookie).await;
        send(&mut on_a, json!({"type": "send", "content": long_message(40), "model": "demo/standin-slow"})).await;
        let started = recv(&mut on_a).await;
        assert_eq!(started["type"], "started", "{started}");
        let conversation: Uuid = started["conversationId"].as_str().expect("id").parse().expect("uuid");
        // Past the first save (every second) and some pieces more, so the follower starts from a
        // saved text and must fill in the pieces sent since.
        let mut seen_on_a = String::new();
        let until = Instant::now() + Duration::from_millis(1700);
        while Instant::now() < until {
            seen_on_a.push_str(recv(&mut on_a).await["text"].as_str().unwrap_or(""));
        }
        let mut on_b = connect(cluster.base(1), &cookie).await;
        send(&mut on_b, json!({"type": "subscribe", "conversationId": conversation})).await;
        let snapshot = recv(&mut on_b).await;
        assert_eq!(snapshot["type"], "started", "{snapshot}");
        assert_eq!(snapshot["messageId"], started["messageId"]);
        let mut shown_on_b = snapshot["text"].as_str().expect("text").to_string();
        assert!(!shown_on_b.is_empty(), "the snapshot has the text so far");
        // Follow a while, then stop it from B.
        let until = Instant::now() + Duration::from_millis(1200);
        while Instant::now() < until {
            let e = recv(&mut on_b).await;
            assert_eq!(e["type"], "delta", "{e}");
            shown_on_b.push_str(e["text"].as_str().expect("text"));
        }
        send(&mut on_b, json!({"type": "abort", "conversationId": conversation})).await;
        let (rest_b, finished_b) = rest_of_reply(&mut on_b, Duration::from_secs(5)).await;
        shown_on_b.push_str(&rest_b);
        let (rest_a, finished_a) = rest_of_reply(&mut on_a, Duration::from_secs(5)).await;
        seen_on_a.push_str(&rest_a);
        assert_eq!(finished_a["status"], "stopped", "Stop sent to B stopped the reply on A: {finished_a}");
        assert_eq!(finished_b["status"], "stopped", "{finished_b}");
        assert_eq!(finished_b["model"], "standin-slow", "{finished_b}");
        let saved = saved_reply(&cluster, "follow@example.com", conversation).await;
        assert_eq!(saved.state, mosaic_db::model::ReplyState::Stopped { reason: None });
        assert_eq!(seen_on_a, saved.content, "the writer's tab saw exactly the saved text");
        assert_eq!(shown_on_b, saved.content, "the follower on B saw every piece once, none lost");
        assert!(saved.content.len() > 20, "{:?}", saved.content);
    }

    pub async fn a_reply_started_with_post_api_chat_is_followed_from_another_instance(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "sse@example.com").await;
        let c = reqwest::Client::new();
        let mut res = c
            .post(format!("{}/api/chat", cluster.base(0)))
            .header("cookie", &cookie)
            .json(&json!({"message": long_message(12), "model": "demo/standin-slow"}))
            .send()
            .await
            .expect("chat");
        assert_eq!(res.status(), StatusCode::OK);
        // The first SSE event names the conversation.
        let mut body = String::new();
        while !body.contains("\n\n") {
            body.push_str(std::str::from_utf8(&res.chunk().await.expect("chunk").expect("more")).expect("utf-8"));
        }
        let first: Value =
            serde_json::from_str(body.lines().find_map(|l| l.strip_prefix("data:")).expect("data").trim())
                .expect("json");
        let conversation = first["conversationId"].as_str().expect("id").to_string();
        let mut on_b = connect(cluster.base(1), &cookie).await;
        send(&mut on_b, json!({"type": "subscribe", "conversationId": conversation})).await;
        let snapshot = recv(&mut on_b).await;
        assert_eq!(snapshot["type"], "started", "{snapshot}");
        let (rest, finished) = rest_of_reply(&mut on_b, Duration::from_secs(10)).await;
        let shown_on_b = format!("{}{rest}", snapshot["text"].as_str().expect("text"));
        assert_eq!(finished["status"], "complete", "{finished}");
        while let Some(chunk) = res.chunk().await.expect("chunk") {
            body.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
        let streamed: String = body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .filter(|e| e["type"] == "delta")
            .filter_map(|e| e["text"].as_str().map(str::to_string))
            .collect();
        assert_eq!(shown_on_b, streamed, "B showed what A streamed, once");
        assert!(streamed.contains("w11"), "{streamed}");
    }

    pub async fn sends_racing_on_two_instances_start_one_reply(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "race@example.com").await;
        let c = reqwest::Client::new();
        let conv: Value = c
            .post(format!("{}/api/conversations", cluster.base(0)))
            .header("cookie", &cookie)
            .json(&json!({"title": "race"}))
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        let conversation = conv["id"].as_str().expect("id").to_string();
        for round in 0..5 {
            // Fresh sockets each round: one that won a round follows the conversation, and would
            // also be shown the next round's reply.
            let (mut on_a, mut on_b) =
                (connect(cluster.base(0), &cookie).await, connect(cluster.base(1), &cookie).await);
            let event = |who: &str| json!({"type": "send", "conversationId": conversation, "content": format!("{who} {round}")});
            tokio::join!(send(&mut on_a, event("a")), send(&mut on_b, event("b")));
            let (first_a, first_b) = tokio::join!(recv(&mut on_a), recv(&mut on_b));
            let kinds = [first_a["type"].as_str().unwrap_or(""), first_b["type"].as_str().unwrap_or("")];
            assert!(
                kinds.contains(&"started") && kinds.contains(&"error"),
                "one wins, one is busy: {first_a} {first_b}"
            );
            let (winner, loser) = if kinds[0] == "started" { (&mut on_a, &first_b) } else { (&mut on_b, &first_a) };
            assert!(loser["message"].as_str().expect("message").contains("already being written"), "{loser}");
            let (_, finished) = rest_of_reply(winner, Duration::from_secs(10)).await;
            assert_eq!(finished["status"], "complete");
        }
        let messages: Value = c
            .get(format!("{}/api/conversations/{conversation}/messages?limit=100", cluster.base(1)))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let items = messages["items"].as_array().expect("items");
        assert_eq!(items.len(), 10, "five messages and five replies, nothing orphaned: {messages}");
        assert!(items.iter().all(|m| m["status"] == "complete"), "{messages}");
    }

    pub async fn the_live_reply_cap_holds_across_instances(via: Via) {
        let cluster = Cluster::start(&via, 2, &[("MOSAIC_REPLIES_PER_USER", "2")]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "cap@example.com").await;
        let mut sockets = Vec::new();
        for i in [0, 1] {
            let mut ws = connect(cluster.base(i), &cookie).await;
            send(&mut ws, json!({"type": "send", "content": long_message(30), "model": "demo/standin-slow"})).await;
            assert_eq!(recv(&mut ws).await["type"], "started");
            sockets.push(ws);
        }
        for i in [0, 1] {
            let mut ws = connect(cluster.base(i), &cookie).await;
            send(&mut ws, json!({"type": "send", "content": "one more", "model": "demo/standin-slow"})).await;
            let refused = recv(&mut ws).await;
            assert_eq!(refused["type"], "error", "instance {i}: {refused}");
            assert!(refused["message"].as_str().expect("message").contains("2 replies being written"), "{refused}");
        }
    }

    pub async fn a_reply_whose_instance_dies_is_settled_by_a_survivor(via: Via) {
        let mut cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "crash@example.com").await;
        let (_on_a, mut on_b, conversation, _) = followed_reply(&cluster, &cookie, 40).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let killed = Instant::now();
        cluster.kill(0);
        // The lease is 2 s, renewed every ⅔ s: B settles it within about 2⅔ s of the last renewal.
        let (_, finished) = rest_of_reply(&mut on_b, Duration::from_secs(10)).await;
        let took = killed.elapsed();
        assert_eq!(finished["status"], "failed", "{finished}");
        assert_eq!(finished["reason"], "interrupted", "{finished}");
        assert_eq!(finished["model"], "standin-slow", "{finished}");
        assert!(took < Duration::from_secs(6), "settled {took:?} after the kill");
        let saved = saved_reply(&cluster, "crash@example.com", conversation).await;
        assert_eq!(saved.state, mosaic_db::model::ReplyState::Failed { reason: "interrupted".into() });
        assert!(saved.content.starts_with("You said"), "its text is kept: {:?}", saved.content);
    }

    pub async fn sign_out_and_ban_close_sockets_on_every_instance(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        let admin = sign_up_at(cluster.base(0), "Root", "root@example.com").await;
        let member = sign_up_at(cluster.base(0), "Ann", "member@example.com").await;
        let c = reqwest::Client::new();
        // Sign-out on A closes the session's socket on B.
        let mut on_b = connect(cluster.base(1), &admin).await;
        let res =
            c.post(format!("{}/_fn/sign_out", cluster.base(0))).header("cookie", &admin).send().await.expect("out");
        assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
        assert_signed_out(&mut on_b).await;
        // A ban on B closes the member's socket on A.
        let admin = sign_up_free_admin(&cluster).await;
        let mut on_a = connect(cluster.base(0), &member).await;
        let store = cluster.database.open().await;
        let (user, _) = store.find_credentials("member@example.com").await.expect("lookup").expect("user");
        store.close().await;
        let res = c
            .post(format!("{}/api/admin/users/{}/ban", cluster.base(1), user.id))
            .header("cookie", &admin)
            .json(&json!({"reason": "spam"}))
            .send()
            .await
            .expect("ban");
        assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
        assert_signed_out(&mut on_a).await;
    }

    /// Signs the first account (the admin) in again, on B.
    async fn sign_up_free_admin(cluster: &Cluster) -> String {
        use reqwest::cookie::CookieStore;
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let c = reqwest::Client::builder().cookie_provider(jar.clone()).build().expect("client");
        let form = [("email", "root@example.com"), ("password", "correct horse battery")];
        let res = c.post(format!("{}/_fn/sign_in", cluster.base(1))).form(&form).send().await.expect("sign in");
        assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
        let url: reqwest::Url = cluster.base(1).parse().expect("url");
        jar.cookies(&url).expect("cookie").to_str().expect("ascii").to_string()
    }

    /// The socket is told its session ended and closes, within a second or two.
    async fn assert_signed_out(ws: &mut Socket) {
        let told = recv_within(ws, Duration::from_secs(3)).await;
        assert_eq!(told["type"], "error", "{told}");
        assert!(told["message"].as_str().expect("message").contains("session has ended"), "{told}");
        let close = tokio::time::timeout(Duration::from_secs(3), ws.next()).await.expect("closed in time");
        match close {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), mosaic_chat::events::CLOSE_SIGNED_OUT)
            }
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    pub async fn the_sign_in_throttle_counts_attempts_on_every_instance(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        sign_up_at(cluster.base(0), "Ann", "guess@example.com").await;
        let attempt = |i: usize, password: &'static str| {
            let url = format!("{}/_fn/sign_in", cluster.base(i));
            async move {
                reqwest::Client::new()
                    .post(url)
                    .form(&[("email", "guess@example.com"), ("password", password)])
                    .send()
                    .await
                    .expect("sign in")
                    .status()
            }
        };
        for i in 0..5 {
            assert_eq!(attempt(i % 2, "wrong guess").await, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        // Five failures spread over two instances: the sixth is refused on either.
        assert_eq!(attempt(1, "correct horse battery").await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(attempt(0, "correct horse battery").await, StatusCode::TOO_MANY_REQUESTS);
    }

    pub async fn a_draining_instance_tells_followers_elsewhere(via: Via) {
        let mut cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "drain@example.com").await;
        let (_on_a, mut on_b, conversation, _) = followed_reply(&cluster, &cookie, 40).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let child = cluster.processes[0].as_mut().expect("running");
        support::terminate(child);
        let status = support::wait_exit(child, Duration::from_secs(12)).await.expect("exited in time");
        assert!(status.success(), "{status:?}");
        cluster.processes[0] = None;
        let (_, finished) = rest_of_reply(&mut on_b, Duration::from_secs(5)).await;
        assert_eq!(finished["status"], "stopped", "{finished}");
        assert_eq!(finished["reason"], "Server shutting down", "{finished}");
        // B still serves, and takes the next message of that conversation.
        send(&mut on_b, json!({"type": "send", "conversationId": conversation, "content": "again"})).await;
        assert_eq!(recv(&mut on_b).await["type"], "started");
    }

    pub async fn a_sqlite_database_moves_to_postgres_with_the_migrate_command() {
        let dir = scratch_dir("migrate");
        let sqlite = format!("sqlite:{}", dir.join("mosaic.db").display());
        let command = |args: &[&str], database_url: &str| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
                .args(args)
                .current_dir(&dir)
                .env("DATABASE_URL", database_url)
                .env("MOSAIC_DATA_DIR", &dir)
                .env("RUST_LOG", "warn")
                .output()
                .expect("run");
            let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
            (out.status.success(), text(&out.stdout), text(&out.stderr))
        };
        let seeded =
            command(&["seed", "--users", "3", "--conversations", "40", "--messages", "6", "--logs", "200"], &sqlite);
        assert!(seeded.0, "{seeded:?}");
        let target = fresh_database(Engine::Postgres).await;
        let (ok, out, err) = command(&["migrate", "--to", &target.url], &sqlite);
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("copied and verified"), "{out}");
        assert!(err.contains("messages: 0 of") && err.contains("messages: verifying"), "progress is shown: {err}");
        // The copy serves: the seeded user signs in on a server over PostgreSQL and finds the data.
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let instance = dir.join("instance");
        std::fs::create_dir_all(&instance).expect("dir");
        let mut server = server_process(&target.url, &instance, port, &[]);
        wait_healthy(&base).await;
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let c = reqwest::Client::builder().cookie_provider(jar).build().expect("client");
        let form = [("email", "bench@example.com"), ("password", "benchmark-password")];
        let res = c.post(format!("{base}/_fn/sign_in")).form(&form).send().await.expect("sign in");
        assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
        let list: Value =
            c.get(format!("{base}/api/conversations")).send().await.expect("list").json().await.expect("json");
        assert!(!list["items"].as_array().expect("items").is_empty(), "{list}");
        server.kill().expect("stop");
        server.wait().expect("reaped");
        // Into a database that has data: refused, with the reason.
        let (ok, _, err) = command(&["migrate", "--to", &target.url], &sqlite);
        assert!(!ok && err.contains("not empty"), "{err}");
        let (ok, _, err) = command(&["migrate", "--to", &sqlite], &sqlite);
        assert!(!ok && err.contains("PostgreSQL URL"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The bus's connections are cut mid-reply (PostgreSQL terminates the listening backends; Redis
    /// kills its subscribers): the listeners reconnect, and the follower on B rebuilds from the
    /// saved text, showing every character once.
    pub async fn a_follower_cut_off_from_the_bus_rebuilds_without_loss(via: Via) {
        let cluster = Cluster::start(&via, 2, &[]).await;
        let cookie = sign_up_at(cluster.base(0), "Ann", "cut@example.com").await;
        let (_on_a, mut on_b, conversation, snapshot) = followed_reply(&cluster, &cookie, 30).await;
        let mut shown_on_b = snapshot["text"].as_str().expect("text").to_string();
        for _ in 0..5 {
            shown_on_b.push_str(recv(&mut on_b).await["text"].as_str().expect("a piece"));
        }
        let cut = match &via {
            Via::Notify => {
                let store = cluster.database.open().await;
                let mosaic_db::Store::Postgres(pg) = &store else { panic!("PostgreSQL") };
                let cut: Vec<bool> = sqlx::query_scalar(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
                )
                .fetch_all(pg.pool())
                .await
                .expect("terminate");
                store.close().await;
                cut.len()
            }
            Via::Redis(url) => {
                let out = std::process::Command::new("redis-cli")
                    .args(["-u", url, "CLIENT", "KILL", "TYPE", "pubsub"])
                    .output()
                    .expect("redis-cli");
                String::from_utf8_lossy(&out.stdout).trim().parse().expect("a count")
            }
        };
        assert!(cut >= 2, "both instances' listeners were cut ({cut})");
        // The follow goes on live (not only at the end): pieces keep coming, in order.
        let mut live_pieces = 0;
        let finished = loop {
            let e = recv_within(&mut on_b, Duration::from_secs(15)).await;
            match e["type"].as_str() {
                Some("delta") => {
                    live_pieces += 1;
                    shown_on_b.push_str(e["text"].as_str().expect("text"));
                }
                Some("finished") => break e,
                _ => panic!("{e}"),
            }
        };
        assert!(live_pieces >= 3, "only {live_pieces} pieces after the cut");
        // B noticed it was cut off (and so rebuilt from the saved text).
        let metrics = reqwest::Client::new()
            .get(format!("{}/metrics", cluster.base(1)))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let reconnects = metrics
            .lines()
            .find_map(|l| l.strip_prefix("mosaic_bus_reconnects_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        assert!(reconnects >= 1.0, "B's listener reconnected: {reconnects}");
        assert_eq!(finished["status"], "complete", "{finished}");
        let saved = saved_reply(&cluster, "cut@example.com", conversation).await;
        assert_eq!(shown_on_b, saved.content, "nothing shown twice or lost");
    }
}
