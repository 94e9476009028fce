//! Users and their email + password accounts.

use uuid::Uuid;

use sqlx::Transaction;

use super::{Backend, Db};
use crate::audit::{Action, Actor, Target};
use crate::clock::now_micros;
use crate::error::{is_unique_violation, DbError, DbResult};
use crate::model::{ApiToken, Role, TokenScope, User};
use crate::users::{clean_email, clean_name, NewRole, CREDENTIAL_PROVIDER};

/// The user behind an email and their password hash (sign-in). Served by the unique index on
/// `users.email`.
pub const CREDENTIALS: &str = "SELECT u.id, u.email, u.name, u.role, u.banned, u.created_at, u.image, a.password
     FROM users u JOIN accounts a ON a.user_id = u.id AND a.provider_id = $2
     WHERE u.email = $1";

impl Backend {
    /// Inserts a user (in the caller's transaction, which took [`Backend::serialize_user_changes`]).
    /// A taken email is [`DbError::Conflict`].
    pub(crate) async fn insert_user(
        tx: &mut Transaction<'static, Db>,
        email: &str,
        name: &str,
        email_verified: bool,
        role: NewRole,
        now: i64,
    ) -> DbResult<User> {
        let role: String = match role {
            NewRole::Admin => Role::Admin.as_str().to_string(),
            NewRole::FirstIsAdmin => {
                sqlx::query_scalar("SELECT CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'member' ELSE 'admin' END")
                    .fetch_one(&mut **tx)
                    .await?
            }
        };
        sqlx::query_as::<_, User>(
            "INSERT INTO users (id, email, name, email_verified, role, banned, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6)
             RETURNING id, email, name, role, banned, created_at, image",
        )
        .bind(Uuid::now_v7())
        .bind(email)
        .bind(name)
        .bind(email_verified)
        .bind(&role)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DbError::Conflict("an account with this email already exists".into())
            } else {
                e.into()
            }
        })
    }

    /// Links a sign-in method to a user: `credential` with a password hash, or a provider's subject.
    pub(crate) async fn insert_account(
        tx: &mut Transaction<'static, Db>,
        user_id: Uuid,
        provider: &str,
        account_id: &str,
        password_hash: Option<&str>,
        now: i64,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO accounts (id, user_id, provider_id, account_id, password, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(provider)
        .bind(account_id)
        .bind(password_hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(crate) async fn create_user_with_password(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        open: bool,
    ) -> DbResult<User> {
        let email = clean_email(email)?;
        let name = clean_name(name)?;
        let now = now_micros();
        let mut tx = self.begin_write().await?;
        Self::serialize_user_changes(&mut tx).await?;
        if !open && sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(&mut *tx).await? {
            return Err(DbError::Closed);
        }
        let user = Self::insert_user(&mut tx, &email, &name, false, NewRole::FirstIsAdmin, now).await?;
        Self::insert_account(&mut tx, user.id, CREDENTIAL_PROVIDER, &user.id.to_string(), Some(password_hash), now)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub(crate) async fn bootstrap_admin(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        token_hash: &[u8],
    ) -> DbResult<(User, ApiToken)> {
        let email = clean_email(email)?;
        let name = clean_name(name)?;
        let now = now_micros();
        let mut tx = self.begin_write().await?;
        Self::serialize_user_changes(&mut tx).await?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(&mut *tx).await?;
        if any {
            return Err(DbError::Conflict("this instance is already set up: it has users; sign in instead".into()));
        }
        let user = Self::insert_user(&mut tx, &email, &name, false, NewRole::Admin, now).await?;
        Self::insert_account(&mut tx, user.id, CREDENTIAL_PROVIDER, &user.id.to_string(), Some(password_hash), now)
            .await?;
        let token =
            Self::insert_api_token(&mut tx, user.id, "bootstrap", TokenScope::Admin, None, token_hash, now).await?;
        let target = Target::user(user.id, &user.email);
        Self::record(
            &mut tx,
            &Actor::from(&user),
            Action::Bootstrap,
            &target,
            serde_json::json!({ "token": token.id }),
        )
        .await?;
        tx.commit().await?;
        Ok((user, token))
    }

    pub(crate) async fn find_credentials(&self, email: &str) -> DbResult<Option<(User, String)>> {
        let Ok(email) = clean_email(email) else { return Ok(None) };
        type Row = (Uuid, String, String, String, bool, i64, Option<String>, Option<String>);
        let row: Option<Row> =
            sqlx::query_as(CREDENTIALS).bind(email).bind(CREDENTIAL_PROVIDER).fetch_optional(&self.pool).await?;
        let Some((id, email, name, role, banned, created_at, image, password)) = row else { return Ok(None) };
        let role = Role::try_from(role).map_err(DbError::Internal)?;
        Ok(password.map(|password| (User { id, email, name, role, banned, created_at, image }, password)))
    }

    pub(crate) async fn count_users(&self) -> DbResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    pub(crate) async fn get_user(&self, id: Uuid) -> DbResult<User> {
        sqlx::query_as::<_, User>("SELECT id, email, name, role, banned, created_at, image FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(DbError::NotFound)
    }

    pub(crate) async fn set_user_image(&self, id: Uuid, image: Option<&str>) -> DbResult<Option<String>> {
        let mut tx = self.begin_write().await?;
        let previous: Option<Option<String>> =
            sqlx::query_scalar("SELECT image FROM users WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let previous = previous.ok_or(DbError::NotFound)?;
        sqlx::query("UPDATE users SET image = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(image)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(previous)
    }

    pub(crate) async fn image_in_use(&self, image: &str) -> DbResult<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE image = $1)")
            .bind(image)
            .fetch_one(&self.pool)
            .await?)
    }
}
