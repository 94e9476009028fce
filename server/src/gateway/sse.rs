//! `POST /api/chat`: the chat for clients that do not speak WebSocket. The reply streams back as
//! server-sent events (the same events as the gateway), or comes whole as JSON when the client asks
//! for `application/json`. Closing the connection does not stop the reply: it is the server's.

use std::convert::Infallible;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use app::error::AppError;
use mosaic_chat::events::{ReplyState, ServerEvent, Usage};
use mosaic_db::replies::TurnTarget;

use crate::middleware::Authed;
use crate::ServerState;

/// The body of `POST /api/chat`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatRequest {
    message: String,
    conversation_id: Option<Uuid>,
    model: Option<String>,
}

/// Sends a message and returns the reply, streamed or whole.
pub async fn chat(
    State(s): State<ServerState>,
    Authed(me): Authed,
    headers: HeaderMap,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Response {
    let req = match body {
        Ok(Json(req)) => req,
        Err(e) => return AppError::BadRequest(format!("Invalid JSON body: {}", e.body_text())).into_response(),
    };
    let target = TurnTarget::for_message(req.conversation_id, &req.message);
    let started = match s.app.chat.send(me.user.id, me.session_id(), target, req.message, req.model).await {
        Ok(started) => started,
        Err(err) => return AppError::from(err).into_response(),
    };
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/event-stream"));
    if wants_json {
        whole(started.first, started.events).await
    } else {
        let first = started.first;
        let stream =
            futures_util::stream::unfold((Some(first), started.events, false), |(first, mut rx, ended)| async move {
                if ended {
                    return None;
                }
                let event = match first {
                    Some(e) => e,
                    None => loop {
                        match rx.recv().await {
                            Ok(e) => break e,
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    },
                };
                let last = event.is_terminal();
                let sse = Event::default().json_data(&event).unwrap_or_default();
                Some((Ok::<_, Infallible>(sse), (None, rx, last)))
            });
        Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
    }
}

/// The answer to `Accept: application/json`: the whole reply and how it ended.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WholeReply {
    conversation_id: Uuid,
    message_id: Uuid,
    content: String,
    model: String,
    provider: String,
    usage: Usage,
    #[serde(flatten)]
    state: ReplyState,
}

/// Waits for the reply to end and answers with all of it.
async fn whole(first: ServerEvent, mut rx: broadcast::Receiver<ServerEvent>) -> Response {
    let ServerEvent::Started { conversation_id, message_id, .. } = first else {
        return AppError::internal("a reply's first event was not `started`").into_response();
    };
    let mut text = String::new();
    loop {
        match rx.recv().await {
            Ok(ServerEvent::Delta { text: t, .. }) => text.push_str(&t),
            Ok(ServerEvent::Finished { state: ReplyState::Failed { reason }, .. }) => {
                let body = json!({ "error": reason, "conversationId": conversation_id, "messageId": message_id,
                                   "content": text, "status": "failed" });
                return (StatusCode::BAD_GATEWAY, Json(body)).into_response();
            }
            Ok(ServerEvent::Finished { model, provider, usage, state, .. }) => {
                let reply = WholeReply { conversation_id, message_id, content: text, model, provider, usage, state };
                return Json(reply).into_response();
            }
            Ok(ServerEvent::Started { .. } | ServerEvent::Error { .. })
            | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => {
                return AppError::internal("a reply ended without its `finished` event").into_response()
            }
        }
    }
}
