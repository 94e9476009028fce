//! The chat gateway: the transports that carry the chat service's events to clients. The
//! WebSocket at `/ws` ([`ws`]) for the browser, `POST /api/chat` as server-sent events or whole JSON
//! ([`sse`]) for other clients, and `GET /api/models`. The service itself is `mosaic_chat::Chat`.

pub mod sse;
pub mod ws;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use app::error::AppError;

use crate::middleware::Authed;
use crate::ServerState;

/// The gateway's routes.
pub fn routes() -> Router<ServerState> {
    Router::new().route("/ws", get(ws::handler)).route("/api/chat", post(sse::chat)).route("/api/models", get(models))
}

/// The models the configured providers offer, as `provider/model`, and the user's current pick.
async fn models(State(s): State<ServerState>, Authed(me): Authed) -> Result<Json<serde_json::Value>, AppError> {
    let models = s.app.chat.models().await;
    let prefs = s.app.store.effective_preferences(me.user.id).await?;
    let selected =
        prefs.into_iter().find(|p| p.key == mosaic_db::preferences::CHAT_MODEL).map(|p| p.value).unwrap_or_default();
    Ok(Json(serde_json::json!({ "models": models, "selected": selected })))
}
