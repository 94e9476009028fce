//! A small local server that speaks the OpenAI-compatible chat-completions protocol, standing in
//! for real providers in tests and in the demo (`MOSAIC_DEMO_PROVIDER=1`).
//!
//! The model name picks the behaviour:
//! - `standin-echo`: streams a short reply quoting the last user message, a word every 20 ms;
//! - `standin-slow`: the same, a word every 150 ms (long enough to stop it or close the tab);
//! - `standin-stall`: two words, then silence with the connection open;
//! - `standin-fail`: two words, then the connection drops without `[DONE]`;
//! - `standin-leak`: an HTTP 500 whose long error text names internal hosts;
//! - `standin-garbage`: one word, then a chunk that is not JSON;
//! - `standin-loop`: the same sentence over and over, never done, ignoring `max_tokens` (a model
//!   stuck in a loop).
//!
//! The others honour `max_tokens` (a word is a token): they stop there with `finish_reason:
//! "length"`, else end with `finish_reason: "stop"`.
//! With a key configured, requests without `Authorization: Bearer <key>` get a 401.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The models the stand-in offers.
pub const MODELS: [&str; 7] = [
    "standin-echo",
    "standin-slow",
    "standin-stall",
    "standin-fail",
    "standin-garbage",
    "standin-leak",
    "standin-loop",
];

/// The provider `MOSAIC_DEMO_PROVIDER=1` adds: the stand-in at `base_url`, as `demo`, answering with
/// `standin-echo` unless the user picks another of its [`MODELS`].
pub fn demo_provider(base_url: String) -> crate::provider::ProviderConfig {
    crate::provider::ProviderConfig {
        name: "demo".into(),
        base_url,
        api_key: None,
        default_model: Some("standin-echo".into()),
        max_concurrent: 16,
        allowed_models: None,
    }
}

/// Serves the stand-in on `127.0.0.1` at a free port; returns its base URL (ending in `/v1`).
pub async fn spawn(key: Option<String>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app =
        Router::new().route("/v1/models", get(models)).route("/v1/chat/completions", post(completions)).with_state(key);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/v1"))
}

fn authorized(key: &Option<String>, headers: &HeaderMap) -> bool {
    match key {
        None => true,
        Some(k) => headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {k}")),
    }
}

async fn models(State(key): State<Option<String>>, headers: HeaderMap) -> Response {
    if !authorized(&key, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"message": "invalid api key"}}))).into_response();
    }
    Json(json!({ "object": "list", "data": MODELS.iter().map(|m| json!({"id": m, "object": "model"})).collect::<Vec<_>>() }))
        .into_response()
}

fn chunk(text: &str) -> Bytes {
    Bytes::from(format!(
        "data: {}\n\n",
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]})
    ))
}

/// The last chunk of a reply, saying why it ended ("stop" or "length").
fn finish(reason: &str) -> Bytes {
    Bytes::from(format!(
        "data: {}\n\n",
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
    ))
}

async fn completions(State(key): State<Option<String>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&key, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"message": "invalid api key"}}))).into_response();
    }
    let model = body["model"].as_str().unwrap_or("").to_string();
    if !MODELS.contains(&model.as_str()) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"message": format!("model {model} does not exist")}})))
            .into_response();
    }
    if model == "standin-leak" {
        // An error whose text names internal things and goes on for pages.
        let message = format!("upstream billing.internal.example:8443 refused org-1234567: {}", "x".repeat(20_000));
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"message": message}}))).into_response();
    }
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|t| t["role"] == "user"))
        .and_then(|t| t["content"].as_str())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>();
    let prompt_tokens = body["messages"].as_array().map_or(0, |m| m.len() as u64 * 8);
    let reply = format!("You said: \"{last}\". This is the stand-in model {model}, streaming a reply word by word so you can watch it arrive.");
    let mut words: Vec<String> = reply.split_inclusive(' ').map(str::to_string).collect();
    let max_tokens = body["max_tokens"].as_u64().map_or(usize::MAX, |n| n as usize);
    let cut = words.len() > max_tokens;
    words.truncate(max_tokens);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(16);
    tokio::spawn(async move {
        if model == "standin-loop" {
            while tx.send(Ok(chunk("and so on, and so on, and so on, "))).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            return;
        }
        let pause = Duration::from_millis(if model == "standin-slow" { 150 } else { 20 });
        for (i, word) in words.iter().enumerate() {
            match model.as_str() {
                "standin-stall" if i == 2 => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                "standin-fail" if i == 2 => return,
                "standin-garbage" if i == 1 => {
                    let _ = tx.send(Ok(Bytes::from_static(b"data: {\"choices\": [oops\n\n"))).await;
                    return;
                }
                _ => {}
            }
            if tx.send(Ok(chunk(word))).await.is_err() {
                return; // the client went away
            }
            tokio::time::sleep(pause).await;
        }
        let _ = tx.send(Ok(finish(if cut { "length" } else { "stop" }))).await;
        let usage = json!({"choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": words.len()}});
        let _ = tx.send(Ok(Bytes::from(format!("data: {usage}\n\n")))).await;
        let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
