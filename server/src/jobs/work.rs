//! What each job does, in bounded batches (see `mosaic_db::gc::in_batches`).

use std::time::{Instant, SystemTime};

use mosaic_db::gc::in_batches;
use mosaic_db::model::Tier;
use mosaic_db::DbResult;
use serde_json::{json, Value};

use super::Jobs;

impl Jobs {
    /// Runs one batch operation until it is done (or shutdown), with this job's batch size and pause.
    async fn batches<F, Fut>(&self, batch: F) -> DbResult<u64>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = DbResult<u64>>,
    {
        in_batches(self.settings.batch_rows, self.settings.pace, || self.stopping(), batch).await
    }

    /// The session sweep (and, at cold start, the full collect): hot logs of sessions that expired
    /// or vanished are demoted, then expired sessions and verifications are deleted, avatar files
    /// nobody uses removed, job runs past retention deleted. The cold start also settles replies a
    /// dead process left streaming.
    pub(super) async fn sweep(&self, cold_start: bool) -> DbResult<Value> {
        let now = self.clock.now();
        let rows = self.settings.batch_rows;
        let store = &self.store;
        let mut detail = json!({});
        // One instance serves a SQLite database, so what is streaming from before this process is
        // dead now; with PostgreSQL, other instances may be writing, and the leases decide (the
        // chat service settles replies whose instance's lease ran out).
        if cold_start && store.engine() == mosaic_db::Engine::Sqlite {
            let interrupted = store.recover_interrupted_replies(self.started_at).await?;
            detail["repliesInterrupted"] = json!(interrupted);
        }
        // Logs first: a session deleted before its logs were demoted would leave them to the
        // "vanished" half of the same statement on the next run, which is fine but slower. At
        // shutdown the step in progress stops after its batch and the later ones do no batch at
        // all (the run is recorded as stopped, with these counts); the next run does the rest.
        detail["logsDemoted"] = json!(self.batches(|| store.demote_orphaned_logs(now, rows)).await?);
        detail["sessionsDeleted"] = json!(self.batches(|| store.delete_expired_sessions(now, rows)).await?);
        detail["verificationsDeleted"] = json!(self.batches(|| store.delete_expired_verifications(now, rows)).await?);
        detail["attemptsDeleted"] = json!(self.batches(|| store.delete_expired_attempts(now, rows)).await?);
        let keep_after = now - self.settings.keep_runs;
        detail["jobRunsDeleted"] = json!(self.batches(|| store.delete_job_runs_before(keep_after, rows)).await?);
        if self.stopping() {
            return Ok(detail);
        }
        let grace = SystemTime::now().checked_sub(self.settings.file_grace).unwrap_or(SystemTime::UNIX_EPOCH);
        detail["filesRemoved"] = json!(self.avatars.remove_unused(store, grace).await?);
        Ok(detail)
    }

    /// Tier management: warm logs older than the warm age go cold, cold ones older than the cold age
    /// are purged. Reports the rows moved and the rate.
    pub(super) async fn tiers(&self) -> DbResult<Value> {
        let now = self.clock.now();
        let rows = self.settings.batch_rows;
        let store = &self.store;
        let started = Instant::now();
        let ages = self.settings.ages;
        let cooled = self.batches(|| store.demote_logs(Tier::Warm, now - ages.warm, now, rows)).await?;
        let purged = self.batches(|| store.purge_logs(now - ages.cold, rows)).await?;
        let seconds = started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 { ((cooled + purged) as f64 / seconds).round() } else { 0.0 };
        Ok(json!({ "logsCooled": cooled, "logsPurged": purged, "rowsPerSecond": rate }))
    }

    /// Summarisation: each agent session's hot logs older than the hot age, in groups of at most
    /// one batch, summarised (by the model, or extractively when it is missing or fails) and moved
    /// to warm with the summary in one transaction.
    pub(super) async fn summarise(&self) -> DbResult<Value> {
        let now = self.clock.now();
        let older_than = now - self.settings.ages.hot;
        let (mut groups, mut logs, mut by_model, mut extractive, mut stale) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut fallback: Option<String> = None;
        while !self.stopping() {
            let Some(group) = self.store.next_summary_group(older_than, self.settings.batch_rows).await? else {
                break;
            };
            let (summary, failed) = self.summariser.summarise(&group).await;
            if let Some(why) = failed {
                fallback.get_or_insert(why);
            }
            let started = std::time::Instant::now();
            if self.store.save_summary(&group, &summary, self.clock.now()).await? {
                groups += 1;
                logs += group.logs.len() as u64;
                match summary.source {
                    mosaic_db::model::SummarySource::Model => by_model += 1,
                    mosaic_db::model::SummarySource::Extractive => extractive += 1,
                }
            } else {
                stale += 1;
                if stale > 100 {
                    return Err(mosaic_db::DbError::Internal("summary groups keep changing under the job".into()));
                }
            }
            tokio::time::sleep(self.settings.pace.rest_after(started.elapsed())).await;
        }
        let mut detail = json!({
            "groups": groups,
            "logsSummarised": logs,
            "modelSummaries": by_model,
            "extractiveSummaries": extractive,
            "groupsReread": stale,
        });
        if let Some(why) = fallback {
            detail["fallback"] = json!(format!("extractive summaries were written because {why}"));
        }
        Ok(detail)
    }
}
