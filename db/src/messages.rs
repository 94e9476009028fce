//! Messages: the limits on what is stored and how a row is read. The statements (append, bumping the
//! conversation in the same transaction, and the keyset listing in both directions) are in
//! `sql/messages.rs`.

use uuid::Uuid;

use crate::error::DbError;
use crate::model::{Message, MessageRole, ReplyState};
pub use crate::model::{MessagePage, MessageQuery};

/// The largest message accepted, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The largest assistant reply stored, in bytes (model output is not bounded by the composer).
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// The largest metadata object accepted, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Checks a message body before it is stored.
pub fn check_content(content: &str) -> Result<(), DbError> {
    if content.trim().is_empty() {
        return Err(DbError::Invalid("a message cannot be empty".into()));
    }
    if content.len() > MAX_MESSAGE_BYTES {
        return Err(DbError::Invalid(format!("a message can be at most {} KiB", MAX_MESSAGE_BYTES / 1024)));
    }
    Ok(())
}

/// What is wrong with a metadata value, if anything, as the rest of a sentence about it ("must be
/// a JSON object"): metadata is a JSON object of at most [`MAX_METADATA_BYTES`], on messages and
/// agent logs alike.
pub fn metadata_problem(metadata: &serde_json::Value) -> Option<String> {
    if !metadata.is_object() {
        return Some("must be a JSON object".into());
    }
    (metadata.to_string().len() > MAX_METADATA_BYTES)
        .then(|| format!("can be at most {} KiB", MAX_METADATA_BYTES / 1024))
}

/// Checks message metadata: a JSON object of bounded size.
pub fn check_metadata(metadata: &serde_json::Value) -> Result<(), DbError> {
    match metadata_problem(metadata) {
        Some(problem) => Err(DbError::Invalid(format!("message metadata {problem}"))),
        None => Ok(()),
    }
}

/// A message about to be appended (saved complete: a reply is written through `Store::start_turn`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    pub role: crate::model::MessageRole,
    pub content: String,
    pub metadata: serde_json::Value,
}

/// Reads a message row (`id, conversation_id, role, content, metadata, status, status_reason,
/// created_at`) on either engine. A role or state the schema's CHECKs would not allow is a corrupt
/// row: a decode error, which the layers above answer as an internal error.
impl<'r, R> sqlx::FromRow<'r, R> for Message
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    sqlx::types::Json<serde_json::Value>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let corrupt =
            |index: &str, problem: String| sqlx::Error::ColumnDecode { index: index.into(), source: problem.into() };
        let role: String = row.try_get("role")?;
        let status: String = row.try_get("status")?;
        let reason: Option<String> = row.try_get("status_reason")?;
        let metadata: sqlx::types::Json<serde_json::Value> = row.try_get("metadata")?;
        Ok(Message {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            role: MessageRole::try_from(role).map_err(|e| corrupt("role", e))?,
            content: row.try_get("content")?,
            metadata: metadata.0,
            state: ReplyState::from_columns(&status, reason).map_err(|e| corrupt("status", e))?,
            created_at: row.try_get("created_at")?,
        })
    }
}
