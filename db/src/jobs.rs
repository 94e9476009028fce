//! The record of background job runs (`job_runs`): each run is claimed as running and finished as
//! succeeded or failed with a JSON detail (what it did, how long it took), so admins and tests can
//! see what ran and when. A scheduled run is claimed with its scheduled time and attempt number,
//! which are unique together: of several instances on one database, one runs each schedule.

use serde::{Deserialize, Serialize};

/// The session sweep's runs are recorded under this name.
pub const SESSION_SWEEP: &str = "session-sweep";
/// Tier management's.
pub const TIER_MANAGEMENT: &str = "tier-management";
/// Log summarisation's.
pub const LOG_SUMMARISATION: &str = "log-summarisation";
/// The cold-start collect's.
pub const COLD_START_COLLECT: &str = "cold-start-collect";

/// The jobs an admin may start by hand (each ended session's collect runs on its own).
pub const RUN_BY_HAND: [&str; 4] = [SESSION_SWEEP, TIER_MANAGEMENT, LOG_SUMMARISATION, COLD_START_COLLECT];

/// Every name runs are recorded under, in the order the admin area lists them.
pub const NAMES: [&str; 5] =
    [SESSION_SWEEP, TIER_MANAGEMENT, LOG_SUMMARISATION, COLD_START_COLLECT, crate::gc::SESSION_COLLECT];

/// Runs the admin area shows per job.
pub const RECENT_RUNS: u32 = 10;

/// How a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    /// The spelling stored in `job_runs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }
}

impl TryFrom<String> for RunStatus {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            other => Err(format!("unknown run status {other:?}")),
        }
    }
}

/// One run of a background job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct JobRun {
    pub id: uuid::Uuid,
    pub job: String,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    #[sqlx(json)]
    pub detail: serde_json::Value,
    /// The schedule's time this run is for; none for runs nobody scheduled (cold start, a
    /// session's collect).
    pub scheduled_for: Option<i64>,
    /// 1 for the first try, then one more per retry.
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

impl crate::Store {
    /// The latest `limit` runs of every job, by job in [`NAMES`] order, newest first: one statement.
    pub async fn recent_runs_of_every_job(&self, limit: u32) -> crate::DbResult<Vec<(&'static str, Vec<JobRun>)>> {
        let runs = dispatch!(self.recent_runs_of_every_job(limit))?;
        Ok(NAMES.iter().map(|name| (*name, runs.iter().filter(|r| r.job == *name).cloned().collect())).collect())
    }
}
