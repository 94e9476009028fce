//! Running an import: the uploaded file is read twice, one conversation at a time (constant memory
//! whatever its size). The first pass checks every entry and refuses the file at the first bad one,
//! naming it, before anything is written (unless the user asked to skip bad entries); the second
//! writes a batch of conversations per transaction. Progress goes to the import's row after every
//! batch (and every second while checking), which the progress page reads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mosaic_db::model::{AgentLog, ImportStatus};
use mosaic_db::portability::{
    check_log, ImportCounts, ImportedConversation, IMPORT_BATCH, LOG_BATCH, MAX_LISTED_PROBLEMS,
};
use mosaic_db::Store;
use tokio::runtime::Handle;
use uuid::Uuid;

use super::archive::{self, Entry};
use super::formats::{for_each_element, Source};

/// What kind of file was uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Mosaic's own archive (JSON Lines).
    Archive,
    /// A JSON array of ChatGPT conversations or Open WebUI chats.
    Array(Source),
}

impl Kind {
    /// The format's name, as the import row records it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Archive => "mosaic",
            Kind::Array(source) => source.name(),
        }
    }
}

/// An upload to import, once it is on disk.
pub struct Request {
    pub user_id: Uuid,
    pub job: Uuid,
    pub path: PathBuf,
    pub kind: Kind,
    pub skip_bad: bool,
}

/// Where an entry is, for messages: "conversation 3" (from 1, as people count), with the archive
/// line or the title when known.
fn located(index: usize, line: usize, problem: &str) -> String {
    if line > 0 {
        format!("conversation {} (line {line}): {problem}", index + 1)
    } else {
        format!("conversation {}: {problem}", index + 1)
    }
}

/// Hands every entry of the file to `each`, which returns false to stop.
fn entries(path: &Path, kind: Kind, each: &mut dyn FnMut(Entry) -> bool) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("the upload could not be read back: {e}"))?;
    match kind {
        Kind::Archive => archive::read(file, each),
        Kind::Array(_) => for_each_element(file, &mut |index, value| {
            let read = match Source::of(&value) {
                Some(source) => source.read(&value),
                None => {
                    Err("neither a ChatGPT conversation (no \"mapping\") nor an Open WebUI chat (no \"chat\")".into())
                }
            };
            each(Entry::Conversation { index, line: 0, read })
        }),
    }
}

/// Checks and imports, recording the outcome on the import's row; removes the upload after.
pub async fn run(store: Store, request: Request) {
    let path = request.path.clone();
    let job = request.job;
    let handle = Handle::current();
    let worker = store.clone();
    let outcome = tokio::task::spawn_blocking(move || import(&worker, &request, &handle)).await;
    if let Err(e) = outcome {
        tracing::error!(error = %e, %job, "the import stopped unexpectedly");
        let _ = store
            .update_import(
                job,
                ImportStatus::Failed,
                0,
                None,
                ImportCounts::default(),
                Some("The import stopped unexpectedly."),
            )
            .await;
    }
    let _ = tokio::fs::remove_file(&path).await;
}

fn import(store: &Store, r: &Request, rt: &Handle) {
    let progress = |status, done: usize, total: Option<usize>, counts, problem: Option<&str>| {
        let (done, total) = (done as i64, total.map(|t| t as i64));
        if let Err(e) = rt.block_on(store.update_import(r.job, status, done, total, counts, problem)) {
            tracing::warn!(error = %e, job = %r.job, "could not record the import's progress");
        }
    };
    let fail = |problem: String| progress(ImportStatus::Failed, 0, None, ImportCounts::default(), Some(&problem));

    // First pass: check everything.
    let (mut total, mut bad, mut refused) = (0usize, Vec::<String>::new(), None::<String>);
    let mut shown = Instant::now();
    let read = entries(&r.path, r.kind, &mut |entry| {
        let checked = match entry {
            Entry::Preference { .. } => return true,
            Entry::AgentLog { line, read } => read
                .and_then(|log| check_log(r.user_id, &log))
                .map_err(|problem| format!("agent log (line {line}): {problem}")),
            Entry::Conversation { index, line, read } => {
                total += 1;
                read.and_then(|mut c| c.check()).map_err(|problem| located(index, line, &problem))
            }
        };
        if let Err(problem) = checked {
            if !r.skip_bad {
                refused = Some(problem);
                return false;
            }
            bad.push(problem);
        }
        if shown.elapsed() > Duration::from_secs(1) {
            progress(ImportStatus::Checking, total, None, ImportCounts::default(), None);
            shown = Instant::now();
        }
        true
    });
    if let Some(problem) = refused {
        return fail(format!("Nothing was imported: {problem}. Fix the file, or import again skipping bad entries."));
    }
    if let Err(problem) = read {
        return fail(format!("Nothing was imported: {problem}."));
    }

    // Second pass: write, a batch per transaction.
    let mut counts = ImportCounts::default();
    progress(ImportStatus::Importing, 0, Some(total), counts, None);
    let (mut done, mut batch, mut failed) = (0usize, Vec::<ImportedConversation>::with_capacity(IMPORT_BATCH), None);
    let mut logs = Vec::<AgentLog>::with_capacity(LOG_BATCH);
    let write = |batch: &mut Vec<ImportedConversation>, counts: &mut ImportCounts| {
        let written = rt.block_on(store.import_conversations(r.user_id, batch));
        batch.clear();
        written.map(|n| counts.add(n))
    };
    let write_logs = |logs: &mut Vec<AgentLog>| {
        let written = rt.block_on(store.import_agent_logs(r.user_id, logs));
        logs.clear();
        written.map(|_| ())
    };
    let read = entries(&r.path, r.kind, &mut |entry| match entry {
        Entry::Preference { key, value } => {
            // Preferences a platform or admin locks, or keys this version does not know, are left.
            let _ = rt.block_on(store.set_preference(r.user_id, &key, &value));
            true
        }
        Entry::AgentLog { read, .. } => {
            if let Ok(log) = read.and_then(|log| check_log(r.user_id, &log).map(|()| log)) {
                logs.push(log);
            }
            if logs.len() >= LOG_BATCH {
                if let Err(e) = write_logs(&mut logs) {
                    failed = Some(e);
                    return false;
                }
            }
            true
        }
        Entry::Conversation { read, .. } => {
            done += 1;
            if let Ok(mut c) = read {
                if c.check().is_ok() {
                    batch.push(c);
                }
            }
            if batch.len() >= IMPORT_BATCH {
                if let Err(e) = write(&mut batch, &mut counts) {
                    failed = Some(e);
                    return false;
                }
                progress(ImportStatus::Importing, done, Some(total), counts, None);
            }
            true
        }
    });
    if failed.is_none() && read.is_ok() && !batch.is_empty() {
        failed = write(&mut batch, &mut counts).err();
    }
    if failed.is_none() && read.is_ok() && !logs.is_empty() {
        failed = write_logs(&mut logs).err();
    }
    let stopped = failed.map(|e| app::error::AppError::from(e).message().to_string()).or(read.err());
    if let Some(problem) = stopped {
        return progress(
            ImportStatus::Failed,
            done,
            Some(total),
            counts,
            Some(&format!(
                "Stopped after {} conversations: {problem}. Importing the file again adds the rest; those already imported are skipped.",
                counts.imported + counts.skipped
            )),
        );
    }
    let skipped_bad = (!bad.is_empty()).then(|| {
        let listed = bad.iter().take(MAX_LISTED_PROBLEMS).cloned().collect::<Vec<_>>().join("; ");
        let more = bad.len().saturating_sub(MAX_LISTED_PROBLEMS);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        format!("{} bad entries left out: {listed}{more}.", bad.len())
    });
    progress(ImportStatus::Done, done, Some(total), counts, skipped_bad.as_deref());
}
