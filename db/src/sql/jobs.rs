//! The record of background job runs.

use uuid::Uuid;

use super::Backend;
use crate::clock::now_micros;
use crate::conversations::check_limit;
use crate::error::DbResult;
use crate::jobs::JobRun;

impl Backend {
    pub(crate) async fn start_job_run(&self, job: &str) -> DbResult<Uuid> {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO job_runs (id, job, status, started_at) VALUES ($1, $2, 'running', $3)")
            .bind(id)
            .bind(job)
            .bind(now_micros())
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    pub(crate) async fn finish_job_run(&self, id: Uuid, ok: bool, detail: &serde_json::Value) -> DbResult<()> {
        sqlx::query("UPDATE job_runs SET status = $2, detail = $3, finished_at = $4 WHERE id = $1")
            .bind(id)
            .bind(if ok { "succeeded" } else { "failed" })
            .bind(sqlx::types::Json(detail))
            .bind(now_micros())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn recent_job_runs(&self, job: &str, limit: u32) -> DbResult<Vec<JobRun>> {
        let limit = check_limit(limit)?;
        Ok(sqlx::query_as::<_, JobRun>(
            "SELECT id, job, status, detail, started_at, finished_at FROM job_runs
             WHERE job = $1 ORDER BY started_at DESC LIMIT $2",
        )
        .bind(job)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
