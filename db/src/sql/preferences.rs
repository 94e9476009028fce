//! Preferences: one-statement upserts that respect enforcement, the effective set in one query,
//! and the platform layer an admin manages.

use serde_json::Value;
use uuid::Uuid;

use super::{Backend, Db};
use crate::audit::{Action, Actor, Target};
use crate::clock::now_micros;
use crate::error::{DbError, DbResult};
use crate::model::{PlatformPreference, Preference};
use crate::preferences::{check_key, check_key_format, check_value, default_of, effective, Layer};

/// Every stored row that bears on a user's preferences, with its layer (0 platform default, 1 the
/// user's own, 2 enforced): merged over the built-in defaults, this is the effective set, in one
/// query.
pub const EFFECTIVE: &str = "SELECT key, value, mutable, 1 AS layer FROM preferences WHERE user_id = $1
     UNION ALL
     SELECT key, value, NOT enforced, CASE WHEN enforced THEN 2 ELSE 0 END FROM platform_preferences";

/// A user's write: inserted, or updated unless their row is locked, and neither when the platform
/// enforces the key. One statement, so racing writers never fail or duplicate.
const SET: &str = "INSERT INTO preferences (id, user_id, key, value, mutable, created_at, updated_at)
     SELECT $1, $2, $3, $4, TRUE, $5, $5
     WHERE NOT EXISTS (SELECT 1 FROM platform_preferences WHERE key = $3 AND enforced)
     ON CONFLICT (user_id, key) DO UPDATE
     SET value = excluded.value, updated_at = excluded.updated_at
     WHERE preferences.mutable";

/// Whether the platform enforces a key.
const IS_ENFORCED: &str = "SELECT EXISTS (SELECT 1 FROM platform_preferences WHERE key = $1 AND enforced)";

impl Backend {
    pub(crate) async fn set_preference(&self, user_id: Uuid, key: &str, value: &Value) -> DbResult<()> {
        check_key(key)?;
        check_value(value)?;
        let done = sqlx::query(SET)
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
        let rows: Vec<(String, sqlx::types::Json<Value>, bool, i32)> =
            sqlx::query_as(EFFECTIVE).bind(user_id).fetch_all(&mut **conn).await?;
        Ok(effective(rows.into_iter().map(|(k, v, m, layer)| (k, v.0, m, Layer::of(layer))).collect()))
    }

    /// The effective value of one key (enforced, else the user's row, else the platform default,
    /// else the built-in default), on the caller's connection, in one query.
    pub(crate) async fn preference_on(
        conn: &mut sqlx::pool::PoolConnection<Db>,
        user_id: Uuid,
        key: &str,
    ) -> DbResult<Option<Value>> {
        let row: Option<sqlx::types::Json<Value>> = sqlx::query_scalar(
            "SELECT value FROM (
                 SELECT value, 1 AS layer FROM preferences WHERE user_id = $1 AND key = $2
                 UNION ALL
                 SELECT value, CASE WHEN enforced THEN 2 ELSE 0 END FROM platform_preferences WHERE key = $2
             ) AS layers ORDER BY layer DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(&mut **conn)
        .await?;
        Ok(row.map(|v| v.0).or_else(|| default_of(key)))
    }

    pub(crate) async fn delete_preference(&self, user_id: Uuid, key: &str) -> DbResult<()> {
        check_key(key)?;
        let enforced: bool = sqlx::query_scalar(IS_ENFORCED).bind(key).fetch_one(&self.pool).await?;
        if enforced {
            return Err(DbError::Immutable(key.to_string()));
        }
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

    pub(crate) async fn list_platform_preferences(&self) -> DbResult<Vec<PlatformPreference>> {
        let rows: Vec<(String, sqlx::types::Json<Value>, bool, i64)> =
            sqlx::query_as("SELECT key, value, enforced, updated_at FROM platform_preferences ORDER BY key LIMIT 500")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(key, value, enforced, updated_at)| PlatformPreference { key, value: value.0, enforced, updated_at })
            .collect())
    }

    pub(crate) async fn set_platform_preference(
        &self,
        actor: &Actor,
        key: &str,
        value: &Value,
        enforced: bool,
    ) -> DbResult<()> {
        check_key_format(key)?;
        check_value(value)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO platform_preferences (key, value, enforced, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE
             SET value = excluded.value, enforced = excluded.enforced, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(sqlx::types::Json(value))
        .bind(enforced)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({ "value": value, "enforced": enforced });
        Self::record(&mut tx, actor, Action::PreferenceSet, &Target::named(key), detail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_platform_preference(&self, actor: &Actor, key: &str) -> DbResult<()> {
        check_key_format(key)?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM platform_preferences WHERE key = $1").bind(key).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Self::record(&mut tx, actor, Action::PreferenceDelete, &Target::named(key), serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(())
    }
}
