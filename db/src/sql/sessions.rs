//! Sessions: created at sign-in, resolved from the cookie's token hash, revoked, expired.

use uuid::Uuid;

use super::Backend;
use crate::clock::now_micros;
use crate::error::{DbError, DbResult};
use crate::model::{Role, SessionInfo, User};
use crate::sessions::{ActiveSession, SessionPolicy, TOUCH_EVERY};

/// The session behind a token hash and its user, if it is live and the user not banned. Runs on
/// every signed-in request.
pub const RESOLVE: &str =
    "SELECT s.id, s.last_seen_at, s.absolute_expires_at, u.id, u.email, u.name, u.role, u.banned, u.created_at, u.image
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.banned";

/// A user's live sessions, newest first (the settings page). Served by `sessions_user_id_idx`.
pub const LIST: &str = "SELECT id, user_agent, ip_address, created_at, last_seen_at, expires_at FROM sessions
     WHERE user_id = $1 AND expires_at > $2
     ORDER BY created_at DESC, id DESC
     LIMIT 200";

/// When a live session or token ends (a token without expiry: never, as `i64::MAX`); no row when it
/// is not live (ended, expired, or its user banned). Served by the primary keys.
pub const CREDENTIAL_ENDS_AT: &str = "SELECT s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.expires_at > $2 AND NOT u.banned
     UNION ALL
     SELECT COALESCE(t.expires_at, 9223372036854775807) FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.id = $1 AND (t.expires_at IS NULL OR t.expires_at > $2) AND NOT u.banned";

impl Backend {
    pub(crate) async fn create_session(
        &self,
        user_id: Uuid,
        token_hash: &[u8],
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        policy: SessionPolicy,
    ) -> DbResult<SessionInfo> {
        let now = now_micros();
        let absolute = now.saturating_add(policy.absolute);
        let expires = absolute.min(now.saturating_add(policy.idle));
        let user_agent = user_agent.map(|ua| ua.chars().take(300).collect::<String>());
        Ok(sqlx::query_as::<_, SessionInfo>(
            "INSERT INTO sessions
               (id, user_id, token_hash, ip_address, user_agent, created_at, last_seen_at, expires_at, absolute_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)
             RETURNING id, user_agent, ip_address, created_at, last_seen_at, expires_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(token_hash)
        .bind(ip_address)
        .bind(user_agent)
        .bind(now)
        .bind(expires)
        .bind(absolute)
        .fetch_one(&self.pool)
        .await?)
    }

    pub(crate) async fn resolve_session(
        &self,
        token_hash: &[u8],
        policy: SessionPolicy,
    ) -> DbResult<Option<ActiveSession>> {
        type Row = (Uuid, i64, i64, Uuid, String, String, String, bool, i64, Option<String>);
        let now = now_micros();
        let row: Option<Row> = sqlx::query_as(RESOLVE).bind(token_hash).bind(now).fetch_optional(&self.pool).await?;
        let Some((session_id, last_seen, absolute, id, email, name, role, banned, created_at, image)) = row else {
            return Ok(None);
        };
        if now - last_seen > TOUCH_EVERY {
            sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1")
                .bind(session_id)
                .bind(now)
                .bind(absolute.min(now.saturating_add(policy.idle)))
                .execute(&self.pool)
                .await?;
        }
        let role = Role::try_from(role).map_err(DbError::Internal)?;
        Ok(Some(ActiveSession { id: session_id, user: User { id, email, name, role, banned, created_at, image } }))
    }

    pub(crate) async fn list_sessions(&self, user_id: Uuid) -> DbResult<Vec<SessionInfo>> {
        Ok(sqlx::query_as::<_, SessionInfo>(LIST).bind(user_id).bind(now_micros()).fetch_all(&self.pool).await?)
    }

    pub(crate) async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> DbResult<()> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(session_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn revoke_session_by_token(&self, token_hash: &[u8]) -> DbResult<Option<Uuid>> {
        Ok(sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING id")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(crate) async fn credential_ends_at(&self, id: Uuid) -> DbResult<Option<i64>> {
        Ok(sqlx::query_scalar(CREDENTIAL_ENDS_AT).bind(id).bind(now_micros()).fetch_optional(&self.pool).await?)
    }
}
