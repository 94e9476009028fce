//! The dashboard's read: both sidebar lists, the open conversation with a page of its messages, and
//! the user's preferences, on one pooled connection.
//!
//! The page is the busiest in the product, and on SQLite each statement and each pool checkout is
//! a round trip to the connection's worker thread. Reading it all on one connection, with the two
//! sidebar lists in a single statement, keeps it to one checkout and four statements whatever the
//! data size. The archived list is read only when asked for (it sits in a closed section).

use uuid::Uuid;

use crate::messages::{MessagePage, MessageQuery};
use crate::model::{Conversation, Page, Preference};

/// Which slices of the user's data the dashboard shows.
#[derive(Clone, Debug, Default)]
pub struct DashboardQuery {
    /// Where the sidebar list starts (a cursor of the conversation listing), or the newest.
    pub recent_from: Option<String>,
    /// Whether to read the archived list at all.
    pub with_archived: bool,
    /// Where the archived list starts, or the newest.
    pub archived_from: Option<String>,
    /// Rows per sidebar list.
    pub page: u32,
    /// The open conversation and which of its messages to show.
    pub open: Option<(Uuid, MessageQuery)>,
}

/// What the dashboard shows, as read.
#[derive(Clone, Debug)]
pub struct DashboardRows {
    pub recent: Page<Conversation>,
    /// Absent unless [`DashboardQuery::with_archived`].
    pub archived: Option<Page<Conversation>>,
    pub open: Option<(Conversation, MessagePage)>,
    pub preferences: Vec<Preference>,
}

macro_rules! dashboard_ops {
    ($store:ty) => {
        impl $store {
            pub(crate) async fn dashboard(
                &self,
                user_id: Uuid,
                query: &crate::dashboard::DashboardQuery,
            ) -> DbResult<crate::dashboard::DashboardRows> {
                let limit = conversations::check_limit(query.page)?;
                let newest = Cursor { at: i64::MAX, id: Uuid::max() };
                let recent_kind = CursorKind::Conversations;
                let archived_kind = CursorKind::ArchivedConversations;
                // Bad cursors are refused before a connection is taken.
                let recent_from =
                    Cursor::decode_opt(query.recent_from.as_deref(), recent_kind, Uuid::nil())?.unwrap_or(newest);
                let archived_from =
                    Cursor::decode_opt(query.archived_from.as_deref(), archived_kind, Uuid::nil())?.unwrap_or(newest);

                let mut conn = self.pool.acquire().await?;
                // Both lists in one statement; each arm is the keyset read its index serves. An
                // archived list not asked for is a LIMIT 0 arm, which reads nothing.
                let archived_limit = if query.with_archived { limit + 1 } else { 0 };
                let rows = sqlx::query_as::<_, Conversation>(
                    "SELECT * FROM (SELECT id, title, archived, created_at, updated_at FROM conversations
                                     WHERE user_id = $1 AND archived = $2 AND (updated_at, id) < ($3, $4)
                                     ORDER BY updated_at DESC, id DESC LIMIT $5) AS recent
                     UNION ALL
                     SELECT * FROM (SELECT id, title, archived, created_at, updated_at FROM conversations
                                     WHERE user_id = $1 AND archived = $6 AND (updated_at, id) < ($7, $8)
                                     ORDER BY updated_at DESC, id DESC LIMIT $9) AS old",
                )
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
                    list.sort_by(|a, b| (b.updated_at, b.id).cmp(&(a.updated_at, a.id)));
                }
                let next_recent = conversations::page_end(&mut recent, limit, |c| {
                    Cursor { at: c.updated_at, id: c.id }.encode(recent_kind, Uuid::nil())
                });
                let next_archived = conversations::page_end(&mut archived, limit, |c| {
                    Cursor { at: c.updated_at, id: c.id }.encode(archived_kind, Uuid::nil())
                });

                let open = match &query.open {
                    Some((id, messages)) => Some(Self::open_conversation_on(&mut conn, user_id, *id, messages).await?),
                    None => None,
                };

                let preferences = Self::effective_preferences_on(&mut conn, user_id).await?;

                Ok(crate::dashboard::DashboardRows {
                    recent: Page { items: recent, next: next_recent },
                    archived: query.with_archived.then_some(Page { items: archived, next: next_archived }),
                    open,
                    preferences,
                })
            }
        }
    };
}
pub(crate) use dashboard_ops;
