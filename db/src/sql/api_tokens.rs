//! Personal API tokens: create, list, revoke, and resolve a bearer secret's hash.

use uuid::Uuid;

use sqlx::Transaction;

use super::{Backend, Db};
use crate::api_tokens::{clean_name, TokenAuth, MAX_PER_USER};
use crate::audit::{Action, Actor, Target};
use crate::clock::now_micros;
use crate::error::{missing_parent_is_not_found, DbError, DbResult};
use crate::model::{ApiToken, Role, TokenScope, User};
use crate::sessions::TOUCH_EVERY;

/// The live token behind a secret's hash and its user, unless expired or the user banned. Runs on
/// every bearer request; served by the unique index on `token_hash`.
pub const RESOLVE: &str = "SELECT t.id, t.name, t.scope, t.created_at, t.last_used_at, t.expires_at,
            u.id, u.email, u.name, u.role, u.banned, u.created_at, u.image
     FROM api_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2) AND NOT u.banned";

impl Backend {
    /// Inserts a token in the caller's transaction.
    pub(crate) async fn insert_api_token(
        tx: &mut Transaction<'static, Db>,
        user_id: Uuid,
        name: &str,
        scope: TokenScope,
        expires_at: Option<i64>,
        token_hash: &[u8],
        now: i64,
    ) -> DbResult<ApiToken> {
        sqlx::query_as::<_, ApiToken>(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, scope, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id, name, scope, created_at, last_used_at, expires_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(scope.as_str())
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut **tx)
        .await
        .map_err(missing_parent_is_not_found)
    }

    pub(crate) async fn create_api_token(
        &self,
        user: &User,
        name: &str,
        scope: TokenScope,
        expires_at: Option<i64>,
        token_hash: &[u8],
    ) -> DbResult<ApiToken> {
        let name = clean_name(name)?;
        let now = now_micros();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(DbError::Invalid("a token's expiry must be in the future".into()));
        }
        if scope == TokenScope::Admin && user.role != Role::Admin {
            return Err(DbError::Invalid("only admins can create admin-scoped tokens".into()));
        }
        let mut tx = self.begin_write().await?;
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1")
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
        if held >= MAX_PER_USER {
            return Err(DbError::Conflict(format!(
                "you already have {MAX_PER_USER} tokens; revoke one you no longer use first"
            )));
        }
        let token = Self::insert_api_token(&mut tx, user.id, &name, scope, expires_at, token_hash, now).await?;
        if scope == TokenScope::Admin {
            let detail = serde_json::json!({ "token": token.id, "name": name, "expiresAt": expires_at });
            Self::record(
                &mut tx,
                &Actor::from(user),
                Action::AdminTokenCreate,
                &Target::user(user.id, &user.email),
                detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(token)
    }

    pub(crate) async fn list_api_tokens(&self, user_id: Uuid) -> DbResult<Vec<ApiToken>> {
        Ok(sqlx::query_as::<_, ApiToken>(
            "SELECT id, name, scope, created_at, last_used_at, expires_at FROM api_tokens
             WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn revoke_api_token(&self, user_id: Uuid, id: Uuid) -> DbResult<()> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn resolve_api_token(&self, token_hash: &[u8]) -> DbResult<Option<TokenAuth>> {
        type Row = (
            Uuid,
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Uuid,
            String,
            String,
            String,
            bool,
            i64,
            Option<String>,
        );
        let now = now_micros();
        let row: Option<Row> = sqlx::query_as(RESOLVE).bind(token_hash).bind(now).fetch_optional(&self.pool).await?;
        let Some((
            id,
            name,
            scope,
            created_at,
            last_used_at,
            expires_at,
            user_id,
            email,
            uname,
            role,
            banned,
            ucreated,
            image,
        )) = row
        else {
            return Ok(None);
        };
        if last_used_at.is_none_or(|at| now - at > TOUCH_EVERY) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        let scope = TokenScope::try_from(scope).map_err(DbError::Internal)?;
        let role = Role::try_from(role).map_err(DbError::Internal)?;
        Ok(Some(TokenAuth {
            user: User { id: user_id, email, name: uname, role, banned, created_at: ucreated, image },
            token: ApiToken { id, name, scope, created_at, last_used_at: Some(now), expires_at },
        }))
    }
}
