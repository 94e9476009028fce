//! Agent logs over HTTP, for agents and tools outside the server: `POST /api/logs` writes a batch in
//! one transaction (all or nothing), `GET /api/logs` lists the caller's own logs by keyset, and
//! `GET /api/logs/summaries` the summaries of one of their agent sessions.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use mosaic_db::agent_logs::{LogFilter, NewAgentLog, MAX_BATCH};
use mosaic_db::model::{AgentLog, LogLevel, LogSummary, Page, Tier};
use serde::Deserialize;
use serde_json::{json, Value};

use app::error::AppError;

use super::{query, DEFAULT_LIMIT};
use crate::middleware::Authed;
use crate::ServerState;

/// The largest `POST /api/logs` body: room for a full batch of ordinary entries.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/logs", post(append).layer(DefaultBodyLimit::max(BODY_LIMIT)).get(list))
        .route("/api/logs/summaries", get(summaries))
}

/// One entry of a batch, as sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    session_id: String,
    level: String,
    category: String,
    content: String,
    #[serde(default = "empty_object")]
    metadata: Value,
    /// When it happened, in microseconds since the Unix epoch; now when absent.
    created_at: Option<i64>,
}

fn empty_object() -> Value {
    json!({})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    logs: Vec<Value>,
}

/// `POST /api/logs` with `{"logs": [{sessionId, level, category, content, metadata?, createdAt?}, …]}`:
/// 201 with the new ids, or 400 naming the first bad entry, having written nothing.
async fn append(
    State(s): State<ServerState>,
    Authed(me): Authed,
    body: Result<Json<Batch>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let batch = super::body(body)?;
    if batch.logs.is_empty() || batch.logs.len() > MAX_BATCH {
        return Err(AppError::BadRequest(format!("A batch holds 1 to {MAX_BATCH} logs, not {}.", batch.logs.len())));
    }
    let mut logs = Vec::with_capacity(batch.logs.len());
    for (i, raw) in batch.logs.into_iter().enumerate() {
        let bad = |problem: String| AppError::BadRequest(format!("entry {i}: {problem}"));
        let entry: Entry = serde_json::from_value(raw).map_err(|e| bad(e.to_string()))?;
        let level = LogLevel::parse(&entry.level).map_err(bad)?;
        if entry.created_at.is_some_and(|t| t < 0) {
            return Err(bad("createdAt must be microseconds since 1970".into()));
        }
        logs.push(NewAgentLog {
            user_id: me.user.id,
            session_id: entry.session_id,
            auth_session_id: me.session_id(),
            level,
            category: entry.category,
            content: entry.content,
            metadata: entry.metadata,
            tier: Tier::Hot,
            created_at: entry.created_at,
        });
    }
    let ids = s.app.store.append_agent_logs(&logs).await?;
    Ok((StatusCode::CREATED, Json(json!({ "count": ids.len(), "ids": ids }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    session: String,
    tier: Option<String>,
    level: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/logs?session=…&tier=…&level=…&cursor=…&limit=…`: the caller's own logs of one agent
/// session, oldest first.
async fn list(
    State(s): State<ServerState>,
    Authed(me): Authed,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page<AgentLog>>, AppError> {
    let q = query(q)?;
    let filter = LogFilter {
        tier: q.tier.as_deref().map(Tier::parse).transpose().map_err(|e| AppError::BadRequest(format!("tier: {e}")))?,
        level: q
            .level
            .as_deref()
            .map(LogLevel::parse)
            .transpose()
            .map_err(|e| AppError::BadRequest(format!("level: {e}")))?,
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    Ok(Json(s.app.store.list_agent_logs(me.user.id, &q.session, &filter, q.cursor.as_deref(), limit).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummariesQuery {
    session: String,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/logs/summaries?session=…`: the summaries of one of the caller's agent sessions.
async fn summaries(
    State(s): State<ServerState>,
    Authed(me): Authed,
    q: Result<Query<SummariesQuery>, QueryRejection>,
) -> Result<Json<Page<LogSummary>>, AppError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    Ok(Json(s.app.store.list_summaries(me.user.id, &q.session, q.cursor.as_deref(), limit).await?))
}
