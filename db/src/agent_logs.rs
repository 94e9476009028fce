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

/// Implements the agent-log operations on a backend store type.
macro_rules! agent_log_ops {
    ($store:ty) => {
        impl $store {
            pub(crate) async fn append_agent_logs(&self, logs: &[NewAgentLog]) -> DbResult<Vec<Uuid>> {
                if logs.len() > agent_logs::MAX_BATCH {
                    return Err(DbError::Invalid(format!("a batch holds at most {} logs", agent_logs::MAX_BATCH)));
                }
                for log in logs {
                    agent_logs::check(log)?;
                }
                let now = now_micros();
                let mut ids = Vec::with_capacity(logs.len());
                let mut tx = self.begin_write().await?;
                for log in logs {
                    let id = Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO agent_logs (id, user_id, session_id, level, category, content, metadata, tier, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(id)
                    .bind(log.user_id)
                    .bind(&log.session_id)
                    .bind(&log.level)
                    .bind(&log.category)
                    .bind(&log.content)
                    .bind(sqlx::types::Json(&log.metadata))
                    .bind(log.tier.as_str())
                    .bind(log.created_at.unwrap_or(now))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| if e.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) { DbError::NotFound } else { e.into() })?;
                    ids.push(id);
                }
                tx.commit().await?;
                Ok(ids)
            }

            pub(crate) async fn list_session_logs(&self, user_id: Uuid, session_id: &str, cursor: Option<&str>, limit: u32) -> DbResult<Page<AgentLog>> {
                let limit = conversations::check_limit(limit)?;
                let after = Cursor::decode_opt(cursor, CursorKind::SessionLogs, Uuid::nil())?.unwrap_or(Cursor { at: i64::MIN, id: Uuid::nil() });
                let mut items = sqlx::query_as::<_, AgentLog>(
                    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
                     WHERE session_id = $1 AND user_id = $2 AND (created_at, id) > ($3, $4)
                     ORDER BY created_at ASC, id ASC
                     LIMIT $5",
                )
                .bind(session_id)
                .bind(user_id)
                .bind(after.at)
                .bind(after.id)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
                let next = conversations::page_end(&mut items, limit, |l| Cursor { at: l.created_at, id: l.id }.encode(CursorKind::SessionLogs, Uuid::nil()));
                Ok(Page { items, next })
            }

            pub(crate) async fn list_tier_logs(&self, tier: Tier, from: i64, to: i64, cursor: Option<&str>, limit: u32) -> DbResult<Page<AgentLog>> {
                let limit = conversations::check_limit(limit)?;
                let after = Cursor::decode_opt(cursor, CursorKind::TierLogs, Uuid::nil())?.unwrap_or(Cursor { at: i64::MIN, id: Uuid::nil() });
                let mut items = sqlx::query_as::<_, AgentLog>(
                    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
                     WHERE tier = $1 AND created_at >= $2 AND created_at < $3 AND (created_at, id) > ($4, $5)
                     ORDER BY created_at ASC, id ASC
                     LIMIT $6",
                )
                .bind(tier.as_str())
                .bind(from)
                .bind(to)
                .bind(after.at)
                .bind(after.id)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
                let next = conversations::page_end(&mut items, limit, |l| Cursor { at: l.created_at, id: l.id }.encode(CursorKind::TierLogs, Uuid::nil()));
                Ok(Page { items, next })
            }

            pub(crate) async fn age_agent_logs(&self, tier: Tier, older_than: i64) -> DbResult<u64> {
                let mut total = 0u64;
                loop {
                    let done = match tier.next() {
                        Some(next) => sqlx::query(
                            "UPDATE agent_logs SET tier = $3, updated_at = $4
                             WHERE id IN (SELECT id FROM agent_logs WHERE tier = $1 AND created_at < $2
                                          ORDER BY created_at LIMIT $5)",
                        )
                        .bind(tier.as_str())
                        .bind(older_than)
                        .bind(next.as_str())
                        .bind(now_micros())
                        .bind(agent_logs::TIER_BATCH)
                        .execute(&self.pool)
                        .await?,
                        None => sqlx::query(
                            "DELETE FROM agent_logs
                             WHERE id IN (SELECT id FROM agent_logs WHERE tier = $1 AND created_at < $2
                                          ORDER BY created_at LIMIT $3)",
                        )
                        .bind(tier.as_str())
                        .bind(older_than)
                        .bind(agent_logs::TIER_BATCH)
                        .execute(&self.pool)
                        .await?,
                    };
                    total += done.rows_affected();
                    if done.rows_affected() < agent_logs::TIER_BATCH as u64 {
                        return Ok(total);
                    }
                }
            }
        }
    };
}
pub(crate) use agent_log_ops;
