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
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::events::ServerEvent;
use super::ws::user_message;
use crate::api::Authed;
use crate::error::ApiError;
use crate::ServerState;

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
        Err(e) => return ApiError::BadRequest(format!("invalid JSON body: {}", e.body_text())).into_response(),
    };
    let started = match s.chat.send(me.user.id, req.conversation_id, req.message, req.model).await {
        Ok(started) => started,
        Err(err) => {
            let status = status_of(&err);
            return (status, Json(json!({ "error": user_message(&err) }))).into_response();
        }
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

/// The HTTP status for a refused chat request.
pub fn status_of(err: &super::ChatError) -> StatusCode {
    use super::ChatError;
    match err {
        ChatError::Db(mosaic_db::DbError::NotFound) => StatusCode::NOT_FOUND,
        ChatError::Db(e) if !e.is_client_error() => StatusCode::INTERNAL_SERVER_ERROR,
        ChatError::Busy => StatusCode::CONFLICT,
        ChatError::NoProvider => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Waits for the reply to end and answers with all of it.
async fn whole(first: ServerEvent, mut rx: broadcast::Receiver<ServerEvent>) -> Response {
    let ServerEvent::Started { conversation_id, message_id, .. } = first else {
        return ApiError::Internal.into_response();
    };
    let mut text = String::new();
    loop {
        match rx.recv().await {
            Ok(ServerEvent::Delta { text: t, .. }) => text.push_str(&t),
            Ok(ServerEvent::Finished { model, provider, usage, complete, .. }) => {
                return Json(json!({
                    "conversationId": conversation_id, "messageId": message_id, "content": text,
                    "model": model, "provider": provider, "usage": usage, "complete": complete,
                }))
                .into_response()
            }
            Ok(ServerEvent::Error { message, .. }) => {
                return (
                    StatusCode::BAD_GATEWAY,
                    Json(json!({ "error": message, "conversationId": conversation_id, "messageId": message_id, "content": text })),
                )
                    .into_response()
            }
            Ok(ServerEvent::Started { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return ApiError::Internal.into_response(),
        }
    }
}
