//! Revocations: the moment a credential stops being valid, connections that were authenticated by
//! it must close, not wait for their next request to be refused. Every data-layer operation that
//! ends sessions or tokens (sign-out, revoke, ban, delete, password change) announces what it ended
//! here, after its transaction committed; the WebSocket gateway listens and closes the sockets
//! opened with it.
//!
//! The channel is this process's: with several instances the announcement must also travel between
//! them (the scale-out issue), and until then a socket on another instance is refused at its next
//! event.

use std::sync::Arc;

use tokio::sync::broadcast;
use uuid::Uuid;

/// Announcements kept for listeners that fall behind (a listener that lags closes its socket).
const CAPACITY: usize = 1024;

/// A credential that just ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// One sign-in session.
    Session(Uuid),
    /// One personal API token.
    Token(Uuid),
    /// Every credential of a user (banned or deleted).
    User(Uuid),
}

/// The announcer of ended credentials; cheap to clone, shared by every clone of the store.
#[derive(Clone, Debug)]
pub struct Revocations(Arc<broadcast::Sender<Revoked>>);

impl Default for Revocations {
    fn default() -> Self {
        Revocations(Arc::new(broadcast::channel(CAPACITY).0))
    }
}

impl Revocations {
    /// Listens for revocations from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Revoked> {
        self.0.subscribe()
    }

    /// Announces ended credentials (nobody listening is fine).
    pub(crate) fn announce(&self, revoked: impl IntoIterator<Item = Revoked>) {
        for r in revoked {
            let _ = self.0.send(r);
        }
    }
}

impl crate::Store {
    /// Whether the session or token `id` is still live (not ended, not expired, its user not
    /// banned): what a connection checks when it may have missed an announcement.
    pub async fn credential_live(&self, id: Uuid) -> crate::DbResult<bool> {
        Ok(self.credential_ends_at(id).await?.is_some())
    }

    /// When the session or token `id` ends if nothing changes (a session's idle or absolute expiry,
    /// whichever is first; a token's expiry, `i64::MAX` for never), or `None` when it is not live.
    /// A connection waits until then and asks again: the session may have been extended meanwhile.
    pub async fn credential_ends_at(&self, id: Uuid) -> crate::DbResult<Option<i64>> {
        dispatch!(self.credential_ends_at(id))
    }
}
