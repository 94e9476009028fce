//! Messages: append (bumping the conversation in the same transaction) and the keyset listing in
//! both directions: the newest page first, then "earlier" pages, or "later" ones from a point.

use crate::error::DbError;
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

/// Checks message metadata: a JSON object of bounded size.
pub fn check_metadata(metadata: &serde_json::Value) -> Result<(), DbError> {
    if !metadata.is_object() {
        return Err(DbError::Invalid("message metadata must be a JSON object".into()));
    }
    if metadata.to_string().len() > MAX_METADATA_BYTES {
        return Err(DbError::Invalid(format!("message metadata can be at most {} KiB", MAX_METADATA_BYTES / 1024)));
    }
    Ok(())
}

/// A message about to be appended.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    pub role: crate::model::MessageRole,
    pub content: String,
    pub metadata: serde_json::Value,
    /// False for a reply cut short (abort, provider failure).
    pub complete: bool,
}

/// Implements the message operations on a backend store type.
macro_rules! message_ops {
    ($store:ty) => {
        impl $store {
            pub(crate) async fn append_message(
                &self,
                user_id: Uuid,
                conversation_id: Uuid,
                new: NewMessage,
            ) -> DbResult<Message> {
                messages::check_content(&new.content)?;
                messages::check_metadata(&new.metadata)?;
                let message = Message {
                    id: Uuid::now_v7(),
                    conversation_id,
                    role: new.role,
                    content: new.content,
                    metadata: new.metadata,
                    status: if new.complete { "complete" } else { "incomplete" }.to_string(),
                    created_at: now_micros(),
                };
                self.insert_message(user_id, message).await
            }

            pub(crate) async fn start_reply(
                &self,
                user_id: Uuid,
                conversation_id: Uuid,
                metadata: &serde_json::Value,
            ) -> DbResult<Message> {
                messages::check_metadata(metadata)?;
                let message = Message {
                    id: Uuid::now_v7(),
                    conversation_id,
                    role: MessageRole::Assistant,
                    content: String::new(),
                    metadata: metadata.clone(),
                    status: "incomplete".to_string(),
                    created_at: now_micros(),
                };
                self.insert_message(user_id, message).await
            }

            /// Inserts a checked message and bumps its conversation, in one write transaction.
            async fn insert_message(&self, user_id: Uuid, message: Message) -> DbResult<Message> {
                let mut tx = self.begin_write().await?;
                // The ownership check and the bump are one statement: no row, no message.
                let bumped = sqlx::query("UPDATE conversations SET updated_at = $3 WHERE id = $1 AND user_id = $2")
                    .bind(message.conversation_id)
                    .bind(user_id)
                    .bind(message.created_at)
                    .execute(&mut *tx)
                    .await?;
                if bumped.rows_affected() == 0 {
                    return Err(DbError::NotFound);
                }
                sqlx::query(
                    "INSERT INTO messages (id, conversation_id, role, content, metadata, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(message.id)
                .bind(message.conversation_id)
                .bind(message.role.as_str())
                .bind(&message.content)
                .bind(sqlx::types::Json(&message.metadata))
                .bind(&message.status)
                .bind(message.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(message)
            }

            pub(crate) async fn save_reply(
                &self,
                conversation_id: Uuid,
                message_id: Uuid,
                content: &str,
                complete: bool,
                metadata: &serde_json::Value,
            ) -> DbResult<()> {
                messages::check_metadata(metadata)?;
                if content.len() > messages::MAX_REPLY_BYTES {
                    return Err(DbError::Invalid(format!(
                        "a reply can be at most {} KiB",
                        messages::MAX_REPLY_BYTES / 1024
                    )));
                }
                let done = sqlx::query(
                    "UPDATE messages SET content = $3, status = $4, metadata = $5
                     WHERE id = $1 AND conversation_id = $2 AND role = 'assistant'",
                )
                .bind(message_id)
                .bind(conversation_id)
                .bind(content)
                .bind(if complete { "complete" } else { "incomplete" })
                .bind(sqlx::types::Json(metadata))
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(DbError::NotFound);
                }
                Ok(())
            }

            pub(crate) async fn open_conversation(
                &self,
                user_id: Uuid,
                conversation_id: Uuid,
                query: &MessageQuery,
            ) -> DbResult<(Conversation, MessagePage)> {
                let mut conn = self.pool.acquire().await?;
                Self::open_conversation_on(&mut conn, user_id, conversation_id, query).await
            }

            /// [`Self::open_conversation`] on a connection the caller holds (the dashboard reads
            /// everything on one).
            pub(crate) async fn open_conversation_on(
                conn: &mut sqlx::pool::PoolConnection<Db>,
                user_id: Uuid,
                conversation_id: Uuid,
                query: &MessageQuery,
            ) -> DbResult<(Conversation, MessagePage)> {
                let limit = conversations::check_limit(query.limit)?;
                let before = Cursor::decode_opt(query.before.as_deref(), CursorKind::MessagesBefore, conversation_id)?;
                let after = match before {
                    Some(_) => None,
                    None => Cursor::decode_opt(query.after.as_deref(), CursorKind::MessagesAfter, conversation_id)?,
                };
                // Ownership first, so another user's conversation is "not found" rather than empty.
                let conversation = Self::get_conversation_on(conn, user_id, conversation_id).await?;
                let earlier_of = |m: &Message| {
                    Cursor { at: m.created_at, id: m.id }.encode(CursorKind::MessagesBefore, conversation_id)
                };
                let later_of = |m: &Message| {
                    Cursor { at: m.created_at, id: m.id }.encode(CursorKind::MessagesAfter, conversation_id)
                };
                if let Some(after) = after {
                    let mut items = sqlx::query_as::<_, Message>(
                        "SELECT id, conversation_id, role, content, metadata, status, created_at FROM messages
                         WHERE conversation_id = $1 AND (created_at, id) > ($2, $3)
                         ORDER BY created_at ASC, id ASC
                         LIMIT $4",
                    )
                    .bind(conversation_id)
                    .bind(after.at)
                    .bind(after.id)
                    .bind(limit + 1)
                    .fetch_all(&mut **conn)
                    .await?;
                    let later = conversations::page_end(&mut items, limit, later_of);
                    let earlier = items.first().map(earlier_of);
                    return Ok((conversation, MessagePage { items, earlier, later }));
                }
                let from = before.unwrap_or(Cursor { at: i64::MAX, id: Uuid::max() });
                let mut items = sqlx::query_as::<_, Message>(
                    "SELECT id, conversation_id, role, content, metadata, status, created_at FROM messages
                     WHERE conversation_id = $1 AND (created_at, id) < ($2, $3)
                     ORDER BY created_at DESC, id DESC
                     LIMIT $4",
                )
                .bind(conversation_id)
                .bind(from.at)
                .bind(from.id)
                .bind(limit + 1)
                .fetch_all(&mut **conn)
                .await?;
                let earlier = conversations::page_end(&mut items, limit, earlier_of);
                items.reverse();
                let later = if before.is_some() { items.last().map(later_of) } else { None };
                Ok((conversation, MessagePage { items, earlier, later }))
            }
        }
    };
}
pub(crate) use message_ops;
