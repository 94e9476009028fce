//! Messages: append (bumping the conversation in the same transaction) and the keyset listing in
//! both directions: the newest page first, then "earlier" pages, or "later" ones from a point.

use uuid::Uuid;

use super::{Backend, Db};
use crate::clock::now_micros;
use crate::conversations::{check_limit, page_end};
use crate::cursor::{Cursor, CursorKind};
use crate::error::{DbError, DbResult};
use crate::messages::{check_content, check_metadata, NewMessage};
use crate::model::{Conversation, Message, MessagePage, MessageQuery, ReplyState};

/// A page of a conversation's messages before a point, newest first (reversed for display).
/// Served by `messages_conversation_created_idx`.
pub const PAGE_BEFORE: &str =
    "SELECT id, conversation_id, role, content, metadata, status, status_reason, created_at FROM messages
     WHERE conversation_id = $1 AND (created_at, id) < ($2, $3)
     ORDER BY created_at DESC, id DESC
     LIMIT $4";

/// A page of a conversation's messages after a point, oldest first.
pub const PAGE_AFTER: &str =
    "SELECT id, conversation_id, role, content, metadata, status, status_reason, created_at FROM messages
     WHERE conversation_id = $1 AND (created_at, id) > ($2, $3)
     ORDER BY created_at ASC, id ASC
     LIMIT $4";

/// One message of a conversation: the anchor of a page around it.
pub const ONE: &str =
    "SELECT id, conversation_id, role, content, metadata, status, status_reason, created_at FROM messages
     WHERE id = $1 AND conversation_id = $2";

/// Bumps a conversation to the top of its owner's list; no row means not theirs (or gone).
pub(crate) const BUMP: &str = "UPDATE conversations SET updated_at = $3 WHERE id = $1 AND user_id = $2";

/// Inserts one message row.
pub(crate) const INSERT: &str =
    "INSERT INTO messages (id, conversation_id, role, content, metadata, status, status_reason, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

impl Backend {
    pub(crate) async fn append_message(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        new: NewMessage,
    ) -> DbResult<Message> {
        check_content(&new.content)?;
        check_metadata(&new.metadata)?;
        let message = Message {
            id: Uuid::now_v7(),
            conversation_id,
            role: new.role,
            content: new.content,
            metadata: new.metadata,
            state: ReplyState::COMPLETE,
            created_at: now_micros(),
        };
        let mut tx = self.begin_write().await?;
        // The ownership check and the bump are one statement: no row, no message.
        let bumped =
            sqlx::query(BUMP).bind(conversation_id).bind(user_id).bind(message.created_at).execute(&mut *tx).await?;
        if bumped.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Self::insert_message(&mut tx, &message).await?;
        tx.commit().await?;
        Ok(message)
    }

    /// Inserts a checked message inside the caller's write transaction.
    pub(crate) async fn insert_message(tx: &mut sqlx::Transaction<'static, Db>, message: &Message) -> DbResult<()> {
        sqlx::query(INSERT)
            .bind(message.id)
            .bind(message.conversation_id)
            .bind(message.role.as_str())
            .bind(&message.content)
            .bind(sqlx::types::Json(&message.metadata))
            .bind(message.state.as_str())
            .bind(message.state.reason())
            .bind(message.created_at)
            .execute(&mut **tx)
            .await?;
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
        let limit = check_limit(query.limit)?;
        let before = Cursor::decode_opt(query.before.as_deref(), CursorKind::MessagesBefore, conversation_id)?;
        let after = match before {
            Some(_) => None,
            None => Cursor::decode_opt(query.after.as_deref(), CursorKind::MessagesAfter, conversation_id)?,
        };
        // Ownership first, so another user's conversation is "not found" rather than empty.
        let conversation = Self::get_conversation_on(conn, user_id, conversation_id).await?;
        let earlier_of =
            |m: &Message| Cursor { at: m.created_at, id: m.id }.encode(CursorKind::MessagesBefore, conversation_id);
        let later_of =
            |m: &Message| Cursor { at: m.created_at, id: m.id }.encode(CursorKind::MessagesAfter, conversation_id);
        if let (None, None, Some(anchor)) = (before, after, query.around) {
            return Ok((conversation, Self::page_around(conn, conversation_id, anchor, limit).await?));
        }
        if let Some(after) = after {
            let mut items = sqlx::query_as::<_, Message>(PAGE_AFTER)
                .bind(conversation_id)
                .bind(after.at)
                .bind(after.id)
                .bind(limit + 1)
                .fetch_all(&mut **conn)
                .await?;
            let later = page_end(&mut items, limit, later_of);
            let earlier = items.first().map(earlier_of);
            return Ok((conversation, MessagePage { items, earlier, later }));
        }
        let from = before.unwrap_or(Cursor::NEWEST);
        let mut items = sqlx::query_as::<_, Message>(PAGE_BEFORE)
            .bind(conversation_id)
            .bind(from.at)
            .bind(from.id)
            .bind(limit + 1)
            .fetch_all(&mut **conn)
            .await?;
        let earlier = page_end(&mut items, limit, earlier_of);
        items.reverse();
        let later = if before.is_some() { items.last().map(later_of) } else { None };
        Ok((conversation, MessagePage { items, earlier, later }))
    }

    /// The page around one message: it, up to half a page before it and the rest after it, with
    /// cursors both ways. A message of another conversation is not found.
    async fn page_around(
        conn: &mut sqlx::pool::PoolConnection<Db>,
        conversation_id: Uuid,
        anchor: Uuid,
        limit: i64,
    ) -> DbResult<MessagePage> {
        let anchor =
            sqlx::query_as::<_, Message>(ONE).bind(anchor).bind(conversation_id).fetch_one(&mut **conn).await?;
        let older = (limit - 1) / 2;
        let newer = limit - 1 - older;
        let mut before = sqlx::query_as::<_, Message>(PAGE_BEFORE)
            .bind(conversation_id)
            .bind(anchor.created_at)
            .bind(anchor.id)
            .bind(older + 1)
            .fetch_all(&mut **conn)
            .await?;
        let mut after = sqlx::query_as::<_, Message>(PAGE_AFTER)
            .bind(conversation_id)
            .bind(anchor.created_at)
            .bind(anchor.id)
            .bind(newer + 1)
            .fetch_all(&mut **conn)
            .await?;
        // Each side's cursor is its last row shown, or the anchor when the side shows none.
        let cursor = |m: &Message, kind| Cursor { at: m.created_at, id: m.id }.encode(kind, conversation_id);
        let side = |rows: &mut Vec<Message>, keep: i64, kind| {
            let more = rows.len() as i64 > keep;
            rows.truncate(usize::try_from(keep).unwrap_or(0));
            more.then(|| cursor(rows.last().unwrap_or(&anchor), kind))
        };
        let earlier = side(&mut before, older, CursorKind::MessagesBefore);
        let later = side(&mut after, newer, CursorKind::MessagesAfter);
        before.reverse();
        let mut items = before;
        items.push(anchor);
        items.extend(after);
        Ok(MessagePage { items, earlier, later })
    }
}
