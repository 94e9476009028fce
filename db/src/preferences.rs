//! Preferences: the platform's defaults overlaid by each user's own rows, and enforcement on top.
//!
//! Layers, lowest first ("enforcement wins", as in the original): the built-in [`defaults`], the
//! platform defaults an admin set (`platform_preferences` not enforced), the user's own rows, and
//! the values the platform enforces (`platform_preferences` enforced). The effective set is one
//! query over both tables, merged here ([`effective`]). A user's write to an enforced key, or to a
//! row locked for them (`mutable = FALSE`), is refused naming the key, and keys in [`ENFORCED`]
//! cannot be written by users at all. A write is one `INSERT … ON CONFLICT (user_id, key) DO UPDATE`
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

pub use crate::model::SEND_ON_ENTER;

/// Built-in defaults every user starts from.
pub fn defaults() -> Vec<(&'static str, Value)> {
    vec![
        ("theme", json!("system")),
        (SEND_ON_ENTER, json!(true)),
        (CHAT_MODEL, Value::Null),
        ("chat.historyBudgetTokens", json!(8000)),
        ("ui.density", json!("comfortable")),
        ("ui.timestamps", json!("relative")),
    ]
}

/// Keys only the platform sets; a user's write to them is refused.
pub const ENFORCED: &[&str] = &["platform.maxUploadBytes"];

/// Checks a key's spelling: 1 to 64 characters of `a-z A-Z 0-9 . _ -`.
pub fn check_key_format(key: &str) -> Result<(), DbError> {
    let ok_chars = key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !ok_chars {
        return Err(DbError::Invalid(format!(
            "a preference key is 1 to {MAX_KEY_CHARS} characters of letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Checks a key a user writes: well spelled, and not one only the platform sets.
pub fn check_key(key: &str) -> Result<(), DbError> {
    check_key_format(key)?;
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

/// Which layer a stored preference row belongs to, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// A platform default (`platform_preferences`, not enforced).
    Platform = 0,
    /// The user's own row (`preferences`).
    User = 1,
    /// A value the platform enforces (`platform_preferences`, enforced).
    Enforced = 2,
}

impl Layer {
    /// The layer of the number the effective-set query returns for it.
    pub fn of(n: i32) -> Layer {
        match n {
            0 => Layer::Platform,
            1 => Layer::User,
            _ => Layer::Enforced,
        }
    }
}

/// Merges stored rows `(key, value, mutable, layer)` over the built-in defaults, each layer over
/// the ones below it, sorted by key.
pub fn effective(mut rows: Vec<(String, Value, bool, Layer)>) -> Vec<Preference> {
    let mut merged: std::collections::BTreeMap<String, Preference> = defaults()
        .into_iter()
        .map(|(key, value)| {
            (key.to_string(), Preference { key: key.to_string(), value, mutable: true, is_default: true })
        })
        .collect();
    rows.sort_by_key(|row| row.3);
    for (key, value, mutable, layer) in rows {
        let preference = match layer {
            Layer::Platform => Preference { key: key.clone(), value, mutable: true, is_default: true },
            Layer::User => Preference { key: key.clone(), value, mutable, is_default: false },
            Layer::Enforced => Preference { key: key.clone(), value, mutable: false, is_default: false },
        };
        merged.insert(key, preference);
    }
    merged.into_values().collect()
}

impl crate::Store {
    /// The platform layer: defaults and enforced values, by key.
    pub async fn list_platform_preferences(&self) -> crate::DbResult<Vec<crate::model::PlatformPreference>> {
        dispatch!(self.list_platform_preferences())
    }

    /// Sets a platform default, or an enforced value that wins over every user's own. Audited.
    pub async fn set_platform_preference(
        &self,
        actor: &crate::audit::Actor,
        key: &str,
        value: &Value,
        enforced: bool,
    ) -> crate::DbResult<()> {
        dispatch!(self.set_platform_preference(actor, key, value, enforced))
    }

    /// Removes a platform default or enforcement. Audited.
    pub async fn delete_platform_preference(&self, actor: &crate::audit::Actor, key: &str) -> crate::DbResult<()> {
        dispatch!(self.delete_platform_preference(actor, key))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{effective, Layer};

    #[test]
    fn enforcement_wins_over_the_user_who_wins_over_the_platform_default() {
        let rows = vec![
            ("theme".to_string(), json!("light"), true, Layer::User),
            ("theme".to_string(), json!("dark"), false, Layer::Enforced),
            ("ui.density".to_string(), json!("compact"), true, Layer::User),
            ("ui.density".to_string(), json!("cozy"), true, Layer::Platform),
            ("chat.sendOnEnter".to_string(), json!(false), true, Layer::Platform),
        ];
        let prefs = effective(rows);
        let get = |k: &str| prefs.iter().find(|p| p.key == k).cloned().expect("key");
        assert_eq!((get("theme").value, get("theme").mutable), (json!("dark"), false));
        assert_eq!((get("ui.density").value, get("ui.density").is_default), (json!("compact"), false));
        assert_eq!((get("chat.sendOnEnter").value, get("chat.sendOnEnter").is_default), (json!(false), true));
    }
}
