//! Preferences: the platform's defaults overlaid by each user's own rows.
//!
//! Layers, lowest first: [`DEFAULTS`], then the user's rows. A row marked not mutable (set by the
//! platform or an admin) cannot be changed or deleted by the user, and keys in [`ENFORCED`] cannot
//! be written by users at all. A write is one `INSERT … ON CONFLICT (user_id, key) DO UPDATE`
//! statement, so two writers racing on a key never fail and never duplicate it.

use serde_json::{json, Value};

use crate::error::DbError;
use crate::model::Preference;

/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 64;
/// The largest value accepted, in bytes of JSON.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Built-in defaults every user starts from.
pub fn defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("theme", json!("system")),
        ("chat.sendOnEnter", json!(true)),
        ("chat.model", Value::Null),
        ("chat.historyBudgetTokens", json!(8000)),
        ("ui.density", json!("comfortable")),
        ("ui.timestamps", json!("relative")),
    ]
}

/// Keys only the platform sets; a user's write to them is refused.
pub const ENFORCED: &[&str] = &["platform.maxUploadBytes"];

/// Checks a key: 1 to 64 characters of `a-z A-Z 0-9 . _ -`.
pub fn check_key(key: &str) -> Result<(), DbError> {
    let ok_chars = key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !ok_chars {
        return Err(DbError::Invalid(format!(
            "a preference key is 1 to {MAX_KEY_CHARS} characters of letters, digits, '.', '_' and '-'"
        )));
    }
    if ENFORCED.contains(&key) {
        return Err(DbError::Immutable(key.to_string()));
    }
    Ok(())
}

/// Checks a value's size.
pub fn check_value(value: &Value) -> Result<(), DbError> {
    if value.to_string().len() > MAX_VALUE_BYTES {
        return Err(DbError::Invalid(format!(
            "a preference value can be at most {} KiB of JSON",
            MAX_VALUE_BYTES / 1024
        )));
    }
    Ok(())
}

/// Merges the user's rows over the defaults, sorted by key.
pub fn effective(rows: Vec<(String, Value, bool)>) -> Vec<Preference> {
    let mut merged: std::collections::BTreeMap<String, Preference> = defaults()
        .into_iter()
        .map(|(key, value)| {
            (key.to_string(), Preference { key: key.to_string(), value, mutable: true, is_default: true })
        })
        .collect();
    for (key, value, mutable) in rows {
        merged.insert(key.clone(), Preference { key, value, mutable, is_default: false });
    }
    merged.into_values().collect()
}

/// Implements the preference operations on a backend store type.
macro_rules! preference_ops {
    ($store:ty) => {
        impl $store {
            pub(crate) async fn set_preference(
                &self,
                user_id: Uuid,
                key: &str,
                value: &serde_json::Value,
            ) -> DbResult<()> {
                preferences::check_key(key)?;
                preferences::check_value(value)?;
                self.upsert_preference(user_id, key, value, true).await
            }

            /// Writes a row the user cannot change afterwards (platform or admin enforcement).
            pub(crate) async fn enforce_preference(
                &self,
                user_id: Uuid,
                key: &str,
                value: &serde_json::Value,
            ) -> DbResult<()> {
                preferences::check_value(value)?;
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

            async fn upsert_preference(
                &self,
                user_id: Uuid,
                key: &str,
                value: &serde_json::Value,
                mutable: bool,
            ) -> DbResult<()> {
                // One statement: insert, or update unless the existing row is locked.
                let done = sqlx::query(
                    "INSERT INTO preferences (id, user_id, key, value, mutable, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)
                     ON CONFLICT (user_id, key) DO UPDATE
                     SET value = excluded.value, updated_at = excluded.updated_at
                     WHERE preferences.mutable",
                )
                .bind(Uuid::now_v7())
                .bind(user_id)
                .bind(key)
                .bind(sqlx::types::Json(value))
                .bind(mutable)
                .bind(now_micros())
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(DbError::Immutable(key.to_string()));
                }
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
                let rows: Vec<(String, sqlx::types::Json<serde_json::Value>, bool)> =
                    sqlx::query_as("SELECT key, value, mutable FROM preferences WHERE user_id = $1")
                        .bind(user_id)
                        .fetch_all(&mut **conn)
                        .await?;
                Ok(preferences::effective(rows.into_iter().map(|(k, v, m)| (k, v.0, m)).collect()))
            }

            pub(crate) async fn delete_preference(&self, user_id: Uuid, key: &str) -> DbResult<()> {
                preferences::check_key(key)?;
                // Deleting only mutable rows; a locked row is reported, an absent one is already "deleted".
                let locked: Option<bool> = sqlx::query_scalar(
                    "DELETE FROM preferences WHERE user_id = $1 AND key = $2 AND mutable
                     RETURNING FALSE",
                )
                .bind(user_id)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
                if locked.is_none() {
                    let exists: Option<bool> =
                        sqlx::query_scalar("SELECT mutable FROM preferences WHERE user_id = $1 AND key = $2")
                            .bind(user_id)
                            .bind(key)
                            .fetch_optional(&self.pool)
                            .await?;
                    if exists == Some(false) {
                        return Err(DbError::Immutable(key.to_string()));
                    }
                }
                Ok(())
            }
        }
    };
}
pub(crate) use preference_ops;
