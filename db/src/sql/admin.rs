//! The admin console's statements: the user listing, role changes, bans, deletions. Every change
//! takes the user-changes lock, checks the last-admin rule and writes its audit entry in one
//! transaction.

use serde_json::json;
use sqlx::Transaction;
use uuid::Uuid;

use super::{Backend, Db};
use crate::admin::{clean_reason, search_pattern, LAST_ADMIN};
use crate::audit::{Action, Actor, Target};
use crate::clock::now_micros;
use crate::conversations::{check_limit, page_end};
use crate::cursor::{Cursor, CursorKind};
use crate::error::{DbError, DbResult};
use crate::model::{AdminUser, Page, Role, User};

/// One page of users, newest first, optionally narrowed to those whose email or name contains the
/// search ($3, a `LIKE` pattern or empty). Served by `users_created_idx`; the activity columns are
/// one probe of `sessions_user_id_idx` per listed user.
pub const LIST: &str = "SELECT u.id, u.email, u.name, u.role, u.banned, u.ban_reason, u.created_at,
       (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen_at,
       (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $5) AS session_count
     FROM users u
     WHERE (u.created_at, u.id) < ($1, $2)
       AND ($3 = '' OR LOWER(u.email) LIKE $3 ESCAPE '\\' OR LOWER(u.name) LIKE $3 ESCAPE '\\')
     ORDER BY u.created_at DESC, u.id DESC
     LIMIT $4";

/// The admins who can still act, other than `$1`: the last-admin rule's count.
const OTHER_ADMINS: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT banned AND id <> $1";

const USER: &str = "SELECT id, email, name, role, banned, created_at, image FROM users WHERE id = $1";

impl Backend {
    pub(crate) async fn list_users(&self, search: &str, cursor: Option<&str>, limit: u32) -> DbResult<Page<AdminUser>> {
        let pattern = search_pattern(search)?;
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, CursorKind::AdminUsers, Uuid::nil())?.unwrap_or(Cursor::NEWEST);
        let mut items = sqlx::query_as::<_, AdminUser>(LIST)
            .bind(after.at)
            .bind(after.id)
            .bind(pattern)
            .bind(limit + 1)
            .bind(now_micros())
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |u| {
            Cursor { at: u.created_at, id: u.id }.encode(CursorKind::AdminUsers, Uuid::nil())
        });
        Ok(Page { items, next })
    }

    /// The user a change is about, read in the change's transaction.
    async fn target(tx: &mut Transaction<'static, Db>, id: Uuid) -> DbResult<User> {
        sqlx::query_as::<_, User>(USER).bind(id).fetch_optional(&mut **tx).await?.ok_or(DbError::NotFound)
    }

    /// Refuses a change that takes `user` out of the admins who can act, when they are the last.
    async fn keep_an_admin(tx: &mut Transaction<'static, Db>, user: &User) -> DbResult<()> {
        if user.role != Role::Admin || user.banned {
            return Ok(());
        }
        let others: i64 = sqlx::query_scalar(OTHER_ADMINS).bind(user.id).fetch_one(&mut **tx).await?;
        if others == 0 {
            return Err(DbError::Conflict(LAST_ADMIN.into()));
        }
        Ok(())
    }

    pub(crate) async fn set_role(&self, actor: &Actor, id: Uuid, role: Role) -> DbResult<User> {
        let mut tx = self.begin_write().await?;
        Self::serialize_user_changes(&mut tx).await?;
        let user = Self::target(&mut tx, id).await?;
        if user.role == role {
            return Ok(user);
        }
        if role == Role::Member {
            Self::keep_an_admin(&mut tx, &user).await?;
        }
        sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(role.as_str())
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        let detail = json!({ "from": user.role.as_str(), "to": role.as_str() });
        Self::record(&mut tx, actor, Action::UserRole, &Target::user(id, &user.email), detail).await?;
        tx.commit().await?;
        Ok(User { role, ..user })
    }

    pub(crate) async fn ban(&self, actor: &Actor, id: Uuid, reason: Option<&str>) -> DbResult<Vec<Uuid>> {
        let reason = clean_reason(reason)?;
        if actor.id == Some(id) {
            return Err(DbError::Invalid("you cannot ban your own account".into()));
        }
        let mut tx = self.begin_write().await?;
        Self::serialize_user_changes(&mut tx).await?;
        let user = Self::target(&mut tx, id).await?;
        Self::keep_an_admin(&mut tx, &user).await?;
        sqlx::query("UPDATE users SET banned = TRUE, ban_reason = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(&reason)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        let ended: Vec<Uuid> = sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        let detail = json!({ "reason": reason, "sessionsEnded": ended.len() });
        Self::record(&mut tx, actor, Action::UserBan, &Target::user(id, &user.email), detail).await?;
        tx.commit().await?;
        Ok(ended)
    }

    pub(crate) async fn unban(&self, actor: &Actor, id: Uuid) -> DbResult<()> {
        let mut tx = self.begin_write().await?;
        let user = Self::target(&mut tx, id).await?;
        if !user.banned {
            return Ok(());
        }
        sqlx::query("UPDATE users SET banned = FALSE, ban_reason = NULL, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        Self::record(&mut tx, actor, Action::UserUnban, &Target::user(id, &user.email), json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_user(&self, actor: &Actor, id: Uuid) -> DbResult<Option<String>> {
        if actor.id == Some(id) {
            return Err(DbError::Invalid("you cannot delete your own account from the admin console".into()));
        }
        let mut tx = self.begin_write().await?;
        Self::serialize_user_changes(&mut tx).await?;
        let user = Self::target(&mut tx, id).await?;
        Self::keep_an_admin(&mut tx, &user).await?;
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM conversations WHERE user_id = $1),
                    (SELECT COUNT(*) FROM agent_logs WHERE user_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        // Everything the user owns goes with them: every table that names a user cascades.
        sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let detail = json!({ "name": user.name, "conversations": counts.0, "agentLogs": counts.1 });
        Self::record(&mut tx, actor, Action::UserDelete, &Target::user(id, &user.email), detail).await?;
        tx.commit().await?;
        Ok(user.image)
    }
}
