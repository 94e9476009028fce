//! Conversations: create, change, delete, and the sidebar listing by keyset cursor.

use uuid::Uuid;

use super::{Backend, Db};
use crate::clock::now_micros;
use crate::conversations::{check_limit, clean_title, page_end, ConversationChange};
use crate::cursor::{Cursor, CursorKind};
use crate::error::{missing_parent_is_not_found, DbError, DbResult};
use crate::model::{Conversation, Page};

/// One page of a user's conversations, archived or not, newest-updated first, after a cursor.
/// Served by `conversations_user_archived_idx` at any depth.
pub const LIST: &str = "SELECT id, title, archived, created_at, updated_at FROM conversations
     WHERE user_id = $1 AND archived = $2 AND (updated_at, id) < ($3, $4)
     ORDER BY updated_at DESC, id DESC
     LIMIT $5";

/// One of the user's conversations; the ownership check of every by-id read.
pub const GET: &str = "SELECT id, title, archived, created_at, updated_at FROM conversations
     WHERE id = $1 AND user_id = $2";

/// Inserts a conversation (id, owner, title, time); a missing owner is a foreign-key violation.
pub(crate) const INSERT: &str = "INSERT INTO conversations (id, user_id, title, archived, created_at, updated_at)
     VALUES ($1, $2, $3, FALSE, $4, $4)";

impl Backend {
    pub(crate) async fn create_conversation(&self, user_id: Uuid, title: &str) -> DbResult<Conversation> {
        let now = now_micros();
        let conversation = Conversation {
            id: Uuid::now_v7(),
            title: clean_title(title)?,
            archived: false,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(INSERT)
            .bind(conversation.id)
            .bind(user_id)
            .bind(&conversation.title)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(missing_parent_is_not_found)?;
        Ok(conversation)
    }

    pub(crate) async fn get_conversation(&self, user_id: Uuid, id: Uuid) -> DbResult<Conversation> {
        let mut conn = self.pool.acquire().await?;
        Self::get_conversation_on(&mut conn, user_id, id).await
    }

    /// [`Self::get_conversation`] on a connection the caller holds.
    pub(crate) async fn get_conversation_on(
        conn: &mut sqlx::pool::PoolConnection<Db>,
        user_id: Uuid,
        id: Uuid,
    ) -> DbResult<Conversation> {
        sqlx::query_as::<_, Conversation>(GET)
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut **conn)
            .await?
            .ok_or(DbError::NotFound)
    }

    pub(crate) async fn update_conversation(
        &self,
        user_id: Uuid,
        id: Uuid,
        change: &ConversationChange<'_>,
    ) -> DbResult<Conversation> {
        let title = change.title.map(clean_title).transpose()?;
        // One statement: the ownership check, both fields, and the row as it now is.
        sqlx::query_as::<_, Conversation>(
            "UPDATE conversations SET title = COALESCE($3, title), archived = COALESCE($4, archived)
             WHERE id = $1 AND user_id = $2
             RETURNING id, title, archived, created_at, updated_at",
        )
        .bind(id)
        .bind(user_id)
        .bind(title)
        .bind(change.archived)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(DbError::NotFound)
    }

    pub(crate) async fn delete_conversation(&self, user_id: Uuid, id: Uuid) -> DbResult<()> {
        // Messages go with it through ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM conversations WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn list_conversations(
        &self,
        user_id: Uuid,
        archived: bool,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<Conversation>> {
        let kind = if archived { CursorKind::ArchivedConversations } else { CursorKind::Conversations };
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, kind, Uuid::nil())?.unwrap_or(Cursor::NEWEST);
        let mut items = sqlx::query_as::<_, Conversation>(LIST)
            .bind(user_id)
            .bind(archived)
            .bind(after.at)
            .bind(after.id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |c| Cursor { at: c.updated_at, id: c.id }.encode(kind, Uuid::nil()));
        Ok(Page { items, next })
    }
}
