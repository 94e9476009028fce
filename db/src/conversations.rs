//! Conversations: create, rename, archive, delete, and the sidebar listing by keyset cursor.

use crate::error::DbError;

/// The longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The title of a conversation created without one.
pub const DEFAULT_TITLE: &str = "New conversation";
/// The largest page any listing returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Trims a title and checks its length; an empty title becomes [`DEFAULT_TITLE`].
pub fn clean_title(title: &str) -> Result<String, DbError> {
    let title = title.trim();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(DbError::Invalid(format!("a title can be at most {MAX_TITLE_CHARS} characters")));
    }
    if title.chars().any(char::is_control) {
        return Err(DbError::Invalid("a title cannot contain control characters".into()));
    }
    Ok(if title.is_empty() { DEFAULT_TITLE.to_string() } else { title.to_string() })
}

/// Checks a requested page size against [`MAX_PAGE_SIZE`].
pub fn check_limit(limit: u32) -> Result<i64, DbError> {
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(DbError::Invalid(format!("limit must be between 1 and {MAX_PAGE_SIZE}")));
    }
    Ok(i64::from(limit))
}

/// Implements the conversation operations on a backend store type with a `pool` and `begin_write`.
macro_rules! conversation_ops {
    ($store:ty) => {
        impl $store {
            pub(crate) async fn create_conversation(&self, user_id: Uuid, title: &str) -> DbResult<Conversation> {
                let now = now_micros();
                let conversation = Conversation {
                    id: Uuid::now_v7(),
                    title: conversations::clean_title(title)?,
                    archived: false,
                    created_at: now,
                    updated_at: now,
                };
                sqlx::query(
                    "INSERT INTO conversations (id, user_id, title, archived, created_at, updated_at)
                     VALUES ($1, $2, $3, FALSE, $4, $4)",
                )
                .bind(conversation.id)
                .bind(user_id)
                .bind(&conversation.title)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(|e| {
                    if e.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) {
                        DbError::NotFound
                    } else {
                        e.into()
                    }
                })?;
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
                sqlx::query_as::<_, Conversation>(
                    "SELECT id, title, archived, created_at, updated_at FROM conversations
                     WHERE id = $1 AND user_id = $2",
                )
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut **conn)
                .await?
                .ok_or(DbError::NotFound)
            }

            pub(crate) async fn rename_conversation(
                &self,
                user_id: Uuid,
                id: Uuid,
                title: &str,
            ) -> DbResult<Conversation> {
                let title = conversations::clean_title(title)?;
                sqlx::query_as::<_, Conversation>(
                    "UPDATE conversations SET title = $3 WHERE id = $1 AND user_id = $2
                     RETURNING id, title, archived, created_at, updated_at",
                )
                .bind(id)
                .bind(user_id)
                .bind(title)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(DbError::NotFound)
            }

            pub(crate) async fn set_archived(&self, user_id: Uuid, id: Uuid, archived: bool) -> DbResult<Conversation> {
                sqlx::query_as::<_, Conversation>(
                    "UPDATE conversations SET archived = $3 WHERE id = $1 AND user_id = $2
                     RETURNING id, title, archived, created_at, updated_at",
                )
                .bind(id)
                .bind(user_id)
                .bind(archived)
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
                let limit = conversations::check_limit(limit)?;
                let after =
                    Cursor::decode_opt(cursor, kind, Uuid::nil())?.unwrap_or(Cursor { at: i64::MAX, id: Uuid::max() });
                let mut items = sqlx::query_as::<_, Conversation>(
                    "SELECT id, title, archived, created_at, updated_at FROM conversations
                     WHERE user_id = $1 AND archived = $2 AND (updated_at, id) < ($3, $4)
                     ORDER BY updated_at DESC, id DESC
                     LIMIT $5",
                )
                .bind(user_id)
                .bind(archived)
                .bind(after.at)
                .bind(after.id)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?;
                let next = conversations::page_end(&mut items, limit, |c| {
                    Cursor { at: c.updated_at, id: c.id }.encode(kind, Uuid::nil())
                });
                Ok(Page { items, next })
            }
        }
    };
}
pub(crate) use conversation_ops;

/// Cuts a `limit + 1` fetch down to `limit` rows and returns the cursor of the next page, if any.
pub(crate) fn page_end<T>(items: &mut Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor_of)
    } else {
        None
    }
}
