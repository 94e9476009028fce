//! Agent logs: what agents (the chat service, and tools outside the server through `POST /api/logs`)
//! record, kept in tiers: hot when new, warm once summarised, cold after a month, purged after three
//! (see `server/src/jobs`). Every batch operation here moves at most a fixed number of rows, so a job
//! never holds SQLite's write lock or a PostgreSQL row lock long enough to slow a request.

use uuid::Uuid;

use crate::model::{AgentLog, LogLevel, SummarySource, Tier};

/// The largest batch [`append_agent_logs`](crate::Store::append_agent_logs) accepts (and so
/// `POST /api/logs`).
pub const MAX_BATCH: usize = 1_000;
/// The largest log content, in bytes.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// The longest agent session id and category, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 128;
/// See [`MAX_SESSION_ID_BYTES`].
pub const MAX_CATEGORY_BYTES: usize = 64;

/// An agent log row about to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAgentLog {
    pub user_id: Uuid,
    /// The agent session the log belongs to (for chat: the conversation's id).
    pub session_id: String,
    /// The sign-in session that wrote it, if any: ending that session demotes its hot logs.
    pub auth_session_id: Option<Uuid>,
    pub level: LogLevel,
    pub category: String,
    pub content: String,
    pub metadata: serde_json::Value,
    pub tier: Tier,
    /// When it happened; `None` means now.
    pub created_at: Option<i64>,
}

/// Checks one log row's fields; the message says which field is wrong and why.
pub fn check(log: &NewAgentLog) -> Result<(), String> {
    if log.session_id.is_empty() || log.session_id.len() > MAX_SESSION_ID_BYTES {
        return Err(format!("sessionId must be 1 to {MAX_SESSION_ID_BYTES} bytes"));
    }
    if log.category.is_empty() || log.category.len() > MAX_CATEGORY_BYTES {
        return Err(format!("category must be 1 to {MAX_CATEGORY_BYTES} bytes"));
    }
    if log.content.len() > MAX_CONTENT_BYTES {
        return Err(format!(
            "content is {} bytes; at most {} KiB are kept",
            log.content.len(),
            MAX_CONTENT_BYTES / 1024
        ));
    }
    match crate::messages::metadata_problem(&log.metadata) {
        Some(problem) => Err(format!("metadata {problem}")),
        None => Ok(()),
    }
}

/// Which of an agent session's logs to list; every field narrows the listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub tier: Option<Tier>,
    pub level: Option<LogLevel>,
}

/// Hot logs of one agent session, oldest first, to be summarised together and moved to warm.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryGroup {
    pub user_id: Uuid,
    pub session_id: String,
    /// At least one log, oldest first.
    pub logs: Vec<AgentLog>,
}

/// A summary to store for a [`SummaryGroup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSummary {
    pub text: String,
    pub source: SummarySource,
    /// The `provider/model` that wrote it, for model summaries.
    pub model: Option<String>,
}
