//! Taking history out and bringing it in: what an imported conversation is, the checks it passes,
//! and the rows of an import's progress. The statements are in `sql/portability.rs`; the file
//! formats (Mosaic's archive, ChatGPT's and Open WebUI's exports) are read and written by the
//! server (`server/src/portability/`).

use uuid::Uuid;

use crate::conversations::MAX_TITLE_CHARS;
use crate::messages::{metadata_problem, MAX_REPLY_BYTES};
use crate::model::{AgentLog, MessageRole, ReplyState};

/// Conversations written per transaction during an import.
pub const IMPORT_BATCH: usize = 100;
/// The most problems an import that skips bad entries lists.
pub const MAX_LISTED_PROBLEMS: usize = 20;

/// A conversation read from an export, ready to be written to a user's account.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedConversation {
    /// Where it came from, stable across exports (`chatgpt:<id>`, `openwebui:<id>`, `mosaic:<id>`):
    /// a second import of it is skipped.
    pub source_id: String,
    /// The id to keep when it is free (a Mosaic archive's own ids, so a round trip reads the same).
    pub id: Option<Uuid>,
    pub title: String,
    pub archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub messages: Vec<ImportedMessage>,
}

/// A message of an [`ImportedConversation`], in order.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedMessage {
    pub id: Option<Uuid>,
    pub role: MessageRole,
    pub content: String,
    pub metadata: serde_json::Value,
    /// How a reply ended; never streaming (nothing is being written on import).
    pub state: ReplyState,
    pub created_at: i64,
}

/// Agent logs written per transaction during an import.
pub const LOG_BATCH: usize = 500;

/// Checks an agent log read from an archive the way a newly written one is checked; the message
/// names the field.
pub fn check_log(user_id: Uuid, log: &AgentLog) -> Result<(), String> {
    crate::agent_logs::check(&imported_log(user_id, log))
}

/// An archive's agent log as the user's own: no sign-in session wrote it here, so none demotes it
/// (hot ones age out like any other).
pub(crate) fn imported_log(user_id: Uuid, log: &AgentLog) -> crate::agent_logs::NewAgentLog {
    crate::agent_logs::NewAgentLog {
        user_id,
        session_id: log.session_id.clone(),
        auth_session_id: None,
        level: log.level,
        category: log.category.clone(),
        content: log.content.clone(),
        metadata: log.metadata.clone(),
        tier: log.tier,
        created_at: Some(log.created_at),
    }
}

/// What a batch of imports did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub imported: u64,
    /// Already in the account from an earlier import of the same source.
    pub skipped: u64,
    pub messages: u64,
}

impl ImportCounts {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: ImportCounts) {
        self.imported += other.imported;
        self.skipped += other.skipped;
        self.messages += other.messages;
    }
}

impl ImportedConversation {
    /// What is wrong with it, as `field: problem`, before anything is written. A title longer than
    /// a Mosaic title is shortened (a long title is no reason to refuse history); an empty one
    /// becomes "Imported conversation".
    pub fn check(&mut self) -> Result<(), String> {
        if self.source_id.is_empty() || self.source_id.len() > 300 {
            return Err("id: missing or longer than 300 characters".into());
        }
        let title: String = self.title.chars().filter(|c| !c.is_control()).collect();
        let title = title.trim();
        self.title = if title.is_empty() {
            "Imported conversation".into()
        } else {
            title.chars().take(MAX_TITLE_CHARS).collect()
        };
        if self.updated_at < self.created_at {
            self.updated_at = self.created_at;
        }
        for (i, m) in self.messages.iter().enumerate() {
            if m.content.len() > MAX_REPLY_BYTES {
                return Err(format!("messages[{i}].content: longer than {} MiB", MAX_REPLY_BYTES / (1024 * 1024)));
            }
            if m.content.contains('\0') {
                return Err(format!("messages[{i}].content: contains the NUL character"));
            }
            if let Some(problem) = metadata_problem(&m.metadata) {
                return Err(format!("messages[{i}].metadata: {problem}"));
            }
            if m.state == ReplyState::Streaming {
                return Err(format!("messages[{i}].status: a reply still being written cannot be imported"));
            }
        }
        Ok(())
    }
}
