//! Background jobs, inside the server process: the session sweep, log tier management, log
//! summarisation on cron schedules, and the cold-start collect once the server listens.
//!
//! - **Recorded**: every run is a `job_runs` row, running → succeeded or failed, with a JSON detail
//!   of what it did (counts such as `sessionsDeleted`, `logsDemoted`, `filesRemoved`) and how long
//!   it took (`durationMs`).
//! - **Retried**: a failed run is tried again after a backoff that doubles, up to
//!   [`JobSettings::attempts`] in all; each attempt is its own row.
//! - **Once per schedule**: a scheduled run is claimed by inserting its (job, scheduled time,
//!   attempt), which is unique in `job_runs`. With several instances on one database the first insert
//!   wins and the others skip that time. A claimed row rather than a PostgreSQL advisory lock: it
//!   works the same on SQLite, it cannot be lost with a pooled connection, it needs no lock held for
//!   the run's length, and the claim is itself the record an admin reads.
//! - **Never in a request's way**: jobs work in batches of [`mosaic_db::gc::BATCH_ROWS`] rows, one
//!   short transaction each, resting between batches so that they work at most a quarter of the
//!   time ([`mosaic_db::gc::Pace`]); startup never waits for one.
//! - **Graceful**: at shutdown each job finishes the batch it is in and records the run as failed
//!   ("stopped by shutdown"); the next run does the rest.

pub mod schedule;
pub mod summarise;
mod work;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mosaic_db::jobs::RunStatus;
use mosaic_db::Store;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::media::avatar::Avatars;
pub use schedule::{Clock, ManualClock, Schedule, SystemClock};
pub use summarise::Summariser;

/// The jobs there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Expired sessions and verifications, orphaned avatar files, old job runs, and the hot logs of
    /// ended sessions (daily, 04:00).
    Sweep,
    /// Warm logs to cold after their age, cold ones purged after theirs (daily, 03:00).
    Tiers,
    /// Hot logs past their age summarised by session and moved to warm (every 6 hours).
    Summarise,
    /// The sweep's work plus settling replies a dead process left streaming; once, after listening.
    ColdStart,
}

impl Job {
    /// Every job, in the order the admin console lists them.
    pub const ALL: [Job; 4] = [Job::Sweep, Job::Tiers, Job::Summarise, Job::ColdStart];

    /// The job recorded under `name`.
    pub fn named(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|job| job.name() == name)
    }

    /// The name runs are recorded under.
    pub fn name(self) -> &'static str {
        match self {
            Job::Sweep => mosaic_db::jobs::SESSION_SWEEP,
            Job::Tiers => mosaic_db::jobs::TIER_MANAGEMENT,
            Job::Summarise => mosaic_db::jobs::LOG_SUMMARISATION,
            Job::ColdStart => mosaic_db::jobs::COLD_START_COLLECT,
        }
    }
}

/// How old logs get before they move on, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogAges {
    /// Hot logs older than this are summarised and move to warm (24 hours).
    pub hot: i64,
    /// Warm logs older than this move to cold (30 days).
    pub warm: i64,
    /// Cold logs older than this are purged (90 days).
    pub cold: i64,
}

/// The jobs' settings, from the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSettings {
    /// SESSION_GC_CRON; `None` when turned off.
    pub sweep: Option<Schedule>,
    /// TIER_MANAGEMENT_CRON.
    pub tiers: Option<Schedule>,
    /// SUMMARIZATION_CRON.
    pub summarise: Option<Schedule>,
    /// Whether the cold-start collect runs (MOSAIC_COLD_START_COLLECT).
    pub cold_start: bool,
    pub ages: LogAges,
    /// Job runs older than this (microseconds) are deleted by the sweep.
    pub keep_runs: i64,
    /// Tries per scheduled run, the first included.
    pub attempts: u32,
    /// The wait before the first retry; each later one waits twice as long as the one before.
    pub backoff: Duration,
    /// Rows per batch, and how fast batches follow one another.
    pub batch_rows: u32,
    pub pace: mosaic_db::gc::Pace,
    /// Avatar files nobody uses are removed once they are this old (so an upload in progress,
    /// written before the user row points to it, is never taken).
    pub file_grace: Duration,
}

/// The original's schedules: the sweep daily at 04:00, tiers daily at 03:00, summaries every 6 hours.
pub const DEFAULT_SWEEP_CRON: &str = "0 4 * * *";
/// See [`DEFAULT_SWEEP_CRON`].
pub const DEFAULT_TIERS_CRON: &str = "0 3 * * *";
/// See [`DEFAULT_SWEEP_CRON`].
pub const DEFAULT_SUMMARISE_CRON: &str = "0 */6 * * *";

const HOUR: i64 = 3600 * mosaic_db::clock::SECOND;
const DAY: i64 = 24 * HOUR;

impl Default for JobSettings {
    /// The original's schedules and ages (hot 24 h, warm 30 days, cold 90 days), runs kept 30 days,
    /// 3 attempts 30 s apart and doubling, batches of 500 rows working at most a quarter of the time.
    fn default() -> JobSettings {
        let schedule = |text| Schedule::parse(text).ok();
        JobSettings {
            sweep: schedule(DEFAULT_SWEEP_CRON),
            tiers: schedule(DEFAULT_TIERS_CRON),
            summarise: schedule(DEFAULT_SUMMARISE_CRON),
            cold_start: true,
            ages: LogAges { hot: 24 * HOUR, warm: 30 * DAY, cold: 90 * DAY },
            keep_runs: 30 * DAY,
            attempts: 3,
            backoff: Duration::from_secs(30),
            batch_rows: mosaic_db::gc::BATCH_ROWS,
            pace: mosaic_db::gc::Pace::DEFAULT,
            file_grace: Duration::from_secs(3600),
        }
    }
}

/// The background jobs of one server process.
pub struct Jobs {
    store: Store,
    /// When this process started: replies streaming since before it belong to a dead process.
    started_at: i64,
    clock: Arc<dyn Clock>,
    settings: JobSettings,
    avatars: Avatars,
    summariser: Summariser,
    stop: watch::Sender<bool>,
    /// Runs in progress, to wait for at shutdown.
    running: Arc<tokio::sync::Semaphore>,
}

/// Most runs in progress at once (one per job); shutdown waits until all permits are back.
const MAX_RUNNING: u32 = 8;

impl Jobs {
    /// The jobs over `store` of a process started at `started_at`, reading time from `clock`.
    pub fn new(
        store: Store,
        started_at: i64,
        clock: Arc<dyn Clock>,
        settings: JobSettings,
        avatars: Avatars,
        summariser: Summariser,
    ) -> Arc<Jobs> {
        let (stop, _) = watch::channel(false);
        Arc::new(Jobs {
            store,
            started_at,
            clock,
            settings,
            avatars,
            summariser,
            stop,
            running: Arc::new(tokio::sync::Semaphore::new(MAX_RUNNING as usize)),
        })
    }

    /// Whether shutdown has begun: batches check it between batches.
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Starts the background work: the cold-start collect (when enabled) and one scheduler per
    /// scheduled job. Call it after the server listens; it returns at once.
    pub fn start(self: &Arc<Self>) {
        if self.settings.cold_start {
            let jobs = self.clone();
            tokio::spawn(async move { jobs.run(Job::ColdStart, None).await });
        }
        for (job, schedule) in [
            (Job::Sweep, &self.settings.sweep),
            (Job::Tiers, &self.settings.tiers),
            (Job::Summarise, &self.settings.summarise),
        ] {
            if let Some(schedule) = schedule.clone() {
                let jobs = self.clone();
                tokio::spawn(async move { jobs.schedule(job, schedule).await });
            }
        }
    }

    /// Waits for each time `schedule` fires and runs `job` for it, until shutdown.
    async fn schedule(self: Arc<Self>, job: Job, schedule: Schedule) {
        let mut stop = self.stop.subscribe();
        let mut after = self.clock.now();
        loop {
            let Some(at) = schedule.next_after(after) else {
                tracing::warn!(job = job.name(), schedule = schedule.as_str(), "the schedule fires no more");
                return;
            };
            let wait = Duration::from_micros(u64::try_from(at - self.clock.now()).unwrap_or(0));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            let jobs = self.clone();
            // Runs do not delay the next firing's wait; a slow run and the next one simply overlap
            // in time, each claimed under its own scheduled time.
            tokio::spawn(async move { jobs.run(job, Some(at)).await });
            after = at;
        }
    }

    /// Runs `job` for `scheduled_for` (or unscheduled), retrying a failure with backoff. Returns
    /// the last attempt's status and detail, or `None` when another instance claimed the run.
    pub async fn run(&self, job: Job, scheduled_for: Option<i64>) -> Option<(RunStatus, Value)> {
        let _running = self.running.clone().acquire_owned().await.ok()?;
        let mut wait = self.settings.backoff;
        let mut last = None;
        for attempt in 1..=self.settings.attempts.max(1) {
            if attempt > 1 {
                let mut stop = self.stop.subscribe();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|stopping| *stopping) => break,
                }
                wait = wait.saturating_mul(2);
            }
            let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
            let outcome = self.attempt(job, scheduled_for, attempt).await;
            match outcome {
                None => return last,
                Some((RunStatus::Failed, detail)) if !self.stopping() => last = Some((RunStatus::Failed, detail)),
                Some(done) => return Some(done),
            }
        }
        last
    }

    /// One attempt: claim, work, record. `None` when the claim was lost.
    async fn attempt(&self, job: Job, scheduled_for: Option<i64>, attempt: i32) -> Option<(RunStatus, Value)> {
        let run = match self.store.claim_job_run(job.name(), scheduled_for, attempt, self.clock.now()).await {
            Ok(Some(run)) => run,
            Ok(None) => {
                tracing::debug!(job = job.name(), "claimed by another instance");
                return None;
            }
            Err(e) => {
                tracing::error!(job = job.name(), error = %e, "cannot record a job run; skipped");
                return Some((RunStatus::Failed, json!({ "error": e.to_string() })));
            }
        };
        let started = Instant::now();
        let result = self.work(job).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, mut detail) = match result {
            Ok(detail) if self.stopping() => {
                (RunStatus::Failed, json!({ "error": "stopped by shutdown after its current batch", "done": detail }))
            }
            Ok(detail) => (RunStatus::Succeeded, detail),
            Err(e) => (RunStatus::Failed, json!({ "error": e })),
        };
        detail["durationMs"] = json!(duration_ms);
        detail["attempt"] = json!(attempt);
        let outcome = if status == RunStatus::Failed { "failed" } else { "succeeded" };
        metrics::counter!("mosaic_job_runs_total", "job" => job.name(), "status" => outcome).increment(1);
        metrics::histogram!("mosaic_job_run_duration_seconds", "job" => job.name())
            .record(started.elapsed().as_secs_f64());
        match status {
            RunStatus::Failed => tracing::warn!(job = job.name(), attempt, %detail, "job run failed"),
            _ => tracing::info!(job = job.name(), %detail, "job run finished"),
        }
        if let Err(e) = self.store.finish_job_run(run, status, &detail, self.clock.now()).await {
            tracing::error!(job = job.name(), error = %e, "cannot record the end of a job run");
        }
        Some((status, detail))
    }

    async fn work(&self, job: Job) -> Result<Value, String> {
        match job {
            Job::Sweep => self.sweep(false).await,
            Job::ColdStart => self.sweep(true).await,
            Job::Tiers => self.tiers().await,
            Job::Summarise => self.summarise().await,
        }
        .map_err(|e| e.to_string())
    }

    /// Starts a run of `job` now, outside its schedule (an admin's "run now"), in the background;
    /// it is recorded like any run, and retried the same way.
    pub fn run_now(self: &Arc<Self>, job: Job) {
        let jobs = self.clone();
        tokio::spawn(async move { jobs.run(job, None).await });
    }

    /// Shutdown: tells the jobs to stop after their current batch and waits for the runs in
    /// progress to record themselves, at most `within`. True when they all did.
    pub async fn shut_down(&self, within: Duration) -> bool {
        self.stop.send_replace(true);
        let all = self.running.clone();
        tokio::time::timeout(within, all.acquire_many_owned(MAX_RUNNING)).await.is_ok_and(|p| p.is_ok())
    }
}
