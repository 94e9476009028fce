//! Imports as the pages show them: one import's progress, and the user's latest.

use leptos::prelude::*;
use mosaic_db::model::ImportJob;

/// One of the user's imports (the progress page reads it, and polls it while it runs).
#[server(prefix = "/_fn", endpoint = "import_job")]
pub async fn import_progress(id: uuid::Uuid) -> Result<ImportJob, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    store.get_import(me.user.id, id).await.map_err(fail)
}

/// Whether an import is still running (its page keeps refreshing).
pub fn running(job: &ImportJob) -> bool {
    matches!(job.status, mosaic_db::model::ImportStatus::Checking | mosaic_db::model::ImportStatus::Importing)
}

/// An import's state in a sentence.
pub fn describe(job: &ImportJob) -> String {
    use mosaic_db::model::ImportStatus as S;
    let format = match job.format.as_str() {
        "chatgpt" => "ChatGPT export",
        "openwebui" => "Open WebUI export",
        _ => "Mosaic archive",
    };
    match job.status {
        S::Checking => format!("Checking the {format}: {} conversations read…", job.done),
        S::Importing => format!(
            "Importing the {format}: {} of {} conversations…",
            job.done,
            job.total.map_or("?".to_string(), |t| t.to_string())
        ),
        S::Done => format!(
            "Imported {} conversations ({} messages) from the {format}{}.",
            job.imported,
            job.messages,
            if job.skipped > 0 { format!("; {} were already here", job.skipped) } else { String::new() }
        ),
        S::Failed => format!("The import of the {format} failed."),
    }
}
