//! The SQLite implementation of the store: the embedded default, one file under the data directory.
//!
//! Every connection runs in WAL mode with `synchronous = NORMAL` (durable across application crashes,
//! which `server/tests/durability.rs` proves with SIGKILL; the last commits can be lost only on a
//! power failure or an OS crash), or `FULL` when the operator asks for that too, a busy timeout so writers queue instead of
//! failing, and foreign keys on. Multi-statement writes begin `IMMEDIATE`, taking the write lock up
//! front so a transaction that reads before it writes can never fail to upgrade.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::{DbError, DbResult, PoolSettings};

/// The sqlx database the shared statements (`sql/`) run on here.
pub(crate) type Db = Sqlite;
/// The store type the shared statements (`sql/`) implement here.
pub(crate) type Backend = SqliteStore;

/// How long a writer waits for the write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store; cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// Signals to this instance and the others sharing the database (see [`crate::bus`]).
    pub(crate) bus: crate::bus::Bus,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its directory, then applies migrations.
    pub async fn connect(settings: &PoolSettings) -> DbResult<SqliteStore> {
        if settings.bus_url.is_some() {
            return Err(DbError::Invalid(
                "MOSAIC_BUS_URL is for several instances on PostgreSQL; a SQLite database serves one".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(&settings.url)
            .map_err(|e| DbError::Invalid(format!("DATABASE_URL is not a valid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if settings.sqlite_full_sync { SqliteSynchronous::Full } else { SqliteSynchronous::Normal })
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // 4 MB of page cache per connection: the file's pages are in the OS cache anyway, shared
            // by every connection, and 20 connections × 16 MB took resident memory past 120 MB at
            // 100 000 conversations without making any page faster.
            .pragma("cache_size", "-4000")
            // Results come back from each connection's worker thread through a channel; room for a
            // whole page (and then some) keeps the worker from stalling mid-result.
            .row_buffer_size(256);
        if let Some(dir) = Path::new(options.get_filename()).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                DbError::Unavailable(format!("cannot create the data directory {}: {e}", dir.display()))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            // A local file cannot drop a connection: skip the ping sqlx otherwise sends on every
            // acquire (a round trip to the connection's thread, doubling the hops per statement).
            .test_before_acquire(false)
            // Each checkout emits a TRACE event (off unless RUST_LOG asks for it), which the tests
            // count to prove a page or a chat send takes a fixed number of connections.
            .acquire_time_level(log::LevelFilter::Trace)
            .max_connections(settings.max_connections)
            .idle_timeout(settings.idle_timeout)
            .acquire_timeout(settings.connect_timeout)
            .connect_with(options);
        let pool = tokio::time::timeout(settings.connect_timeout, pool).await.map_err(|_| {
            DbError::Unavailable(format!("could not open {} within {:?}", settings.url, settings.connect_timeout))
        })??;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool, bus: crate::bus::Bus::local() })
    }

    /// The underlying pool, for tests and tools that need raw SQL (EXPLAIN, bulk seeding).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins a write transaction that holds the write lock from its first statement.
    pub(crate) async fn begin_write(&self) -> DbResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// SQLite serialises writers already (BEGIN IMMEDIATE), so changes to who is a user or an admin
    /// (sign-ups, role changes, bans, deletions) need no extra lock.
    pub(crate) async fn serialize_user_changes(_tx: &mut Transaction<'static, Sqlite>) -> DbResult<()> {
        Ok(())
    }
    /// The search candidates, with FTS5 (see `sql/search.rs`).
    pub(crate) const SEARCH_CANDIDATES: &'static str = sql::search::FTS5_CANDIDATES;

    /// A search as FTS5 matches it: the user's owner term and the query.
    pub(crate) fn search_text(query: &crate::search::SearchQuery, user_id: uuid::Uuid) -> String {
        query.fts5(user_id)
    }

    /// FTS5 cuts a prefix longer than its index's (see `SearchQuery::fts5`): the candidate
    /// statement takes how far to read (`$5`) and the prefix as typed (`$6`).
    pub(crate) const SEARCH_CUTS_PREFIXES: bool = true;

    /// SQLite serialises writers already (BEGIN IMMEDIATE), so one user's turns take turns anyway.
    pub(crate) async fn serialize_user_turns(
        _tx: &mut Transaction<'static, Sqlite>,
        _user_id: uuid::Uuid,
    ) -> DbResult<()> {
        Ok(())
    }
}

/// The operations' SQL (`sql/`), compiled for this engine.
#[expect(clippy::duplicate_mod, reason = "sql/ is written once and compiled once per engine, on purpose")]
#[path = "sql/mod.rs"]
pub mod sql;
