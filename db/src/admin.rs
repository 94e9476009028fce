//! The admin console's rules: the user listing's search, and what an admin may not do to keep the
//! instance manageable (remove its last admin, lock themselves out).

use crate::error::DbError;

/// The longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 100;
/// The longest ban reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// The message when a change would leave the instance without an admin.
pub const LAST_ADMIN: &str = "this is the last admin; make another user admin first";

/// The `LIKE` pattern of a search: lower-cased, its `%`, `_` and `\` escaped (the statements say
/// `ESCAPE '\'`), wrapped in `%` for a substring match; empty for no search.
pub fn search_pattern(search: &str) -> Result<String, DbError> {
    let search = search.trim().to_lowercase();
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(DbError::Invalid(format!("a search is at most {MAX_SEARCH_CHARS} characters")));
    }
    if search.is_empty() {
        return Ok(String::new());
    }
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Ok(pattern)
}

/// Trims a ban reason and checks its length (an empty one is no reason).
pub fn clean_reason(reason: Option<&str>) -> Result<Option<String>, DbError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS || r.chars().any(char::is_control)) {
        return Err(DbError::Invalid(format!("a ban reason is at most {MAX_REASON_CHARS} characters on one line")));
    }
    Ok(reason.map(str::to_string))
}

impl crate::Store {
    /// A page of users, newest first, narrowed by `search` (a substring of the email or the name;
    /// empty for all), with their activity.
    pub async fn list_users(
        &self,
        search: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> crate::DbResult<crate::model::Page<crate::model::AdminUser>> {
        dispatch!(self.list_users(search, cursor, limit))
    }

    /// Changes a user's role, refusing to demote the last admin who can act. Audited.
    pub async fn set_role(
        &self,
        actor: &crate::audit::Actor,
        id: uuid::Uuid,
        role: crate::model::Role,
    ) -> crate::DbResult<crate::model::User> {
        dispatch!(self.set_role(actor, id, role))
    }

    /// Bans a user with an optional reason: every session and token stops working at once and
    /// their connections close. Refuses the actor's own account and the last admin. Audited.
    pub async fn ban(&self, actor: &crate::audit::Actor, id: uuid::Uuid, reason: Option<&str>) -> crate::DbResult<()> {
        let ended = dispatch!(self.ban(actor, id, reason))?;
        // One announcement covers every credential of the user, however many sessions they had.
        self.revocations().announce([crate::revocations::Revoked::User(id)]);
        self.collect_ended_sessions(ended);
        Ok(())
    }

    /// Lifts a ban. Audited.
    pub async fn unban(&self, actor: &crate::audit::Actor, id: uuid::Uuid) -> crate::DbResult<()> {
        dispatch!(self.unban(actor, id))
    }

    /// Deletes a user and everything they own (conversations, messages, logs, sessions, tokens,
    /// preferences); their connections close. Refuses the actor's own account and the last admin.
    /// Audited. Returns the avatar key the user had, so its files can go if nobody else uses them.
    pub async fn delete_user(&self, actor: &crate::audit::Actor, id: uuid::Uuid) -> crate::DbResult<Option<String>> {
        let image = dispatch!(self.delete_user(actor, id))?;
        // Their logs went with them: nothing to collect; one announcement closes every socket.
        self.revocations().announce([crate::revocations::Revoked::User(id)]);
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_text_matches_literally() {
        assert_eq!(super::search_pattern("  ").ok().as_deref(), Some(""));
        assert_eq!(super::search_pattern("Ada").ok().as_deref(), Some("%ada%"));
        assert_eq!(super::search_pattern("50%_a\\b").ok().as_deref(), Some("%50\\%\\_a\\\\b%"));
        assert!(super::search_pattern(&"x".repeat(101)).is_err());
    }
}
