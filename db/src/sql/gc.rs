//! The collector's batches: each statement touches at most `batch` rows, so a sweep is many short
//! transactions instead of one long lock.

use uuid::Uuid;

use super::Backend;
use crate::error::DbResult;

/// Demotes one batch of a sign-in session's hot logs to warm. Served by
/// `agent_logs_auth_session_hot_idx`.
pub const DEMOTE_SESSION_LOGS: &str = "UPDATE agent_logs SET tier = 'warm', updated_at = $2
     WHERE id IN (SELECT id FROM agent_logs WHERE auth_session_id = $1 AND tier = 'hot' LIMIT $3)";

/// Demotes one batch of hot logs whose sign-in session expired or is gone. Served by
/// `agent_logs_auth_session_hot_idx`.
pub const DEMOTE_ORPHANED_LOGS: &str = "UPDATE agent_logs SET tier = 'warm', updated_at = $1
     WHERE id IN (
       SELECT l.id FROM agent_logs l
       WHERE l.tier = 'hot' AND l.auth_session_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = l.auth_session_id AND s.expires_at > $1)
       LIMIT $2)";

/// Deletes one batch of sessions expired at a time. Served by `sessions_expires_at_idx`.
pub const DELETE_EXPIRED_SESSIONS: &str =
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= $1 LIMIT $2)";

/// Deletes one batch of verifications past their expiry. Served by `verifications_expires_at_idx`.
pub const DELETE_EXPIRED_VERIFICATIONS: &str =
    "DELETE FROM verifications WHERE id IN (SELECT id FROM verifications WHERE expires_at <= $1 LIMIT $2)";

/// Deletes one batch of job runs started before a time. Served by `job_runs_started_at_idx`.
pub const DELETE_OLD_JOB_RUNS: &str =
    "DELETE FROM job_runs WHERE id IN (SELECT id FROM job_runs WHERE started_at < $1 LIMIT $2)";

impl Backend {
    pub(crate) async fn demote_session_logs(&self, session_id: Uuid, now: i64, batch: u32) -> DbResult<u64> {
        let done = sqlx::query(DEMOTE_SESSION_LOGS)
            .bind(session_id)
            .bind(now)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn demote_orphaned_logs(&self, now: i64, batch: u32) -> DbResult<u64> {
        let done = sqlx::query(DEMOTE_ORPHANED_LOGS).bind(now).bind(i64::from(batch)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_expired_sessions(&self, now: i64, batch: u32) -> DbResult<u64> {
        let done = sqlx::query(DELETE_EXPIRED_SESSIONS).bind(now).bind(i64::from(batch)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_expired_verifications(&self, now: i64, batch: u32) -> DbResult<u64> {
        let done =
            sqlx::query(DELETE_EXPIRED_VERIFICATIONS).bind(now).bind(i64::from(batch)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn delete_job_runs_before(&self, before: i64, batch: u32) -> DbResult<u64> {
        let done = sqlx::query(DELETE_OLD_JOB_RUNS).bind(before).bind(i64::from(batch)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
