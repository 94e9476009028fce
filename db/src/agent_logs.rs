//! Agent logs: append one or a batch, list by session or by tier and time range, and age rows from
//! one tier to the next (hot → warm → cold → purged) in bounded batches.

use crate::error::DbError;
use crate::model::Tier;

/// Rows moved per statement when tiering, so one job never holds the write lock for long.
pub const TIER_BATCH: i64 = 5_000;
/// The largest batch [`append_agent_logs`](crate::Store::append_agent_logs) accepts.
pub const MAX_BATCH: usize = 1_000;

/// An agent log row about to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAgentLog {
    pub user_id: uuid::Uuid,
    pub session_id: String,
    pub level: String,
    pub category: String,
    pub content: String,
    pub metadata: serde_json::Value,
    pub tier: Tier,
    /// When it happened; `None` means now.
    pub created_at: Option<i64>,
}

/// Checks one log row's fields.
pub fn check(log: &NewAgentLog) -> Result<(), DbError> {
    if !matches!(log.level.as_str(), "debug" | "info" | "warn" | "error") {
        return Err(DbError::Invalid("level must be one of debug, info, warn, error".into()));
    }
    if log.session_id.is_empty() || log.session_id.len() > 128 {
        return Err(DbError::Invalid("session_id must be 1 to 128 bytes".into()));
    }
    if log.category.is_empty() || log.category.len() > 64 {
        return Err(DbError::Invalid("category must be 1 to 64 bytes".into()));
    }
    if log.content.len() > 64 * 1024 {
        return Err(DbError::Invalid("log content can be at most 64 KiB".into()));
    }
    crate::messages::check_metadata(&log.metadata)
}
