//! The record of background job runs, and the claim that makes a schedule run once.

use uuid::Uuid;

use super::Backend;
use crate::conversations::check_limit;
use crate::error::DbResult;
use crate::jobs::{JobRun, RunStatus, NAMES};

/// Claims a run: inserted unless another instance already claimed the same (job, scheduled time,
/// attempt), in which case nothing is returned.
pub const CLAIM: &str = "INSERT INTO job_runs (id, job, status, scheduled_for, attempt, started_at)
     VALUES ($1, $2, 'running', $3, $4, $5)
     ON CONFLICT (job, scheduled_for, attempt) DO NOTHING
     RETURNING id";

/// The latest runs of every job ($1 to $5: [`NAMES`]; $6 runs each), in one statement: one
/// index range of `job_runs_job_started_idx` per job.
pub const EVERY_JOB_RECENT: &str = "
    SELECT * FROM (SELECT id, job, status, detail, scheduled_for, attempt, started_at, finished_at FROM job_runs
                   WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $6) AS a
    UNION ALL
    SELECT * FROM (SELECT id, job, status, detail, scheduled_for, attempt, started_at, finished_at FROM job_runs
                   WHERE job = $2 ORDER BY started_at DESC, id DESC LIMIT $6) AS b
    UNION ALL
    SELECT * FROM (SELECT id, job, status, detail, scheduled_for, attempt, started_at, finished_at FROM job_runs
                   WHERE job = $3 ORDER BY started_at DESC, id DESC LIMIT $6) AS c
    UNION ALL
    SELECT * FROM (SELECT id, job, status, detail, scheduled_for, attempt, started_at, finished_at FROM job_runs
                   WHERE job = $4 ORDER BY started_at DESC, id DESC LIMIT $6) AS d
    UNION ALL
    SELECT * FROM (SELECT id, job, status, detail, scheduled_for, attempt, started_at, finished_at FROM job_runs
                   WHERE job = $5 ORDER BY started_at DESC, id DESC LIMIT $6) AS e";

impl Backend {
    pub(crate) async fn claim_job_run(
        &self,
        job: &str,
        scheduled_for: Option<i64>,
        attempt: i32,
        now: i64,
    ) -> DbResult<Option<Uuid>> {
        Ok(sqlx::query_scalar(CLAIM)
            .bind(Uuid::now_v7())
            .bind(job)
            .bind(scheduled_for)
            .bind(attempt)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(crate) async fn finish_job_run(
        &self,
        id: Uuid,
        status: RunStatus,
        detail: &serde_json::Value,
        now: i64,
    ) -> DbResult<()> {
        sqlx::query("UPDATE job_runs SET status = $2, detail = $3, finished_at = $4 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(sqlx::types::Json(detail))
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn recent_job_runs(&self, job: &str, limit: u32) -> DbResult<Vec<JobRun>> {
        let limit = check_limit(limit)?;
        Ok(sqlx::query_as::<_, JobRun>(
            "SELECT id, job, status, detail, scheduled_for, attempt, started_at, finished_at FROM job_runs
             WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
        )
        .bind(job)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn recent_runs_of_every_job(&self, limit: u32) -> DbResult<Vec<JobRun>> {
        let limit = check_limit(limit)?;
        let mut query = sqlx::query_as::<_, JobRun>(EVERY_JOB_RECENT);
        for name in NAMES {
            query = query.bind(name);
        }
        Ok(query.bind(limit).fetch_all(&self.pool).await?)
    }
}
