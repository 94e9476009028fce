//! Agent logs: append a batch, list by session or by tier and time range, age rows between tiers.

use uuid::Uuid;

use super::Backend;
use crate::agent_logs::{check, NewAgentLog, MAX_BATCH, TIER_BATCH};
use crate::clock::now_micros;
use crate::conversations::{check_limit, page_end};
use crate::cursor::{Cursor, CursorKind};
use crate::error::{missing_parent_is_not_found, DbError, DbResult};
use crate::model::{AgentLog, Page, Tier};

/// A page of one agent session's logs (the user's own), oldest first. Served by
/// `agent_logs_session_created_idx`.
pub const SESSION_PAGE: &str =
    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
     WHERE session_id = $1 AND user_id = $2 AND (created_at, id) > ($3, $4)
     ORDER BY created_at ASC, id ASC
     LIMIT $5";

/// A page of one tier's logs in a time range, oldest first. Served by `agent_logs_tier_created_at_idx`.
pub const TIER_PAGE: &str =
    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
     WHERE tier = $1 AND created_at >= $2 AND created_at < $3 AND (created_at, id) > ($4, $5)
     ORDER BY created_at ASC, id ASC
     LIMIT $6";

/// Moves one batch of a tier's oldest rows to the next tier.
pub const DEMOTE_BATCH: &str = "UPDATE agent_logs SET tier = $3, updated_at = $4
     WHERE id IN (SELECT id FROM agent_logs WHERE tier = $1 AND created_at < $2 ORDER BY created_at LIMIT $5)";

/// Deletes one batch of the cold tier's oldest rows.
pub const PURGE_BATCH: &str = "DELETE FROM agent_logs
     WHERE id IN (SELECT id FROM agent_logs WHERE tier = $1 AND created_at < $2 ORDER BY created_at LIMIT $3)";

impl Backend {
    pub(crate) async fn append_agent_logs(&self, logs: &[NewAgentLog]) -> DbResult<Vec<Uuid>> {
        if logs.len() > MAX_BATCH {
            return Err(DbError::Invalid(format!("a batch holds at most {MAX_BATCH} logs")));
        }
        for log in logs {
            check(log)?;
        }
        let now = now_micros();
        let mut ids = Vec::with_capacity(logs.len());
        let mut tx = self.begin_write().await?;
        for log in logs {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO agent_logs
                   (id, user_id, session_id, level, category, content, metadata, tier, created_at, updated_at)
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
            .map_err(missing_parent_is_not_found)?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub(crate) async fn list_session_logs(
        &self,
        user_id: Uuid,
        session_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<AgentLog>> {
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, CursorKind::SessionLogs, Uuid::nil())?.unwrap_or(Cursor::OLDEST);
        let mut items = sqlx::query_as::<_, AgentLog>(SESSION_PAGE)
            .bind(session_id)
            .bind(user_id)
            .bind(after.at)
            .bind(after.id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |l| {
            Cursor { at: l.created_at, id: l.id }.encode(CursorKind::SessionLogs, Uuid::nil())
        });
        Ok(Page { items, next })
    }

    pub(crate) async fn list_tier_logs(
        &self,
        tier: Tier,
        from: i64,
        to: i64,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<AgentLog>> {
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, CursorKind::TierLogs, Uuid::nil())?.unwrap_or(Cursor::OLDEST);
        let mut items = sqlx::query_as::<_, AgentLog>(TIER_PAGE)
            .bind(tier.as_str())
            .bind(from)
            .bind(to)
            .bind(after.at)
            .bind(after.id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |l| {
            Cursor { at: l.created_at, id: l.id }.encode(CursorKind::TierLogs, Uuid::nil())
        });
        Ok(Page { items, next })
    }

    pub(crate) async fn age_agent_logs(&self, tier: Tier, older_than: i64) -> DbResult<u64> {
        let mut total = 0u64;
        loop {
            let done = match tier.next() {
                Some(next) => {
                    sqlx::query(DEMOTE_BATCH)
                        .bind(tier.as_str())
                        .bind(older_than)
                        .bind(next.as_str())
                        .bind(now_micros())
                        .bind(TIER_BATCH)
                        .execute(&self.pool)
                        .await?
                }
                None => {
                    sqlx::query(PURGE_BATCH)
                        .bind(tier.as_str())
                        .bind(older_than)
                        .bind(TIER_BATCH)
                        .execute(&self.pool)
                        .await?
                }
            };
            total += done.rows_affected();
            if done.rows_affected() < TIER_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
