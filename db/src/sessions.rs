//! Server-side sessions: created at sign-in, looked up by the hash of the cookie's token, expired
//! by idle time and by absolute age, revoked at sign-out or from the settings page.

/// How long sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long (microseconds) expires.
    pub idle: i64,
    /// No session outlives this (microseconds since sign-in).
    pub absolute: i64,
}

impl SessionPolicy {
    /// Hours of disuse after which a session expires, when MOSAIC_SESSION_IDLE_HOURS is not set.
    pub const DEFAULT_IDLE_HOURS: u32 = 7 * 24;
    /// Days after sign-in that no session outlives, when MOSAIC_SESSION_MAX_DAYS is not set.
    pub const DEFAULT_MAX_DAYS: u32 = 30;

    /// A policy of `idle_hours` of disuse and `max_days` in all.
    pub fn new(idle_hours: u32, max_days: u32) -> SessionPolicy {
        use crate::clock::SECOND;
        SessionPolicy {
            idle: i64::from(idle_hours) * 3600 * SECOND,
            absolute: i64::from(max_days) * 24 * 3600 * SECOND,
        }
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy::new(Self::DEFAULT_IDLE_HOURS, Self::DEFAULT_MAX_DAYS)
    }
}

/// Only bump `last_seen_at` when it is older than this, so reads do not turn into a write each.
pub const TOUCH_EVERY: i64 = 60 * crate::clock::SECOND;

/// A live session and its user, as resolved from a cookie.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveSession {
    pub id: uuid::Uuid,
    pub user: crate::model::User,
}
