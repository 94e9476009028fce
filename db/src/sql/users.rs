//! Users and their email + password accounts.

use uuid::Uuid;

use super::Backend;
use crate::clock::now_micros;
use crate::error::{is_unique_violation, DbError, DbResult};
use crate::model::{Role, User};
use crate::users::{clean_email, clean_name, CREDENTIAL_PROVIDER};

/// The user behind an email and their password hash (sign-in). Served by the unique index on
/// `users.email`.
pub const CREDENTIALS: &str = "SELECT u.id, u.email, u.name, u.role, u.banned, u.created_at, u.image, a.password
     FROM users u JOIN accounts a ON a.user_id = u.id AND a.provider_id = $2
     WHERE u.email = $1";

impl Backend {
    pub(crate) async fn create_user_with_password(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
    ) -> DbResult<User> {
        let email = clean_email(email)?;
        let name = clean_name(name)?;
        let now = now_micros();
        let id = Uuid::now_v7();
        let mut tx = self.begin_write().await?;
        Self::serialize_sign_ups(&mut tx).await?;
        // The first account of the instance becomes its admin.
        let role: String =
            sqlx::query_scalar("SELECT CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'member' ELSE 'admin' END")
                .fetch_one(&mut *tx)
                .await?;
        let user = sqlx::query_as::<_, User>(
            "INSERT INTO users (id, email, name, role, banned, created_at, updated_at)
             VALUES ($1, $2, $3, $4, FALSE, $5, $5)
             RETURNING id, email, name, role, banned, created_at, image",
        )
        .bind(id)
        .bind(&email)
        .bind(&name)
        .bind(&role)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DbError::Conflict("an account with this email already exists".into())
            } else {
                e.into()
            }
        })?;
        sqlx::query(
            "INSERT INTO accounts (id, user_id, provider_id, account_id, password, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(CREDENTIAL_PROVIDER)
        .bind(id.to_string())
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(user)
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

    pub(crate) async fn set_banned(&self, id: Uuid, banned: bool, reason: Option<&str>) -> DbResult<Vec<Uuid>> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET banned = $2, ban_reason = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(banned)
            .bind(reason)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        let ended = if banned {
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(ended)
    }
}
