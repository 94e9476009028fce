//! Conversations: the rules for titles and page sizes, and how a listing page ends. The statements
//! (create, change, delete, the sidebar listing by keyset cursor) are in `sql/conversations.rs`.

use crate::error::DbError;

/// The longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The title of a conversation created without one.
pub const DEFAULT_TITLE: &str = "New conversation";
/// The largest page any listing returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Trims a title and checks its length; an empty title becomes [`DEFAULT_TITLE`].
pub fn clean_title(title: &str) -> Result<String, DbError> {
    let title = title.trim();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(DbError::Invalid(format!("a title can be at most {MAX_TITLE_CHARS} characters")));
    }
    if title.chars().any(char::is_control) {
        return Err(DbError::Invalid("a title cannot contain control characters".into()));
    }
    Ok(if title.is_empty() { DEFAULT_TITLE.to_string() } else { title.to_string() })
}

/// Checks a requested page size against [`MAX_PAGE_SIZE`].
pub fn check_limit(limit: u32) -> Result<i64, DbError> {
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(DbError::Invalid(format!("limit must be between 1 and {MAX_PAGE_SIZE}")));
    }
    Ok(i64::from(limit))
}

/// A change to a conversation: whichever fields are present are set, in one statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationChange<'a> {
    pub title: Option<&'a str>,
    pub archived: Option<bool>,
}

/// A conversation title made from its first message: the first line, cut at a word near 60
/// characters. Used when a conversation is started by sending a message.
pub fn title_from_message(message: &str) -> String {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() <= 60 {
        return line.to_string();
    }
    let cut: String = line.chars().take(60).collect();
    let at_word = cut.rfind(' ').filter(|&i| i > 30).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end())
}

/// Cuts a `limit + 1` fetch down to `limit` rows and returns the cursor of the next page, if any.
pub(crate) fn page_end<T>(items: &mut Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor_of)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::title_from_message;

    #[test]
    fn titles_come_from_the_first_line_cut_at_a_word() {
        assert_eq!(title_from_message("\n  Tell me about tides\nand moons"), "Tell me about tides");
        let long = "word ".repeat(30);
        let title = title_from_message(&long);
        assert!(title.ends_with('…') && title.chars().count() <= 61, "{title}");
        assert!(!title.contains("wo…"), "cut at a word: {title}");
    }
}
