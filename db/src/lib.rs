//! Mosaic's data layer.
//!
//! One contract, [`Store`], with two sqlx implementations: [`SqliteStore`] (the embedded default)
//! and [`PgStore`] (the scale-out engine). The SQL of each operation is written once, next to the
//! code that runs it, in the module named after its concern; each backend instantiates it.
//!
//! Every by-id operation takes the caller's user id, and another user's row is [`DbError::NotFound`].
//! Listings are keyset-paginated with opaque cursors ([`cursor`]), so every page costs the same.
//!
//! Without the `server` feature only [`model`] is compiled: the row types the browser build shares.

pub mod model;

#[cfg(feature = "server")]
pub mod agent_logs;
#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod conversations;
#[cfg(feature = "server")]
pub mod cursor;
#[cfg(feature = "server")]
pub mod dashboard;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod jobs;
#[cfg(feature = "server")]
pub mod messages;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod postgres;
#[cfg(feature = "server")]
pub mod preferences;
#[cfg(feature = "server")]
pub mod sessions;
#[cfg(feature = "server")]
pub mod sqlite;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod token;
#[cfg(feature = "server")]
pub mod users;

#[cfg(feature = "server")]
pub use error::{DbError, DbResult};
#[cfg(feature = "server")]
pub use postgres::PgStore;
#[cfg(feature = "server")]
pub use sqlite::SqliteStore;
#[cfg(feature = "server")]
pub use store::{PoolSettings, Store};

/// What the backend modules see when they instantiate the operation macros.
#[cfg(feature = "server")]
pub(crate) mod ops_prelude {
    pub(crate) use crate::agent_logs::{self, NewAgentLog};
    pub(crate) use crate::clock::now_micros;
    pub(crate) use crate::conversations;
    pub(crate) use crate::cursor::{Cursor, CursorKind};
    pub(crate) use crate::error::is_unique_violation;
    pub(crate) use crate::jobs::JobRun;
    pub(crate) use crate::messages::{self, MessagePage, MessageQuery, NewMessage};
    pub(crate) use crate::model::*;
    pub(crate) use crate::preferences;
    pub(crate) use crate::sessions::{self, ActiveSession, SessionPolicy};
    pub(crate) use crate::users;
    pub(crate) use uuid::Uuid;
}
