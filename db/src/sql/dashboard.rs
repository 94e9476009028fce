//! The dashboard's read on one connection (see [`crate::dashboard`]).

use uuid::Uuid;

use super::Backend;
use crate::conversations::{check_limit, page_end};
use crate::cursor::{Cursor, CursorKind};
use crate::dashboard::{DashboardQuery, DashboardRows};
use crate::error::DbResult;
use crate::model::{Conversation, Page};

/// Both sidebar lists in one statement; each arm is the keyset read its index
/// (`conversations_user_archived_idx`) serves. An archived list not asked for is a LIMIT 0 arm,
/// which reads nothing.
pub const SIDEBAR: &str = "SELECT * FROM (SELECT id, title, archived, created_at, updated_at FROM conversations
                     WHERE user_id = $1 AND archived = $2 AND (updated_at, id) < ($3, $4)
                     ORDER BY updated_at DESC, id DESC LIMIT $5) AS recent
     UNION ALL
     SELECT * FROM (SELECT id, title, archived, created_at, updated_at FROM conversations
                     WHERE user_id = $1 AND archived = $6 AND (updated_at, id) < ($7, $8)
                     ORDER BY updated_at DESC, id DESC LIMIT $9) AS old";

impl Backend {
    pub(crate) async fn dashboard(&self, user_id: Uuid, query: &DashboardQuery) -> DbResult<DashboardRows> {
        let limit = check_limit(query.page)?;
        let recent_kind = CursorKind::Conversations;
        let archived_kind = CursorKind::ArchivedConversations;
        // Bad cursors are refused before a connection is taken.
        let recent_from =
            Cursor::decode_opt(query.recent_from.as_deref(), recent_kind, Uuid::nil())?.unwrap_or(Cursor::NEWEST);
        let archived_from =
            Cursor::decode_opt(query.archived_from.as_deref(), archived_kind, Uuid::nil())?.unwrap_or(Cursor::NEWEST);

        let mut conn = self.pool.acquire().await?;
        let archived_limit = if query.with_archived { limit + 1 } else { 0 };
        let rows = sqlx::query_as::<_, Conversation>(SIDEBAR)
            .bind(user_id)
            .bind(false)
            .bind(recent_from.at)
            .bind(recent_from.id)
            .bind(limit + 1)
            .bind(true)
            .bind(archived_from.at)
            .bind(archived_from.id)
            .bind(archived_limit)
            .fetch_all(&mut *conn)
            .await?;
        let (mut archived, mut recent): (Vec<Conversation>, Vec<Conversation>) =
            rows.into_iter().partition(|c| c.archived);
        // A union promises no order; restore each list's.
        for list in [&mut recent, &mut archived] {
            list.sort_by_key(|c| std::cmp::Reverse((c.updated_at, c.id)));
        }
        let next_recent =
            page_end(&mut recent, limit, |c| Cursor { at: c.updated_at, id: c.id }.encode(recent_kind, Uuid::nil()));
        let next_archived = page_end(&mut archived, limit, |c| {
            Cursor { at: c.updated_at, id: c.id }.encode(archived_kind, Uuid::nil())
        });

        let open = match &query.open {
            Some((id, messages)) => Some(Self::open_conversation_on(&mut conn, user_id, *id, messages).await?),
            None => None,
        };

        let preferences = Self::effective_preferences_on(&mut conn, user_id).await?;

        Ok(DashboardRows {
            recent: Page { items: recent, next: next_recent },
            archived: query.with_archived.then_some(Page { items: archived, next: next_archived }),
            open,
            preferences,
        })
    }
}
