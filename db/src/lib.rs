//! Mosaic's data layer.
//!
//! One contract, [`Store`], with two sqlx implementations: [`SqliteStore`] (the embedded default)
//! and [`PgStore`] (the scale-out engine). Each concern has a module here for its rules (limits,
//! validation, defaults) and a file in `sql/` for its statements, written once and compiled once per
//! engine (`sqlite.rs` and `postgres.rs` each declare `sql/` with their own database type).
//!
//! Every by-id operation takes the caller's user id, and another user's row is [`DbError::NotFound`].
//! Listings are keyset-paginated with opaque cursors ([`cursor`]), so every page costs the same.
//!
//! Without the `server` feature only [`model`] is compiled: the row types the browser build shares.

pub mod model;

/// Forwards a contract method of [`Store`] to the same-named operation of the engine in use.
#[cfg(feature = "server")]
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            $crate::Store::Sqlite(s) => s.$method($($arg),*).await,
            $crate::Store::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

#[cfg(feature = "server")]
pub mod accounts;
#[cfg(feature = "server")]
pub mod admin;
#[cfg(feature = "server")]
pub mod agent_logs;
#[cfg(feature = "server")]
pub mod api_tokens;
#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod bus;
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
pub mod gc;
#[cfg(feature = "server")]
pub mod jobs;
#[cfg(feature = "server")]
pub mod messages;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod portability;
#[cfg(feature = "server")]
pub mod postgres;
#[cfg(feature = "server")]
pub mod preferences;
#[cfg(feature = "server")]
pub mod replies;
#[cfg(feature = "server")]
pub mod revocations;
#[cfg(feature = "server")]
pub mod search;
#[cfg(feature = "server")]
pub mod sessions;
#[cfg(feature = "server")]
pub mod sqlite;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod throttle;
#[cfg(feature = "server")]
pub mod token;
#[cfg(feature = "server")]
pub mod transfer;
#[cfg(feature = "server")]
pub mod users;

#[cfg(feature = "server")]
pub use error::{DbError, DbResult};
#[cfg(feature = "server")]
pub use postgres::PgStore;
#[cfg(feature = "server")]
pub use sqlite::SqliteStore;
#[cfg(feature = "server")]
pub use store::{Engine, PoolSettings, Store};
