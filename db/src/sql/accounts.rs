//! Accounts: provider sign-in (find by subject, link by verified email, or create), the password's
//! hash and its change, and ending a user's other sessions.

use uuid::Uuid;

use super::Backend;
use crate::accounts::{Found, LinkPolicy, ProviderIdentity};
use crate::audit::{Action, Actor, Target};
use crate::clock::now_micros;
use crate::error::{DbError, DbResult};
use crate::model::User;
use crate::users::{clean_email, clean_name, NewRole, CREDENTIAL_PROVIDER};

/// The user behind a provider's subject: the OAuth callback's hot path, served by
/// `accounts_provider_account_idx`.
pub const BY_SUBJECT: &str = "SELECT u.id, u.email, u.name, u.role, u.banned, u.created_at, u.image
     FROM accounts a JOIN users u ON u.id = a.user_id
     WHERE a.provider_id = $1 AND a.account_id = $2";

impl Backend {
    pub(crate) async fn sign_in_with_provider(
        &self,
        who: &ProviderIdentity,
        policy: LinkPolicy,
    ) -> DbResult<(User, Found)> {
        let mut tx = self.begin_write().await?;
        Self::serialize_user_changes(&mut tx).await?;
        let known = sqlx::query_as::<_, User>(BY_SUBJECT)
            .bind(&who.provider)
            .bind(&who.subject)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(user) = known {
            return Ok((user, Found::Existing));
        }
        let email = clean_email(&who.email)
            .map_err(|_| DbError::Invalid("the provider did not give a usable email address".into()))?;
        let now = now_micros();
        let same_email = sqlx::query_as::<_, User>(
            "SELECT id, email, name, role, banned, created_at, image FROM users WHERE email = $1",
        )
        .bind(&email)
        .fetch_optional(&mut *tx)
        .await?;
        let (user, found) = match same_email {
            Some(user) if who.email_verified && policy.link_verified_email => {
                let verified: bool = sqlx::query_scalar("SELECT email_verified FROM users WHERE id = $1")
                    .bind(user.id)
                    .fetch_one(&mut *tx)
                    .await?;
                if verified {
                    (user, Found::Linked)
                } else {
                    // Nobody had proven this address: whoever registered it may not own it. The
                    // provider's verified email proves it now, so the account's other ways in
                    // (password, other providers, sessions, tokens) end and the owner takes it.
                    for statement in [
                        "DELETE FROM accounts WHERE user_id = $1",
                        "DELETE FROM sessions WHERE user_id = $1",
                        "DELETE FROM api_tokens WHERE user_id = $1",
                        "UPDATE users SET email_verified = TRUE WHERE id = $1",
                    ] {
                        sqlx::query(statement).bind(user.id).execute(&mut *tx).await?;
                    }
                    (user, Found::Claimed)
                }
            }
            Some(_) => {
                return Err(DbError::Conflict(format!(
                    "an account with the email {email} already exists and is not linked to this provider; \
                     sign in with your password instead"
                )))
            }
            None => {
                let name = clean_name(&who.name).or_else(|_| clean_name(email.split('@').next().unwrap_or("User")))?;
                // Only an address the provider vouches for can make an admin.
                let admin = policy.make_admin && who.email_verified;
                let role = if admin { NewRole::Admin } else { NewRole::FirstIsAdmin };
                let user = Self::insert_user(&mut tx, &email, &name, who.email_verified, role, now).await?;
                if admin {
                    let actor = Actor { id: None, email: "MOSAIC_ADMIN_EMAIL".into() };
                    let detail = serde_json::json!({ "from": null, "to": "admin", "provider": who.provider });
                    Self::record(&mut tx, &actor, Action::UserRole, &Target::user(user.id, &user.email), detail)
                        .await?;
                }
                (user, Found::Created)
            }
        };
        Self::insert_account(&mut tx, user.id, &who.provider, &who.subject, None, now).await?;
        tx.commit().await?;
        Ok((user, found))
    }

    pub(crate) async fn password_hash(&self, user_id: Uuid) -> DbResult<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT password FROM accounts WHERE user_id = $1 AND provider_id = $2")
                .bind(user_id)
                .bind(CREDENTIAL_PROVIDER)
                .fetch_optional(&self.pool)
                .await?;
        Ok(hash.flatten())
    }

    pub(crate) async fn change_password(&self, user_id: Uuid, hash: &str, keep_session: Uuid) -> DbResult<Vec<Uuid>> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE accounts SET password = $3, updated_at = $4 WHERE user_id = $1 AND provider_id = $2")
                .bind(user_id)
                .bind(CREDENTIAL_PROVIDER)
                .bind(hash)
                .bind(now_micros())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::Invalid("this account signs in through a provider and has no password".into()));
        }
        let ended = Self::end_other_sessions(&mut tx, user_id, keep_session).await?;
        tx.commit().await?;
        Ok(ended)
    }

    pub(crate) async fn revoke_other_sessions(&self, user_id: Uuid, keep_session: Uuid) -> DbResult<Vec<Uuid>> {
        let mut tx = self.begin_write().await?;
        let ended = Self::end_other_sessions(&mut tx, user_id, keep_session).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn end_other_sessions(
        tx: &mut sqlx::Transaction<'static, super::Db>,
        user_id: Uuid,
        keep_session: Uuid,
    ) -> DbResult<Vec<Uuid>> {
        Ok(sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
            .bind(user_id)
            .bind(keep_session)
            .fetch_all(&mut **tx)
            .await?)
    }

    pub(crate) async fn put_verification(&self, identifier: &str, value: &str, expires_at: i64) -> DbResult<()> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO verifications (id, identifier, value, expires_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(identifier)
        .bind(value)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn take_verification(&self, identifier: &str) -> DbResult<Option<String>> {
        let values: Vec<(String, i64)> =
            sqlx::query_as("DELETE FROM verifications WHERE identifier = $1 RETURNING value, expires_at")
                .bind(identifier)
                .fetch_all(&self.pool)
                .await?;
        let now = now_micros();
        Ok(values.into_iter().find(|(_, expires_at)| *expires_at > now).map(|(value, _)| value))
    }
}
