//! Users and their email + password accounts.
//!
//! As in the original system, a user's password hash lives in `accounts` under the provider id
//! `credential`, next to any OAuth/OIDC accounts the same user may link later.

use crate::error::DbError;

/// The provider id of email + password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";
/// The longest email accepted.
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest display name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// Who becomes what when an account is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewRole {
    /// Admin when the instance has no user yet, member otherwise (sign-up).
    FirstIsAdmin,
    /// Admin: bootstrap, or an address listed in MOSAIC_ADMIN_EMAIL.
    Admin,
}

/// Normalises and checks an email address (lower-cased, trimmed, one `@` with text on both sides).
pub fn clean_email(email: &str) -> Result<String, DbError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'));
    if !valid {
        return Err(DbError::Invalid("enter a valid email address, like name@example.com".into()));
    }
    Ok(email)
}

/// Trims and checks a display name.
pub fn clean_name(name: &str) -> Result<String, DbError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(DbError::Invalid(format!("a name is 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_string())
}
