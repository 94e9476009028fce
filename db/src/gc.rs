//! Collection procedures composed of the data layer's bounded batches: what ending a sign-in session
//! cleans (the original's per-session `collect`), and the batch loop every sweep uses.

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::error::DbResult;
use crate::jobs::RunStatus;
use crate::Store;

/// Rows per statement in every collection and tiering batch: small enough that one batch holds the
/// SQLite write lock for a few milliseconds.
pub const BATCH_ROWS: u32 = 500;
/// The pause between two batches, which lets requests waiting for the write lock go first.
pub const BATCH_PAUSE: Duration = Duration::from_millis(5);
/// The job name a session's collect is recorded under in `job_runs`.
pub const SESSION_COLLECT: &str = "session-collect";

/// Runs `batch` (which handles at most `rows` rows and says how many it did) until it does fewer,
/// pausing between batches, and stops early (after a whole batch) when `stop` says so. Returns the
/// total.
pub async fn in_batches<F, Fut>(rows: u32, pause: Duration, stop: impl Fn() -> bool, mut batch: F) -> DbResult<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = DbResult<u64>>,
{
    let mut total = 0;
    loop {
        let done = batch().await?;
        total += done;
        if done < u64::from(rows) || stop() {
            return Ok(total);
        }
        tokio::time::sleep(pause).await;
    }
}

impl Store {
    /// The per-session collect, run when a sign-in session ends (sign-out, revoke, ban): demotes the
    /// session's hot logs to warm in bounded batches and records the run in `job_runs` with what it
    /// cleaned, as `{sessionId, cleaned: {logsDemoted}, durationMs}`.
    pub async fn collect_session(&self, session_id: Uuid) -> DbResult<serde_json::Value> {
        let started = Instant::now();
        let now = crate::clock::now_micros();
        let run = self.claim_job_run(SESSION_COLLECT, None, 1, now).await?;
        let demoted =
            in_batches(BATCH_ROWS, BATCH_PAUSE, || false, || self.demote_session_logs(session_id, now, BATCH_ROWS))
                .await;
        let (status, detail) = match &demoted {
            Ok(n) => (
                RunStatus::Succeeded,
                json!({ "sessionId": session_id, "cleaned": { "logsDemoted": n }, "durationMs": started.elapsed().as_millis() as u64 }),
            ),
            Err(e) => (
                RunStatus::Failed,
                json!({ "sessionId": session_id, "error": e.to_string(), "durationMs": started.elapsed().as_millis() as u64 }),
            ),
        };
        if let Some(run) = run {
            self.finish_job_run(run, status, &detail, crate::clock::now_micros()).await?;
        }
        demoted.map(|_| detail)
    }

    /// Starts the per-session collect of sessions that just ended, in the background: the request
    /// that ended them answers at once. A failure is logged (and recorded in `job_runs`); the sweep
    /// demotes whatever it left.
    pub fn collect_ended_sessions(&self, sessions: impl IntoIterator<Item = Uuid>) {
        for session_id in sessions {
            let store = self.clone();
            tokio::spawn(async move {
                if let Err(e) = store.collect_session(session_id).await {
                    tracing::warn!(session = %session_id, error = %e, "a session's collect failed; the sweep will finish it");
                }
            });
        }
    }
}
