//! Revocations: the moment a credential stops being valid, connections that were authenticated by
//! it must close, not wait for their next request to be refused. Every data-layer operation that
//! ends sessions or tokens (sign-out, revoke, ban, delete, password change) announces what it ended
//! here, after its transaction committed; the announcement travels on the [`bus`](crate::bus) to
//! every instance sharing the database, and the WebSocket gateway of each closes the sockets opened
//! with it.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::bus::{Bus, Signal};

/// A credential that just ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
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
pub struct Revocations(pub(crate) Bus);

impl Revocations {
    /// Listens for revocations from now on, from every instance: [`Signal::Revoked`], and
    /// [`Signal::Missed`] when some may have been lost (then ask [`crate::Store::credential_live`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.0.sessions()
    }

    /// Announces ended credentials (nobody listening is fine).
    pub(crate) fn announce(&self, revoked: impl IntoIterator<Item = Revoked>) {
        for revoked in revoked {
            self.0.publish(Signal::Revoked { revoked });
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
