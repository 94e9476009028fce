//! Agent logs: append a batch, list a user's own, summarise hot groups, age and purge in batches.

use uuid::Uuid;

use super::{Backend, Db};
use crate::agent_logs::{check, LogFilter, NewAgentLog, NewSummary, SummaryGroup, MAX_BATCH};
use crate::clock::now_micros;
use crate::conversations::{check_limit, page_end};
use crate::cursor::{Cursor, CursorKind};
use crate::error::{missing_parent_is_not_found, DbError, DbResult};
use crate::model::{AgentLog, LogLevel, LogSummary, Page, Tier};

/// A page of one agent session's logs (the user's own), oldest first, optionally of one tier and
/// level. Served by `agent_logs_user_session_created_idx`.
pub const SESSION_PAGE: &str =
    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
     WHERE session_id = $1 AND user_id = $2 AND (created_at, id) > ($3, $4)
       AND ($5 IS NULL OR tier = $5) AND ($6 IS NULL OR level = $6)
     ORDER BY created_at ASC, id ASC
     LIMIT $7";

/// The oldest hot log older than a time: whose agent session the summariser takes next. Served by
/// `agent_logs_tier_created_at_idx`.
pub const NEXT_TO_SUMMARISE: &str = "SELECT user_id, session_id FROM agent_logs
     WHERE tier = 'hot' AND created_at < $1
     ORDER BY created_at ASC, id ASC
     LIMIT 1";

/// One agent session's hot logs older than a time, oldest first. Served by
/// `agent_logs_session_tier_idx`.
pub const SUMMARY_GROUP: &str =
    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
     WHERE session_id = $1 AND tier = 'hot' AND created_at < $2 AND user_id = $3
     ORDER BY created_at ASC, id ASC
     LIMIT $4";

/// Moves a summarised group to warm: exactly the rows from its first to its last log.
pub const WARM_GROUP: &str = "UPDATE agent_logs SET tier = 'warm', updated_at = $6
     WHERE session_id = $1 AND tier = 'hot' AND user_id = $2
       AND (created_at, id) >= ($3, $4) AND (created_at, id) <= ($5, $7)";

/// Moves one batch of a tier's rows older than a time to the next tier.
pub const DEMOTE_BATCH: &str = "UPDATE agent_logs SET tier = $3, updated_at = $4
     WHERE id IN (SELECT id FROM agent_logs WHERE tier = $1 AND created_at < $2 ORDER BY created_at LIMIT $5)";

/// Deletes one batch of the cold tier's rows older than a time.
pub const PURGE_BATCH: &str = "DELETE FROM agent_logs
     WHERE id IN (SELECT id FROM agent_logs WHERE tier = $1 AND created_at < $2 ORDER BY created_at LIMIT $3)";

/// A page of one agent session's summaries (the user's own), oldest first.
pub const SUMMARIES_PAGE: &str =
    "SELECT id, session_id, first_log_at, last_log_at, log_count, summary, source, model, created_at
     FROM agent_log_summaries
     WHERE user_id = $1 AND session_id = $2 AND (created_at, id) > ($3, $4)
     ORDER BY created_at ASC, id ASC
     LIMIT $5";

/// Inserts one checked log on `conn` (inside the caller's transaction); returns its id.
pub(crate) async fn insert(
    conn: &mut <Db as sqlx::Database>::Connection,
    log: &NewAgentLog,
    now: i64,
) -> DbResult<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO agent_logs (id, user_id, session_id, auth_session_id, level, category, content,
           metadata, tier, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(log.user_id)
    .bind(&log.session_id)
    .bind(log.auth_session_id)
    .bind(log.level.as_str())
    .bind(&log.category)
    .bind(&log.content)
    .bind(sqlx::types::Json(&log.metadata))
    .bind(log.tier.as_str())
    .bind(log.created_at.unwrap_or(now))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(missing_parent_is_not_found)?;
    Ok(id)
}

impl Backend {
    pub(crate) async fn append_agent_logs(&self, logs: &[NewAgentLog]) -> DbResult<Vec<Uuid>> {
        if logs.is_empty() || logs.len() > MAX_BATCH {
            return Err(DbError::Invalid(format!("a batch holds 1 to {MAX_BATCH} logs, not {}", logs.len())));
        }
        for (i, log) in logs.iter().enumerate() {
            check(log).map_err(|problem| DbError::Invalid(format!("entry {i}: {problem}")))?;
        }
        let now = now_micros();
        let mut ids = Vec::with_capacity(logs.len());
        let mut tx = self.begin_write().await?;
        for log in logs {
            ids.push(insert(&mut tx, log, now).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub(crate) async fn list_agent_logs(
        &self,
        user_id: Uuid,
        session_id: &str,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<AgentLog>> {
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, CursorKind::SessionLogs, Uuid::nil())?.unwrap_or(Cursor::OLDEST);
        let tier = filter.tier.map(Tier::as_str);
        let level = filter.level.map(LogLevel::as_str);
        let mut items = sqlx::query_as::<_, AgentLog>(SESSION_PAGE)
            .bind(session_id)
            .bind(user_id)
            .bind(after.at)
            .bind(after.id)
            .bind(tier)
            .bind(level)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |l| {
            Cursor { at: l.created_at, id: l.id }.encode(CursorKind::SessionLogs, Uuid::nil())
        });
        Ok(Page { items, next })
    }

    pub(crate) async fn next_summary_group(&self, older_than: i64, limit: u32) -> DbResult<Option<SummaryGroup>> {
        let mut conn = self.pool.acquire().await?;
        let Some((user_id, session_id)) =
            sqlx::query_as::<_, (Uuid, String)>(NEXT_TO_SUMMARISE).bind(older_than).fetch_optional(&mut *conn).await?
        else {
            return Ok(None);
        };
        let logs = sqlx::query_as::<_, AgentLog>(SUMMARY_GROUP)
            .bind(&session_id)
            .bind(older_than)
            .bind(user_id)
            .bind(i64::from(limit.max(1)))
            .fetch_all(&mut *conn)
            .await?;
        Ok((!logs.is_empty()).then_some(SummaryGroup { user_id, session_id, logs }))
    }

    pub(crate) async fn save_summary(&self, group: &SummaryGroup, summary: &NewSummary, now: i64) -> DbResult<bool> {
        let (Some(first), Some(last)) = (group.logs.first(), group.logs.last()) else {
            return Err(DbError::Invalid("a summary needs at least one log".into()));
        };
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(WARM_GROUP)
            .bind(&group.session_id)
            .bind(group.user_id)
            .bind(first.created_at)
            .bind(first.id)
            .bind(last.created_at)
            .bind(now)
            .bind(last.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved != group.logs.len() as u64 {
            // Another run summarised some of them, or logs were added inside the range since the
            // group was read: change nothing, the next read sees the group as it is.
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO agent_log_summaries
               (id, user_id, session_id, first_log_at, last_log_at, log_count, summary, source, model, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(Uuid::now_v7())
        .bind(group.user_id)
        .bind(&group.session_id)
        .bind(first.created_at)
        .bind(last.created_at)
        .bind(i32::try_from(group.logs.len()).unwrap_or(i32::MAX))
        .bind(&summary.text)
        .bind(summary.source.as_str())
        .bind(summary.model.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(missing_parent_is_not_found)?;
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn list_summaries(
        &self,
        user_id: Uuid,
        session_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<LogSummary>> {
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, CursorKind::Summaries, Uuid::nil())?.unwrap_or(Cursor::OLDEST);
        let mut items = sqlx::query_as::<_, LogSummary>(SUMMARIES_PAGE)
            .bind(user_id)
            .bind(session_id)
            .bind(after.at)
            .bind(after.id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |s| {
            Cursor { at: s.created_at, id: s.id }.encode(CursorKind::Summaries, Uuid::nil())
        });
        Ok(Page { items, next })
    }

    pub(crate) async fn demote_logs(&self, tier: Tier, older_than: i64, now: i64, batch: u32) -> DbResult<u64> {
        let Some(next) = tier.next() else {
            return Err(DbError::Invalid("cold logs are purged, not demoted".into()));
        };
        let done = sqlx::query(DEMOTE_BATCH)
            .bind(tier.as_str())
            .bind(older_than)
            .bind(next.as_str())
            .bind(now)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn purge_logs(&self, older_than: i64, batch: u32) -> DbResult<u64> {
        let done = sqlx::query(PURGE_BATCH)
            .bind(Tier::Cold.as_str())
            .bind(older_than)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
