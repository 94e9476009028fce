//! The JSON API: the dashboard's data for other clients and for benchmarks, authenticated by the
//! session cookie or a personal API token (`Authorization: Bearer …`). Errors are
//! `{"error": "…"}` with a 4xx/5xx status. The admin area is [`admin`], the user's own credentials
//! [`account`], the setup of a fresh instance [`bootstrap`].

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use mosaic_db::messages::NewMessage;
use mosaic_db::model::{Conversation, Message, MessagePage, MessageQuery, Page, Preference, SearchHit, SessionInfo};
use serde::Deserialize;
use uuid::Uuid;

use app::error::AppError;
use mosaic_db::conversations::ConversationChange;

use crate::middleware::Authed;
use crate::ServerState;

mod account;
mod admin;
mod bootstrap;
mod input;
mod logs;

/// The default page size of the list endpoints.
const DEFAULT_LIMIT: u32 = 50;

/// The JSON API's routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/conversations", get(list_conversations).post(create_conversation))
        .route("/api/conversations/{id}", get(get_conversation).patch(update_conversation).delete(delete_conversation))
        .route("/api/conversations/{id}/messages", get(list_messages).post(post_message))
        .route("/api/search", get(search))
        .route("/api/preferences", get(preferences))
        .route("/api/preferences/{key}", axum::routing::put(set_preference).delete(delete_preference))
        .route("/api/sessions", get(sessions))
        .route("/api/sessions/{id}", axum::routing::delete(revoke_session))
        .route("/healthz", get(health))
        .merge(logs::routes())
        .merge(admin::routes())
        .merge(account::routes())
        .merge(bootstrap::routes())
}

fn id(raw: &str) -> Result<Uuid, AppError> {
    // A malformed id cannot name anything the caller owns.
    raw.parse().map_err(|_| AppError::NotFound)
}

/// The JSON body, or the error to answer: 413 for a body over the route's limit, 400 otherwise.
fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    json.map(|Json(v)| v).map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::TooLarge(format!("The request body is too large: {}", e.body_text()))
        }
        _ => AppError::BadRequest(format!("Invalid JSON body: {}", e.body_text())),
    })
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    q.map(|Query(v)| v).map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    archived: bool,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_conversations(
    State(s): State<ServerState>,
    Authed(me): Authed,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<Conversation>>, AppError> {
    let q = query(q)?;
    let page = s
        .app
        .store
        .list_conversations(me.user.id, q.archived, q.cursor.as_deref(), q.limit.unwrap_or(DEFAULT_LIMIT))
        .await?;
    Ok(Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewConversationBody {
    #[serde(default)]
    title: String,
}

async fn create_conversation(
    State(s): State<ServerState>,
    Authed(me): Authed,
    json: Result<Json<NewConversationBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Conversation>), AppError> {
    let b = body(json)?;
    Ok((StatusCode::CREATED, Json(s.app.store.create_conversation(me.user.id, &b.title).await?)))
}

async fn get_conversation(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> Result<Json<Conversation>, AppError> {
    Ok(Json(s.app.store.get_conversation(me.user.id, id(&raw)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateConversationBody {
    title: Option<String>,
    archived: Option<bool>,
}

async fn update_conversation(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    json: Result<Json<UpdateConversationBody>, JsonRejection>,
) -> Result<Json<Conversation>, AppError> {
    let id = id(&raw)?;
    let b = body(json)?;
    let change = ConversationChange { title: b.title.as_deref(), archived: b.archived };
    Ok(Json(s.app.store.update_conversation(me.user.id, id, &change).await?))
}

async fn delete_conversation(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> Result<StatusCode, AppError> {
    s.app.store.delete_conversation(me.user.id, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct MessagesQuery {
    before: Option<String>,
    after: Option<String>,
    /// A message id: the page around it (where a search result opens).
    around: Option<String>,
    limit: Option<u32>,
}

async fn list_messages(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    q: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, AppError> {
    let q = query(q)?;
    let around = q.around.as_deref().map(id).transpose()?;
    let mq = MessageQuery { before: q.before, after: q.after, around, limit: q.limit.unwrap_or(DEFAULT_LIMIT) };
    Ok(Json(s.app.store.list_messages(me.user.id, id(&raw)?, &mq).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessageBody {
    content: String,
}

async fn post_message(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    json: Result<Json<NewMessageBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Message>), AppError> {
    let id = id(&raw)?;
    let b = body(json)?;
    let new =
        NewMessage { role: mosaic_db::model::MessageRole::User, content: b.content, metadata: serde_json::json!({}) };
    Ok((StatusCode::CREATED, Json(s.app.store.append_message(me.user.id, id, new).await?)))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/search?q=…&cursor=…&limit=…`: the user's conversations matching `q`, best first, each
/// with its best message's highlighted snippet (see `mosaic_db::search`).
async fn search(
    State(s): State<ServerState>,
    Authed(me): Authed,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Page<SearchHit>>, AppError> {
    let q = query(q)?;
    let text =
        q.q.filter(|t| !t.trim().is_empty())
            .ok_or_else(|| AppError::BadRequest("Say what to search for: ?q=…".into()))?;
    let limit = q.limit.unwrap_or(mosaic_db::search::DEFAULT_PAGE);
    Ok(Json(s.app.store.search(me.user.id, &text, q.cursor.as_deref(), limit).await?))
}

async fn preferences(State(s): State<ServerState>, Authed(me): Authed) -> Result<Json<Vec<Preference>>, AppError> {
    Ok(Json(s.app.store.effective_preferences(me.user.id).await?))
}

async fn set_preference(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(key): Path<String>,
    json: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    let value = body(json)?;
    s.app.store.set_preference(me.user.id, &key, &value).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_preference(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(key): Path<String>,
) -> Result<StatusCode, AppError> {
    s.app.store.delete_preference(me.user.id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(State(s): State<ServerState>, Authed(me): Authed) -> Result<Json<Vec<SessionInfo>>, AppError> {
    Ok(Json(s.app.store.list_sessions(me.user.id).await?))
}

async fn revoke_session(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> Result<StatusCode, AppError> {
    s.app.store.revoke_session(me.user.id, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn health(State(s): State<ServerState>) -> Result<&'static str, AppError> {
    s.app.store.ping().await?;
    Ok("ok")
}
