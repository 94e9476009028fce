//! Preferences: the platform's defaults overlaid by each user's own rows.
//!
//! Layers, lowest first: [`defaults`], then the user's rows. A row marked not mutable (set by the
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

/// The key of the user's model pick (`provider/model`), remembered from the composer's picker.
pub const CHAT_MODEL: &str = "chat.model";

/// Built-in defaults every user starts from.
pub fn defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("theme", json!("system")),
        ("chat.sendOnEnter", json!(true)),
        (CHAT_MODEL, Value::Null),
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

/// The built-in default of one key, if it has one.
pub fn default_of(key: &str) -> Option<Value> {
    defaults().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
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
