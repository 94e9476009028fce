//! Chat end to end: a real Mosaic server, a real WebSocket, and the stand-in provider speaking the
//! OpenAI-compatible streaming protocol (slow, stalling, failing, malformed, refusing the key).

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{start, TestServer};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A server whose provider "standin" is the stand-in model server (optionally with a key it demands
/// and a different key configured).
async fn server_with_standin(model: &str, demanded_key: Option<&str>, configured_key: Option<&str>) -> TestServer {
    let url = server::chat::standin::spawn(demanded_key.map(str::to_string)).await.expect("stand-in");
    let mut vars = vec![
        ("MOSAIC_PROVIDERS", "standin".to_string()),
        ("MOSAIC_PROVIDER_STANDIN_URL", url),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", model.to_string()),
        ("MOSAIC_PROVIDER_STALL_TIMEOUT", "1".to_string()),
    ];
    if let Some(k) = configured_key {
        vars.push(("MOSAIC_PROVIDER_STANDIN_KEY", k.to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start("sqlite", &vars).await.expect("server")
}

async fn connect(s: &TestServer, cookie: &str) -> Socket {
    let mut req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    tokio_tungstenite::connect_async(req).await.expect("websocket").0
}

async fn send(ws: &mut Socket, event: Value) {
    ws.send(Message::text(event.to_string())).await.expect("send");
}

async fn recv(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("an event in time");
        match frame.expect("open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json event"),
            Message::Close(_) => panic!("closed"),
            _ => {}
        }
    }
}

/// Reads events until the reply ends; returns them all.
async fn until_end(ws: &mut Socket) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let e = recv(ws).await;
        let end = e["type"] == "finished" || (e["type"] == "error" && !e["conversationId"].is_null());
        events.push(e);
        if end {
            return events;
        }
    }
}

fn text_of(events: &[Value]) -> String {
    events.iter().filter(|e| e["type"] == "delta").filter_map(|e| e["text"].as_str()).collect()
}

async fn messages(s: &TestServer, c: &reqwest::Client, conversation: &str) -> Vec<Value> {
    let (st, page) =
        s.json(c, reqwest::Method::GET, &format!("/api/conversations/{conversation}/messages"), None).await;
    assert_eq!(st, StatusCode::OK);
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the conversation's last message is saved as complete or incomplete-with-text.
async fn settled(s: &TestServer, c: &reqwest::Client, conversation: &str, status: &str) -> Vec<Value> {
    for _ in 0..100 {
        let m = messages(s, c, conversation).await;
        if m.last().is_some_and(|last| last["role"] == "assistant" && last["status"] == status)
            && s.state.chat.live_count() == 0
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reply never settled as {status}: {:?}", messages(s, c, conversation).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_streams_and_is_saved_with_its_metadata() {
    let s = server_with_standin("standin-echo", None, None).await;
    let (c, cookie) = s.user_with_cookie("stream@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "Tell me about tides"})).await;
    let events = until_end(&mut ws).await;
    assert_eq!(events[0]["type"], "started");
    assert_eq!(events[0]["title"], "Tell me about tides", "a new conversation is titled from the message");
    let deltas = events.iter().filter(|e| e["type"] == "delta").count();
    assert!(deltas > 5, "token by token, got {deltas} deltas");
    let last = events.last().expect("finished");
    assert_eq!((last["type"].as_str(), last["complete"].as_bool()), (Some("finished"), Some(true)));
    assert!(last["usage"]["output"].as_u64().unwrap_or(0) > 0);
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    let saved = messages(&s, &c, &conversation).await;
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0]["content"], "Tell me about tides");
    assert_eq!(saved[1]["content"].as_str(), Some(text_of(&events).as_str()));
    assert_eq!(saved[1]["status"], "complete");
    assert_eq!(saved[1]["metadata"]["model"], "standin-echo");
    assert_eq!(saved[1]["metadata"]["provider"], "standin");
    assert!(saved[1]["metadata"]["tokenUsage"]["output"].as_u64().unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_loses_nothing() {
    let s = server_with_standin("standin-slow", None, None).await;
    let (c, cookie) = s.user_with_cookie("drop@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "long answer please"})).await;
    let started = recv(&mut ws).await;
    let conversation = started["conversationId"].as_str().expect("id").to_string();
    recv(&mut ws).await; // one delta
    drop(ws); // the tab closes mid-reply
    let saved = settled(&s, &c, &conversation, "complete").await;
    let reply = saved[1]["content"].as_str().expect("reply");
    assert!(reply.starts_with("You said: \"long answer please\"") && reply.ends_with("arrive."), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_keeps_the_partial_reply_marked_incomplete() {
    let s = server_with_standin("standin-slow", None, None).await;
    let (c, cookie) = s.user_with_cookie("abort@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "stop me"})).await;
    let started = recv(&mut ws).await;
    let conversation = started["conversationId"].as_str().expect("id").to_string();
    let mut seen = String::new();
    for _ in 0..3 {
        let d = recv(&mut ws).await;
        seen.push_str(d["text"].as_str().unwrap_or(""));
    }
    send(&mut ws, json!({"type": "abort", "conversationId": conversation})).await;
    let rest = until_end(&mut ws).await;
    let last = rest.last().expect("finished");
    assert_eq!((last["type"].as_str(), last["complete"].as_bool()), (Some("finished"), Some(false)));
    seen.push_str(&text_of(&rest));
    let saved = settled(&s, &c, &conversation, "incomplete").await;
    assert_eq!(saved[1]["content"].as_str(), Some(seen.as_str()), "exactly what was streamed");
    assert!(!seen.ends_with("arrive."), "stopped before the end");
    assert_eq!(saved[1]["metadata"]["error"], "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_and_a_late_joiner_see_the_same_reply() {
    let s = server_with_standin("standin-slow", None, None).await;
    let (c, cookie) = s.user_with_cookie("tabs@example.com").await;
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "shared"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    let mut a = connect(&s, &cookie).await;
    let mut b = connect(&s, &cookie).await;
    send(&mut b, json!({"type": "subscribe", "conversationId": id})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    send(&mut a, json!({"type": "send", "conversationId": id, "content": "for both tabs"})).await;
    let first_b = recv(&mut b).await;
    assert_eq!(first_b["type"], "started");
    // A third tab opens the conversation mid-reply and joins where it is.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut late = connect(&s, &cookie).await;
    send(&mut late, json!({"type": "subscribe", "conversationId": id})).await;
    let snapshot = recv(&mut late).await;
    assert_eq!(snapshot["type"], "started");
    let (ea, eb, el) = (until_end(&mut a).await, until_end(&mut b).await, until_end(&mut late).await);
    let full = text_of(&ea);
    assert_eq!(format!("{}{}", first_b["text"].as_str().unwrap_or(""), text_of(&eb)), full);
    let joined = format!("{}{}", snapshot["text"].as_str().unwrap_or(""), text_of(&el));
    assert_eq!(joined, full, "snapshot plus the rest is the whole reply");
    assert!(!snapshot["text"].as_str().unwrap_or("").is_empty(), "joined mid-way");
}

async fn failing_provider(model: &str, demanded: Option<&str>, configured: Option<&str>, expect: &str) {
    let s = server_with_standin(model, demanded, configured).await;
    let (c, cookie) = s.user_with_cookie("fail@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "will this work?"})).await;
    let events = until_end(&mut ws).await;
    let last = events.last().expect("error");
    assert_eq!(last["type"], "error", "{events:?}");
    let message = last["message"].as_str().expect("message");
    assert!(message.contains(expect), "{message:?} should say {expect:?}");
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    let saved = settled(&s, &c, &conversation, "incomplete").await;
    assert_eq!(saved[0]["content"], "will this work?", "the user's message is kept");
    assert_eq!(saved[1]["metadata"]["error"].as_str(), Some(message), "the error is in the conversation");
    assert_eq!(saved[1]["content"].as_str(), Some(text_of(&events).as_str()), "partial text is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_provider_times_out() {
    failing_provider("standin-stall", None, None, "stopped responding").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failing_mid_stream_is_reported() {
    failing_provider("standin-fail", None, None, "cut off").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chunks_are_reported() {
    failing_provider("standin-garbage", None, None, "could not read").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_reported() {
    failing_provider("standin-echo", Some("right-key"), Some("wrong-key"), "refused the API key").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_is_reported() {
    let vars = [
        ("MOSAIC_PROVIDERS", "gone"),
        ("MOSAIC_PROVIDER_GONE_URL", "http://127.0.0.1:1/v1"),
        ("MOSAIC_PROVIDER_GONE_MODEL", "any"),
    ];
    let s = start("sqlite", &vars).await.expect("server");
    let (c, cookie) = s.user_with_cookie("down@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "hello?"})).await;
    let events = until_end(&mut ws).await;
    assert!(events.last().expect("error")["message"].as_str().unwrap_or("").contains("could not be reached"));
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    assert_eq!(settled(&s, &c, &conversation, "incomplete").await[0]["content"], "hello?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_provider_the_message_is_kept_and_the_user_told() {
    let s = start("sqlite", &[]).await.expect("server");
    let (c, cookie) = s.user_with_cookie("none@example.com").await;
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "conversationId": id, "content": "anyone there?"})).await;
    let e = recv(&mut ws).await;
    assert_eq!(e["type"], "error");
    assert!(e["message"].as_str().unwrap_or("").contains("No model is configured"));
    let saved = messages(&s, &c, &id).await;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["content"], "anyone there?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_cannot_subscribe_post_or_abort() {
    let s = server_with_standin("standin-slow", None, None).await;
    let (alice, alice_cookie) = s.user_with_cookie("alice@example.com").await;
    let (_, mallory_cookie) = s.user_with_cookie("mallory@example.com").await;
    let mut a = connect(&s, &alice_cookie).await;
    send(&mut a, json!({"type": "send", "content": "private"})).await;
    let started = recv(&mut a).await;
    let id = started["conversationId"].as_str().expect("id").to_string();
    let mut m = connect(&s, &mallory_cookie).await;
    for event in [
        json!({"type": "subscribe", "conversationId": id}),
        json!({"type": "send", "conversationId": id, "content": "injected"}),
        json!({"type": "abort", "conversationId": id}),
    ] {
        send(&mut m, event.clone()).await;
        let e = recv(&mut m).await;
        assert_eq!(e["type"], "error", "{event}");
    }
    let events = until_end(&mut a).await;
    assert_eq!(events.last().expect("end")["complete"], true, "mallory's abort did nothing");
    let saved = settled(&s, &alice, &id, "complete").await;
    assert_eq!(saved.len(), 2, "nothing injected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_client_events_get_an_error_and_the_socket_stays_up() {
    let s = server_with_standin("standin-echo", None, None).await;
    let (_, cookie) = s.user_with_cookie("bad@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    ws.send(Message::text("{not json")).await.expect("send");
    assert!(recv(&mut ws).await["message"].as_str().unwrap_or("").contains("malformed"));
    send(&mut ws, json!({"type": "launch"})).await;
    assert_eq!(recv(&mut ws).await["type"], "error");
    ws.send(Message::text(format!("{{\"type\":\"send\",\"content\":\"{}\"}}", "x".repeat(100 * 1024))))
        .await
        .expect("send");
    assert!(recv(&mut ws).await["message"].as_str().unwrap_or("").contains("too large"));
    ws.send(Message::binary(vec![1, 2, 3])).await.expect("send");
    assert_eq!(recv(&mut ws).await["type"], "error");
    // Still serving.
    send(&mut ws, json!({"type": "send", "content": "still there?"})).await;
    assert_eq!(until_end(&mut ws).await.last().expect("end")["type"], "finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_refuses_other_origins_and_strangers() {
    let s = server_with_standin("standin-echo", None, None).await;
    let (_, cookie) = s.user_with_cookie("origin@example.com").await;
    let mut req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    req.headers_mut().insert("origin", "http://evil.example".parse().expect("origin"));
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "cross-origin handshake refused");
    let req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "no session, no socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_leave_no_tasks_behind() {
    let s = server_with_standin("standin-slow", None, None).await;
    let (_, cookie) = s.user_with_cookie("crowd@example.com").await;
    let mut starter = connect(&s, &cookie).await;
    send(&mut starter, json!({"type": "send", "content": "for the crowd"})).await;
    let id = recv(&mut starter).await["conversationId"].as_str().expect("id").to_string();
    drop(starter);
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let mut clients = Vec::new();
    for _ in 0..200 {
        let mut ws = connect(&s, &cookie).await;
        send(&mut ws, json!({"type": "subscribe", "conversationId": id})).await;
        clients.push(ws);
    }
    for ws in clients.iter_mut() {
        assert_eq!(recv(ws).await["type"], "started");
    }
    let busy = metrics.num_alive_tasks();
    assert!(busy >= baseline + 200, "each client runs tasks while connected ({baseline} -> {busy})");
    drop(clients);
    // A leak would be per client (200 or more); a few tasks of the reply still being written, or of
    // the pool returning a connection, may come and go meanwhile.
    const SLACK: usize = 8;
    let mut now = busy;
    for _ in 0..100 {
        now = metrics.num_alive_tasks();
        if now <= baseline + SLACK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(now <= baseline + SLACK, "tasks left behind: {baseline} before, {busy} connected, {now} after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_endpoint_streams_events_or_answers_whole() {
    let s = server_with_standin("standin-echo", None, None).await;
    let c = s.user("rest@example.com").await;
    let res = c
        .post(s.url("/api/chat"))
        .header("accept", "application/json")
        .json(&json!({"message": "whole please"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), StatusCode::OK);
    let whole: Value = res.json().await.expect("json");
    assert!(whole["content"].as_str().unwrap_or("").starts_with("You said: \"whole please\""));
    assert_eq!(whole["complete"], true);
    let id = whole["conversationId"].as_str().expect("id").to_string();
    let res = c
        .post(s.url("/api/chat"))
        .json(&json!({"message": "now stream", "conversationId": id}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let body = res.text().await.expect("stream");
    let events: Vec<Value> =
        body.lines().filter_map(|l| l.strip_prefix("data: ")).filter_map(|d| serde_json::from_str(d).ok()).collect();
    assert_eq!(events.first().map(|e| e["type"].clone()), Some(json!("started")));
    assert_eq!(events.last().map(|e| e["type"].clone()), Some(json!("finished")));
    let (st, body) = s
        .json(&c, reqwest::Method::POST, "/api/chat", Some(json!({"message": "", "conversationId": Uuid::now_v7()})))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_sent_is_bounded_newest_first() {
    let url = server::chat::standin::spawn(None).await.expect("stand-in");
    let vars = [
        ("MOSAIC_PROVIDERS", "standin"),
        ("MOSAIC_PROVIDER_STANDIN_URL", url.as_str()),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", "standin-echo"),
        ("MOSAIC_CHAT_HISTORY_CHARS", "300"),
    ];
    let s = start("sqlite", &vars).await.expect("server");
    let (_, cookie) = s.user_with_cookie("history@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    let mut conversation = None;
    let mut turns_sent = Vec::new();
    for i in 0..6 {
        let mut event = json!({"type": "send", "content": format!("message number {i} {}", "x".repeat(40))});
        if let Some(id) = &conversation {
            event["conversationId"] = json!(id);
        }
        send(&mut ws, event).await;
        let events = until_end(&mut ws).await;
        conversation = events[0]["conversationId"].as_str().map(str::to_string);
        // The stand-in reports 8 input tokens per message it was sent.
        turns_sent.push(events.last().expect("finished")["usage"]["input"].as_u64().unwrap_or(0) / 8);
    }
    assert_eq!(turns_sent[0], 1, "the first request carries the one message");
    assert!(turns_sent.iter().all(|&n| n >= 1), "the newest message is always sent: {turns_sent:?}");
    // Each exchange adds about 50 + 150 characters, so 300 characters hold at most a few turns.
    assert!(turns_sent[5] <= 3, "history is cut to the budget: {turns_sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_a_provider_are_bounded() {
    let url = server::chat::standin::spawn(None).await.expect("stand-in");
    let vars = [
        ("MOSAIC_PROVIDERS", "standin"),
        ("MOSAIC_PROVIDER_STANDIN_URL", url.as_str()),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", "standin-slow"),
        ("MOSAIC_PROVIDER_STANDIN_MAX_CONCURRENT", "1"),
    ];
    let s = start("sqlite", &vars).await.expect("server");
    let (_, cookie) = s.user_with_cookie("bounded@example.com").await;
    let mut first = connect(&s, &cookie).await;
    let mut second = connect(&s, &cookie).await;
    send(&mut first, json!({"type": "send", "content": "first"})).await;
    assert_eq!(recv(&mut first).await["type"], "started");
    recv(&mut first).await; // the first reply is streaming
    send(&mut second, json!({"type": "send", "content": "second"})).await;
    assert_eq!(recv(&mut second).await["type"], "started");
    // The second reply gets its first text only after the first reply has finished.
    let second_text = tokio::spawn(async move {
        let e = recv(&mut second).await;
        (std::time::Instant::now(), e)
    });
    let first_events = until_end(&mut first).await;
    let first_done = std::time::Instant::now();
    assert_eq!(first_events.last().expect("end")["type"], "finished");
    let (second_at, e) = second_text.await.expect("second");
    assert_eq!(e["type"], "delta");
    assert!(second_at >= first_done - Duration::from_millis(100), "the second waited for the first");
}

/// Compression must not hold a live reply back: server-sent events go out uncompressed, each as it
/// happens, even to a client that accepts brotli and gzip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_are_not_held_back_by_compression() {
    let s = server_with_standin("standin-slow", None, None).await;
    let c = s.user("sse@example.com").await;
    let mut res = c
        .post(s.url("/api/chat"))
        .header("accept-encoding", "br, gzip, zstd")
        .json(&json!({"message": "stream slowly"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert!(res.headers().get("content-encoding").is_none(), "events are not compressed");
    // The first word arrives while the reply is still being written (the slow model needs seconds
    // for the rest): a buffering compressor would deliver it only with the end.
    let mut seen = String::new();
    while !seen.contains("\"delta\"") {
        let chunk = res.chunk().await.expect("chunk").expect("the stream ended before a word arrived");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("\"finished\""), "the first word came only with the end: {seen}");
}
