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
/// How fast a job may go. After each batch it rests at least `min_pause` (which lets requests
/// waiting for the write lock go first), and long enough that it works at most `duty_percent` of
/// the time: on two cores a job working flat out took half the machine and doubled the dashboard's
/// p99 (see the README's job benchmark); at a quarter of one core's time it stays in the noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    pub min_pause: Duration,
    /// 1 to 100.
    pub duty_percent: u32,
}

impl Pace {
    /// At least 5 ms between batches, working at most a quarter of the time.
    pub const DEFAULT: Pace = Pace { min_pause: Duration::from_millis(5), duty_percent: 25 };
    /// No rest at all (tests).
    pub const FLAT_OUT: Pace = Pace { min_pause: Duration::ZERO, duty_percent: 100 };

    /// The rest after a batch that took `worked`.
    pub fn rest_after(self, worked: Duration) -> Duration {
        let duty = self.duty_percent.clamp(1, 100);
        (worked * (100 - duty) / duty).max(self.min_pause)
    }
}
/// The job name a session's collect is recorded under in `job_runs`.
pub const SESSION_COLLECT: &str = "session-collect";

/// Runs `batch` (which handles at most `rows` rows and says how many it did) until it does fewer,
/// resting between batches at `pace`. When `stop` says so it runs no further batch (none at all if
/// it said so before the first), so a stopped job ends after the batch it was in. Returns the total.
pub async fn in_batches<F, Fut>(rows: u32, pace: Pace, stop: impl Fn() -> bool, mut batch: F) -> DbResult<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = DbResult<u64>>,
{
    let mut total = 0;
    if stop() {
        return Ok(total);
    }
    loop {
        let started = Instant::now();
        let done = batch().await?;
        total += done;
        if done < u64::from(rows) || stop() {
            return Ok(total);
        }
        tokio::time::sleep(pace.rest_after(started.elapsed())).await;
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
            in_batches(BATCH_ROWS, Pace::DEFAULT, || false, || self.demote_session_logs(session_id, now, BATCH_ROWS))
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
    /// that ended them answers at once. Every way a session ends (sign-out, revoke, ban) calls it. A failure is logged (and recorded in `job_runs`); the sweep
    /// demotes whatever it left.
    pub(crate) fn collect_ended_sessions(&self, sessions: impl IntoIterator<Item = Uuid>) {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Pace;

    #[test]
    fn a_job_rests_long_enough_to_keep_to_its_duty() {
        let ms = Duration::from_millis;
        assert_eq!(Pace::DEFAULT.rest_after(ms(40)), ms(120), "a quarter of the time working");
        assert_eq!(Pace::DEFAULT.rest_after(ms(1)), ms(5), "never less than the minimum pause");
        assert_eq!(Pace { min_pause: ms(0), duty_percent: 50 }.rest_after(ms(30)), ms(30));
        assert_eq!(Pace::FLAT_OUT.rest_after(ms(30)), ms(0));
    }
}
