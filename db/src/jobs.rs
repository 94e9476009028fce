//! The record of background job runs (`job_runs`): each run is inserted as running and finished as
//! succeeded or failed with a JSON detail, so admins and tests can see what ran and when.

use serde::{Deserialize, Serialize};

/// One run of a background job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct JobRun {
    pub id: uuid::Uuid,
    pub job: String,
    pub status: String,
    #[sqlx(json)]
    pub detail: serde_json::Value,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}
