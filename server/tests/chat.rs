//! Chat end to end: a real Mosaic server, a real WebSocket, and the stand-in provider speaking the
//! OpenAI-compatible streaming protocol (slow, stalling, failing, malformed, refusing the key).

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mosaic_test_support::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{free_port, start, wait_healthy, TestServer};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

mosaic_test_support::both_engines!(
    a_reply_streams_and_is_saved_with_its_metadata,
    a_dropped_socket_loses_nothing,
    abort_keeps_the_partial_reply_marked_incomplete,
    two_tabs_and_a_late_joiner_see_the_same_reply,
    a_stalled_provider_times_out,
    a_provider_failing_mid_stream_is_reported,
    malformed_chunks_are_reported,
    a_refused_key_is_reported,
    a_provider_that_is_down_is_reported,
    without_a_provider_the_message_is_kept_and_the_user_told,
    another_user_cannot_subscribe_post_or_abort,
    bad_client_events_get_an_error_and_the_socket_stays_up,
    the_socket_refuses_other_origins_and_strangers,
    two_hundred_clients_leave_no_tasks_behind,
    the_rest_endpoint_streams_events_or_answers_whole,
    the_history_sent_is_bounded_newest_first,
    requests_to_a_provider_are_bounded,
    server_sent_events_are_not_held_back_by_compression,
    sends_racing_into_one_conversation_start_one_reply_and_save_nothing_else,
    a_model_not_offered_is_refused_and_changes_nothing,
    a_remembered_model_whose_provider_is_gone_is_not_sent_elsewhere,
    no_default_model_and_no_pick_says_what_to_do,
    following_while_the_database_is_down_says_so,
    a_reply_cut_by_kill_9_is_settled_as_interrupted_at_the_next_start,
    sigterm_saves_a_streaming_reply_as_stopped,
    a_providers_error_text_stays_in_the_log,
    one_user_cannot_hold_every_reply,
    only_models_on_offer_are_sent_to_a_provider,
    a_reply_is_cut_at_the_length_limit_and_saved_complete,
    a_reply_is_stopped_at_the_time_limit,
);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A server whose provider "standin" is the stand-in model server (optionally with a key it demands
/// and a different key configured).
async fn server_with_standin(
    engine: Engine,
    model: &str,
    demanded_key: Option<&str>,
    configured_key: Option<&str>,
) -> TestServer {
    let url = mosaic_chat::standin::spawn(demanded_key.map(str::to_string)).await.expect("stand-in");
    let mut vars = vec![
        ("MOSAIC_PROVIDERS", "standin".to_string()),
        ("MOSAIC_PROVIDER_STANDIN_URL", url),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", model.to_string()),
        ("MOSAIC_PROVIDER_STALL_TIMEOUT", "1".to_string()),
        // The crowd test opens 200 sockets as one user; the cap has its own test.
        ("MOSAIC_SOCKETS_PER_USER", "1000".to_string()),
    ];
    if let Some(k) = configured_key {
        vars.push(("MOSAIC_PROVIDER_STANDIN_KEY", k.to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start(engine, &vars).await
}

async fn connect(s: &TestServer, cookie: &str) -> Socket {
    connect_to(&s.base, cookie).await
}

async fn connect_to(base: &str, cookie: &str) -> Socket {
    let mut req = format!("{}/ws", base.replace("http://", "ws://")).into_client_request().expect("request");
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
        let end = e["type"] == "finished";
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

/// Waits until the conversation's last message is a reply saved in `status` and no reply is live.
async fn settled(s: &TestServer, c: &reqwest::Client, conversation: &str, status: &str) -> Vec<Value> {
    for _ in 0..100 {
        let m = messages(s, c, conversation).await;
        if m.last().is_some_and(|last| last["role"] == "assistant" && last["status"] == status)
            && s.chat().live_count() == 0
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reply never settled as {status}: {:?}", messages(s, c, conversation).await);
}

async fn a_reply_streams_and_is_saved_with_its_metadata(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let (c, cookie) = s.user_with_cookie("stream@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "Tell me about tides"})).await;
    let events = until_end(&mut ws).await;
    assert_eq!(events[0]["type"], "started");
    assert_eq!(events[0]["title"], "Tell me about tides", "a new conversation is titled from the message");
    let deltas = events.iter().filter(|e| e["type"] == "delta").count();
    assert!(deltas > 5, "token by token, got {deltas} deltas");
    let last = events.last().expect("finished");
    assert_eq!((last["type"].as_str(), last["status"].as_str()), (Some("finished"), Some("complete")));
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

async fn a_dropped_socket_loses_nothing(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
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

async fn abort_keeps_the_partial_reply_marked_incomplete(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
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
    assert_eq!((last["type"].as_str(), last["status"].as_str()), (Some("finished"), Some("stopped")));
    assert!(last.get("reason").is_none(), "the user stopped it: no reason to give");
    seen.push_str(&text_of(&rest));
    let saved = settled(&s, &c, &conversation, "stopped").await;
    assert_eq!(saved[1]["content"].as_str(), Some(seen.as_str()), "exactly what was streamed");
    assert!(!seen.ends_with("arrive."), "stopped before the end");
    assert!(saved[1]["metadata"].get("error").is_none(), "the state is a type, not a metadata convention");
}

async fn two_tabs_and_a_late_joiner_see_the_same_reply(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
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

async fn failing_provider(engine: Engine, model: &str, demanded: Option<&str>, configured: Option<&str>, expect: &str) {
    let s = server_with_standin(engine, model, demanded, configured).await;
    let (c, cookie) = s.user_with_cookie("fail@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "will this work?"})).await;
    let events = until_end(&mut ws).await;
    let last = events.last().expect("finished");
    assert_eq!((last["type"].as_str(), last["status"].as_str()), (Some("finished"), Some("failed")), "{events:?}");
    let message = last["reason"].as_str().expect("a reason");
    assert!(message.contains(expect), "{message:?} should say {expect:?}");
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    let saved = settled(&s, &c, &conversation, "failed").await;
    assert_eq!(saved[0]["content"], "will this work?", "the user's message is kept");
    assert_eq!(saved[1]["reason"].as_str(), Some(message), "the failure is in the conversation");
    assert_eq!(saved[1]["content"].as_str(), Some(text_of(&events).as_str()), "partial text is kept");
}

async fn a_stalled_provider_times_out(engine: Engine) {
    failing_provider(engine, "standin-stall", None, None, "stopped responding").await;
}

async fn a_provider_failing_mid_stream_is_reported(engine: Engine) {
    failing_provider(engine, "standin-fail", None, None, "cut the reply off").await;
}

async fn malformed_chunks_are_reported(engine: Engine) {
    failing_provider(engine, "standin-garbage", None, None, "could not read").await;
}

async fn a_refused_key_is_reported(engine: Engine) {
    failing_provider(engine, "standin-echo", Some("right-key"), Some("wrong-key"), "refused the API key").await;
}

async fn a_provider_that_is_down_is_reported(engine: Engine) {
    let vars = [
        ("MOSAIC_PROVIDERS", "gone"),
        ("MOSAIC_PROVIDER_GONE_URL", "http://127.0.0.1:1/v1"),
        ("MOSAIC_PROVIDER_GONE_MODEL", "any"),
    ];
    let s = start(engine, &vars).await;
    let (c, cookie) = s.user_with_cookie("down@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "hello?"})).await;
    let events = until_end(&mut ws).await;
    assert!(events.last().expect("finished")["reason"].as_str().unwrap_or("").contains("could not be reached"));
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    assert_eq!(settled(&s, &c, &conversation, "failed").await[0]["content"], "hello?");
}

async fn without_a_provider_the_message_is_kept_and_the_user_told(engine: Engine) {
    let s = start(engine, &[]).await;
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

async fn another_user_cannot_subscribe_post_or_abort(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
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
    assert_eq!(events.last().expect("end")["status"], "complete", "mallory's abort did nothing");
    let saved = settled(&s, &alice, &id, "complete").await;
    assert_eq!(saved.len(), 2, "nothing injected");
}

async fn bad_client_events_get_an_error_and_the_socket_stays_up(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
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

async fn the_socket_refuses_other_origins_and_strangers(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let (_, cookie) = s.user_with_cookie("origin@example.com").await;
    let mut req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("cookie", cookie.parse().expect("cookie"));
    req.headers_mut().insert("origin", "http://evil.example".parse().expect("origin"));
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "cross-origin handshake refused");
    let req = format!("{}/ws", s.base.replace("http://", "ws://")).into_client_request().expect("request");
    assert!(tokio_tungstenite::connect_async(req).await.is_err(), "no session, no socket");
}

async fn two_hundred_clients_leave_no_tasks_behind(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
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

async fn the_rest_endpoint_streams_events_or_answers_whole(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
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
    assert_eq!(whole["status"], "complete");
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

async fn the_history_sent_is_bounded_newest_first(engine: Engine) {
    let url = mosaic_chat::standin::spawn(None).await.expect("stand-in");
    let vars = [
        ("MOSAIC_PROVIDERS", "standin"),
        ("MOSAIC_PROVIDER_STANDIN_URL", url.as_str()),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", "standin-echo"),
        ("MOSAIC_CHAT_HISTORY_CHARS", "300"),
    ];
    let s = start(engine, &vars).await;
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

async fn requests_to_a_provider_are_bounded(engine: Engine) {
    let url = mosaic_chat::standin::spawn(None).await.expect("stand-in");
    let vars = [
        ("MOSAIC_PROVIDERS", "standin"),
        ("MOSAIC_PROVIDER_STANDIN_URL", url.as_str()),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", "standin-slow"),
        ("MOSAIC_PROVIDER_STANDIN_MAX_CONCURRENT", "1"),
    ];
    let s = start(engine, &vars).await;
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
async fn server_sent_events_are_not_held_back_by_compression(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
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

/// The defect this guards against: two sends racing into one conversation both passed the "is a
/// reply running?" check, both saved a message and an empty reply, and the loser answered "busy",
/// leaving a reply shown as generating forever. Now the conversation is held before anything is
/// written: one send wins, the others are told it is busy and save nothing.
async fn sends_racing_into_one_conversation_start_one_reply_and_save_nothing_else(engine: Engine) {
    use mosaic_db::replies::TurnTarget;
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let c = s.user("race@example.com").await;
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "race"}))).await;
    let id: Uuid = conv["id"].as_str().expect("id").parse().expect("uuid");
    let (user, _) = s.store.find_credentials("race@example.com").await.expect("lookup").expect("user");
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let chat = s.chat().clone();
            tokio::spawn(async move {
                chat.send(user.id, None, TurnTarget::Existing(id), format!("racer {i}"), None).await.map(|_| ())
            })
        })
        .collect();
    let mut won = 0;
    for send in sends {
        match send.await.expect("join") {
            Ok(()) => won += 1,
            Err(mosaic_chat::ChatError::Busy) => {}
            Err(other) => panic!("a racing send failed otherwise: {other}"),
        }
    }
    assert_eq!(won, 1, "exactly one send starts a reply");
    let saved = settled(&s, &c, &id.to_string(), "complete").await;
    let roles: Vec<&str> = saved.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant"], "the winner's message and its reply, nothing of the losers");
    assert!(saved.iter().all(|m| m["status"] == "complete"), "no reply left streaming: {saved:?}");
}

async fn a_model_not_offered_is_refused_and_changes_nothing(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let (c, cookie) = s.user_with_cookie("unknown-model@example.com").await;
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "conversationId": id, "content": "hi", "model": "gone/gpt-4o"})).await;
    let e = recv(&mut ws).await;
    assert_eq!(e["type"], "error");
    assert!(e["message"].as_str().unwrap_or("").contains("\"gone/gpt-4o\" is not offered"), "{e}");
    assert!(messages(&s, &c, &id).await.is_empty(), "nothing saved");
    let (st, body) =
        s.json(&c, reqwest::Method::POST, "/api/chat", Some(json!({"message": "hi", "model": "gone/x"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
}

async fn a_remembered_model_whose_provider_is_gone_is_not_sent_elsewhere(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let c = s.user("remembered@example.com").await;
    // Picked while another provider was configured.
    let (st, _) = s.json(&c, reqwest::Method::PUT, "/api/preferences/chat.model", Some(json!("openai/gpt-4o"))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let res = c
        .post(s.url("/api/chat"))
        .header("accept", "application/json")
        .json(&json!({"message": "which model?"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), StatusCode::OK);
    let whole: Value = res.json().await.expect("json");
    assert_eq!((whole["provider"].as_str(), whole["model"].as_str()), (Some("standin"), Some("standin-echo")));
}

async fn no_default_model_and_no_pick_says_what_to_do(engine: Engine) {
    let url = mosaic_chat::standin::spawn(None).await.expect("stand-in");
    let s = start(engine, &[("MOSAIC_PROVIDERS", "local"), ("MOSAIC_PROVIDER_LOCAL_URL", url.as_str())]).await;
    let c = s.user("no-default@example.com").await;
    let (st, body) = s.json(&c, reqwest::Method::POST, "/api/chat", Some(json!({"message": "hello"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"].as_str().unwrap_or("");
    assert!(message.starts_with("Choose a model") && message.contains("MOSAIC_PROVIDER_LOCAL_MODEL"), "{message}");
    assert!(!message.contains("\"\""), "never an empty model name: {message}");
}

async fn following_while_the_database_is_down_says_so(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let (c, cookie) = s.user_with_cookie("down-db@example.com").await;
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    let mut ws = connect(&s, &cookie).await;
    s.store.close().await;
    send(&mut ws, json!({"type": "subscribe", "conversationId": id})).await;
    let e = recv(&mut ws).await;
    let message = e["message"].as_str().unwrap_or("");
    assert!(message.contains("database is unavailable"), "{message}");
    assert!(!message.contains("does not exist"), "an outage is not a missing conversation: {message}");
}

/// SIGTERM mid-reply (what `docker stop` sends): the server stops accepting, saves the reply as
/// stopped ("Server shutting down") with its text so far, tells the socket, and exits cleanly in time.
async fn sigterm_saves_a_streaming_reply_as_stopped(engine: Engine) {
    let database = mosaic_test_support::fresh_database(engine).await;
    let dir = support::scratch_dir("term");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = support::server_process(&database.url, &dir, port, &[("MOSAIC_SHUTDOWN_SECS", "5")]);
    wait_healthy(&base).await;
    let cookie = support::sign_up_at(&base, "Term", "term@example.com").await;
    let mut ws = connect_to(&base, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "a long one", "model": "demo/standin-slow"})).await;
    let started = recv(&mut ws).await;
    let conversation: Uuid = started["conversationId"].as_str().expect("id").parse().expect("uuid");
    let mut streamed = String::new();
    while streamed.split_whitespace().count() < 3 {
        streamed.push_str(recv(&mut ws).await["text"].as_str().unwrap_or(""));
    }
    let asked = std::time::Instant::now();
    support::terminate(&server);
    // The socket hears how the reply ended before the server goes.
    let finished = loop {
        let e = recv(&mut ws).await;
        if e["type"] == "finished" {
            break e;
        }
    };
    assert_eq!(
        (finished["status"].as_str(), finished["reason"].as_str()),
        (Some("stopped"), Some("Server shutting down"))
    );
    let status =
        support::wait_exit(&mut server, Duration::from_secs(15)).await.expect("exits within its shutdown time");
    assert!(status.success(), "a clean exit: {status:?}");
    assert!(asked.elapsed() < Duration::from_secs(8), "bounded: {:?}", asked.elapsed());
    let store = database.open().await;
    let (user, _) = store.find_credentials("term@example.com").await.expect("lookup").expect("user");
    let query = mosaic_db::model::MessageQuery { limit: 10, ..Default::default() };
    let reply = store.list_messages(user.id, conversation, &query).await.expect("list").items.pop().expect("reply");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(reply.state, mosaic_db::model::ReplyState::Stopped { reason: Some("Server shutting down".into()) });
    assert!(
        !reply.content.is_empty() && reply.content.starts_with(streamed.trim_end()),
        "{:?} vs {streamed:?}",
        reply.content
    );
}

/// A crash mid-reply (SIGKILL) leaves the reply streaming in the database; the next process settles
/// it as failed, "interrupted", keeping the text saved so far, in the background after it listens
/// (on PostgreSQL once the dead process's lease has run out).
async fn a_reply_cut_by_kill_9_is_settled_as_interrupted_at_the_next_start(engine: Engine) {
    let database = mosaic_test_support::fresh_database(engine).await;
    let dir = support::scratch_dir("crash");
    // On PostgreSQL the next process settles it once the dead one's lease ran out (2 s here); on
    // SQLite (one instance) at once.
    let run = |port: u16| support::server_process(&database.url, &dir, port, &[("MOSAIC_LEASE_SECS", "2")]);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut first = run(port);
    wait_healthy(&base).await;
    let cookie = support::sign_up_at(&base, "Crash", "crash@example.com").await;
    let mut ws = connect_to(&base, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "a long one", "model": "demo/standin-slow"})).await;
    let started = recv(&mut ws).await;
    let conversation = started["conversationId"].as_str().expect("id").to_string();
    // Past the first partial save (every second), then the process dies without a word.
    let mut streamed = String::new();
    let until = std::time::Instant::now() + Duration::from_millis(1600);
    while std::time::Instant::now() < until {
        streamed.push_str(recv(&mut ws).await["text"].as_str().unwrap_or(""));
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let store = database.open().await;
    let (user, _) = store.find_credentials("crash@example.com").await.expect("lookup").expect("user");
    let conversation: Uuid = conversation.parse().expect("uuid");
    let last = |store: mosaic_db::Store| async move {
        let query = mosaic_db::model::MessageQuery { limit: 10, ..Default::default() };
        store.list_messages(user.id, conversation, &query).await.expect("list").items.pop().expect("reply")
    };
    let cut = last(store.clone()).await;
    assert_eq!(cut.state, mosaic_db::model::ReplyState::Streaming, "the dead process left it streaming");
    assert!(!cut.content.is_empty() && streamed.starts_with(&cut.content), "{:?} vs {streamed:?}", cut.content);

    let port = free_port();
    let mut second = run(port);
    wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    let mut settled = cut.clone();
    for _ in 0..200 {
        settled = last(store.clone()).await;
        if settled.state != mosaic_db::model::ReplyState::Streaming {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.kill().expect("stop");
    second.wait().expect("reaped");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(settled.state, mosaic_db::model::ReplyState::Failed { reason: "interrupted".into() });
    assert_eq!(settled.content, cut.content, "its text is kept");
}

/// A provider's own error text (internal hosts, account ids, pages of it) is logged, not shown: the
/// user reads a fixed, short sentence, and the reply is settled as failed.
async fn a_providers_error_text_stays_in_the_log(engine: Engine) {
    let s = server_with_standin(engine, "standin-leak", None, None).await;
    let (c, cookie) = s.user_with_cookie("leak@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "hello"})).await;
    let events = until_end(&mut ws).await;
    let last = events.last().expect("finished");
    let reason = last["reason"].as_str().expect("a reason");
    assert!(reason.contains("had an error of its own"), "{reason}");
    assert!(!reason.contains("internal") && !reason.contains("org-") && reason.len() < 200, "{reason}");
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    let saved = settled(&s, &c, &conversation, "failed").await;
    assert_eq!(saved[1]["reason"].as_str(), Some(reason), "saved as failed, not left in progress");
}

/// Starting replies in many conversations at once stops at the per-user cap; other users are not
/// affected, and the refused send saves nothing.
async fn one_user_cannot_hold_every_reply(engine: Engine) {
    let s = server_with_standin(engine, "standin-slow", None, None).await;
    let (c, cookie) = s.user_with_cookie("greedy@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    for i in 0..3 {
        send(&mut ws, json!({"type": "send", "content": format!("question {i}")})).await;
        // The replies already started stream their deltas meanwhile.
        loop {
            let e = recv(&mut ws).await;
            assert_ne!(e["type"], "error", "{e}");
            if e["type"] == "started" {
                break;
            }
        }
    }
    send(&mut ws, json!({"type": "send", "content": "one too many"})).await;
    let refused = loop {
        let e = recv(&mut ws).await;
        if e["type"] == "error" {
            break e;
        }
    };
    assert!(refused["message"].as_str().unwrap_or("").contains("3 replies being written"), "{refused}");
    let (_, list) = s.json(&c, reqwest::Method::GET, "/api/conversations", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3), "nothing saved for the refused send");
    // Someone else still gets a reply.
    let (_, other) = s.user_with_cookie("patient@example.com").await;
    let mut theirs = connect(&s, &other).await;
    send(&mut theirs, json!({"type": "send", "content": "my turn"})).await;
    assert_eq!(recv(&mut theirs).await["type"], "started");
}

/// A member cannot run a model the operator never offered: a name the provider does not list (or
/// that is off the operator's list) is refused before anything is saved, and one slipped in through
/// the preferences API is not sent: the default answers instead.
async fn only_models_on_offer_are_sent_to_a_provider(engine: Engine) {
    let s = server_with_standin(engine, "standin-echo", None, None).await;
    let (c, cookie) = s.user_with_cookie("picky@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "expensive", "model": "standin/gpt-4-32k"})).await;
    let e = recv(&mut ws).await;
    assert_eq!(e["type"], "error", "{e}");
    assert!(e["message"].as_str().unwrap_or("").contains("is not offered"), "{e}");
    let (_, list) = s.json(&c, reqwest::Method::GET, "/api/conversations", None).await;
    assert_eq!(list["items"], json!([]), "nothing saved");
    let (st, _) =
        s.json(&c, reqwest::Method::PUT, "/api/preferences/chat.model", Some(json!("standin/gpt-4-32k"))).await;
    assert!(st.is_success(), "{st}");
    send(&mut ws, json!({"type": "send", "content": "which model?"})).await;
    let started = recv(&mut ws).await;
    assert_eq!(
        (started["type"].as_str(), started["model"].as_str()),
        (Some("started"), Some("standin-echo")),
        "{started}"
    );
    until_end(&mut ws).await;

    // The operator's list narrows what the provider offers.
    let url = mosaic_chat::standin::spawn(None).await.expect("stand-in");
    let s = start(
        engine,
        &[
            ("MOSAIC_PROVIDERS", "standin"),
            ("MOSAIC_PROVIDER_STANDIN_URL", &url),
            ("MOSAIC_PROVIDER_STANDIN_MODEL", "standin-echo"),
            ("MOSAIC_PROVIDER_STANDIN_MODELS", "standin-echo,standin-slow"),
        ],
    )
    .await;
    let (_, cookie) = s.user_with_cookie("listed@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "off the list", "model": "standin/standin-fail"})).await;
    assert_eq!(recv(&mut ws).await["type"], "error", "listed by the provider, not by the operator");
    send(&mut ws, json!({"type": "send", "content": "on the list", "model": "standin/standin-slow"})).await;
    assert_eq!(recv(&mut ws).await["type"], "started");
    let (_, models) = s.json(&s.user("eyes@example.com").await, reqwest::Method::GET, "/api/models", None).await;
    assert!(!models.to_string().contains("standin-fail"), "the list offered is the operator's: {models}");
}

/// A server on the stand-in with reply limits set by `limits`.
async fn server_with_limits(engine: Engine, model: &str, limits: &[(&str, &str)]) -> TestServer {
    let url = mosaic_chat::standin::spawn(None).await.expect("stand-in");
    let mut vars = vec![
        ("MOSAIC_PROVIDERS", "standin"),
        ("MOSAIC_PROVIDER_STANDIN_URL", url.as_str()),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", model),
    ];
    vars.extend_from_slice(limits);
    start(engine, &vars).await
}

/// A model stuck in a loop is cut at MOSAIC_REPLY_MAX_CHARS (it used to grow until the save failed
/// and the reply stayed "in progress"); a provider that stops at the `max_tokens` it was sent says
/// so. Both are saved complete with reason "length", and the page says the reply was cut.
async fn a_reply_is_cut_at_the_length_limit_and_saved_complete(engine: Engine) {
    let limits = [("MOSAIC_REPLY_MAX_CHARS", "500"), ("MOSAIC_REPLY_MAX_TOKENS", "5")];
    let s = server_with_limits(engine, "standin-echo", &limits).await;
    let (c, cookie) = s.user_with_cookie("long@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "go on forever", "model": "standin/standin-loop"})).await;
    let events = until_end(&mut ws).await;
    let last = events.last().expect("finished");
    assert_eq!((last["status"].as_str(), last["reason"].as_str()), (Some("complete"), Some("length")), "{last}");
    assert_eq!(text_of(&events).chars().count(), 500, "cut at the limit exactly");
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    let saved = settled(&s, &c, &conversation, "complete").await;
    assert_eq!(saved[1]["reason"], "length");
    assert_eq!(saved[1]["content"].as_str().map(|t| t.chars().count()), Some(500));
    let page = c.get(s.url(&format!("/c/{conversation}"))).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("cut at the length limit"), "the page says the reply was cut");
    // The echo model honours max_tokens (a word is a token there): 5 words, then "length".
    send(&mut ws, json!({"type": "send", "content": "a long answer please", "conversationId": conversation})).await;
    let events = until_end(&mut ws).await;
    let last = events.last().expect("finished");
    assert_eq!((last["status"].as_str(), last["reason"].as_str()), (Some("complete"), Some("length")), "{last}");
    assert_eq!(text_of(&events).split_inclusive(' ').count(), 5, "{}", text_of(&events));
}

/// A reply still being written at MOSAIC_REPLY_MAX_SECS is stopped, its text so far saved.
async fn a_reply_is_stopped_at_the_time_limit(engine: Engine) {
    let s = server_with_limits(engine, "standin-slow", &[("MOSAIC_REPLY_MAX_SECS", "1")]).await;
    let (c, cookie) = s.user_with_cookie("slow@example.com").await;
    let mut ws = connect(&s, &cookie).await;
    send(&mut ws, json!({"type": "send", "content": "take your time"})).await;
    let events = until_end(&mut ws).await;
    let last = events.last().expect("finished");
    assert_eq!(last["status"], "stopped", "{last}");
    assert!(last["reason"].as_str().unwrap_or("").contains("Time limit"), "{last}");
    let conversation = events[0]["conversationId"].as_str().expect("id").to_string();
    let saved = settled(&s, &c, &conversation, "stopped").await;
    let text = saved[1]["content"].as_str().expect("text");
    assert!(!text.is_empty() && !text.ends_with("arrive."), "the text so far, not the whole reply: {text}");
}
