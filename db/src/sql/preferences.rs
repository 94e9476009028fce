//! Preferences: one-statement upserts, locks, and the effective set in one query.

use serde_json::Value;
use uuid::Uuid;

use super::{Backend, Db};
use crate::clock::now_micros;
use crate::error::{DbError, DbResult};
use crate::model::Preference;
use crate::preferences::{check_key, check_value, default_of, effective};

/// Every row of a user's preferences; merged over the defaults, this is the effective set.
pub const EFFECTIVE: &str = "SELECT key, value, mutable FROM preferences WHERE user_id = $1";

impl Backend {
    pub(crate) async fn set_preference(&self, user_id: Uuid, key: &str, value: &Value) -> DbResult<()> {
        check_key(key)?;
        check_value(value)?;
        // One statement: insert, or update unless the existing row is locked.
        let done = sqlx::query(
            "INSERT INTO preferences (id, user_id, key, value, mutable, created_at, updated_at)
             VALUES ($1, $2, $3, $4, TRUE, $5, $5)
             ON CONFLICT (user_id, key) DO UPDATE
             SET value = excluded.value, updated_at = excluded.updated_at
             WHERE preferences.mutable",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(key)
        .bind(sqlx::types::Json(value))
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::Immutable(key.to_string()));
        }
        Ok(())
    }

    /// Writes a row the user cannot change afterwards (platform or admin enforcement).
    pub(crate) async fn enforce_preference(&self, user_id: Uuid, key: &str, value: &Value) -> DbResult<()> {
        check_value(value)?;
        sqlx::query(
            "INSERT INTO preferences (id, user_id, key, value, mutable, created_at, updated_at)
             VALUES ($1, $2, $3, $4, FALSE, $5, $5)
             ON CONFLICT (user_id, key) DO UPDATE
             SET value = excluded.value, mutable = FALSE, updated_at = excluded.updated_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(key)
        .bind(sqlx::types::Json(value))
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn effective_preferences(&self, user_id: Uuid) -> DbResult<Vec<Preference>> {
        let mut conn = self.pool.acquire().await?;
        Self::effective_preferences_on(&mut conn, user_id).await
    }

    /// [`Self::effective_preferences`] on a connection the caller holds.
    pub(crate) async fn effective_preferences_on(
        conn: &mut sqlx::pool::PoolConnection<Db>,
        user_id: Uuid,
    ) -> DbResult<Vec<Preference>> {
        let rows: Vec<(String, sqlx::types::Json<Value>, bool)> =
            sqlx::query_as(EFFECTIVE).bind(user_id).fetch_all(&mut **conn).await?;
        Ok(effective(rows.into_iter().map(|(k, v, m)| (k, v.0, m)).collect()))
    }

    /// The effective value of one key (the user's row, else the default), on the caller's connection.
    pub(crate) async fn preference_on(
        conn: &mut sqlx::pool::PoolConnection<Db>,
        user_id: Uuid,
        key: &str,
    ) -> DbResult<Option<Value>> {
        let row: Option<sqlx::types::Json<Value>> =
            sqlx::query_scalar("SELECT value FROM preferences WHERE user_id = $1 AND key = $2")
                .bind(user_id)
                .bind(key)
                .fetch_optional(&mut **conn)
                .await?;
        Ok(row.map(|v| v.0).or_else(|| default_of(key)))
    }

    pub(crate) async fn delete_preference(&self, user_id: Uuid, key: &str) -> DbResult<()> {
        check_key(key)?;
        // Deleting only mutable rows; a locked row is reported, an absent one is already "deleted".
        let deleted: Option<bool> =
            sqlx::query_scalar("DELETE FROM preferences WHERE user_id = $1 AND key = $2 AND mutable RETURNING FALSE")
                .bind(user_id)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        if deleted.is_none() {
            let mutable: Option<bool> =
                sqlx::query_scalar("SELECT mutable FROM preferences WHERE user_id = $1 AND key = $2")
                    .bind(user_id)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
            if mutable == Some(false) {
                return Err(DbError::Immutable(key.to_string()));
            }
        }
        Ok(())
    }
}
