//! The PostgreSQL implementation of the store: the scale-out engine, for several app instances
//! behind a load balancer. Chosen by a `postgres://` DATABASE_URL.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::{DbError, DbResult, PoolSettings};

/// The sqlx database the shared statements (`sql/`) run on here.
pub(crate) type Db = Postgres;
/// The store type the shared statements (`sql/`) implement here.
pub(crate) type Backend = PgStore;

/// The PostgreSQL store; cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    /// Signals to this instance and the others sharing the database (see [`crate::bus`]).
    pub(crate) bus: crate::bus::Bus,
}

impl PgStore {
    /// Connects (failing within the connect timeout when the server is unreachable) and applies
    /// migrations. Several instances starting at once are serialised by sqlx's migration lock.
    pub async fn connect(settings: &PoolSettings) -> DbResult<PgStore> {
        let options = PgConnectOptions::from_str(&settings.url)
            .map_err(|e| DbError::Invalid(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}")))?
            .application_name("mosaic");
        let pool = PgPoolOptions::new()
            // Each checkout emits a TRACE event (off unless RUST_LOG asks for it), which the tests
            // count to prove a page or a chat send takes a fixed number of connections.
            .acquire_time_level(log::LevelFilter::Trace)
            .max_connections(settings.max_connections)
            .idle_timeout(settings.idle_timeout)
            .acquire_timeout(settings.connect_timeout)
            .connect_with(options);
        let pool = tokio::time::timeout(settings.connect_timeout, pool)
            .await
            .map_err(|_| {
                DbError::Unavailable(format!("no answer from PostgreSQL within {:?}", settings.connect_timeout))
            })?
            .map_err(|e| DbError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        let bus = match &settings.bus_url {
            Some(url) => crate::bus::Bus::over(crate::bus::RedisPubSub::new(url)?),
            None => crate::bus::Bus::over(crate::bus::PgNotify::new(pool.clone())),
        };
        Ok(PgStore { pool, bus })
    }

    /// The underlying pool, for tests and tools that need raw SQL (EXPLAIN, bulk seeding).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begins a write transaction (PostgreSQL's row locks make IMMEDIATE unnecessary).
    pub(crate) async fn begin_write(&self) -> DbResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Makes changes to who is a user or an admin take turns (sign-ups, role changes, bans,
    /// deletions), so only the very first account becomes admin and the last admin cannot be removed
    /// by two admins demoting each other at once.
    pub(crate) async fn serialize_user_changes(tx: &mut Transaction<'static, Postgres>) -> DbResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(7001)").execute(&mut **tx).await?;
        Ok(())
    }
    /// The search candidates, with tsvector and GIN (see `sql/search.rs`).
    pub(crate) const SEARCH_CANDIDATES: &'static str = sql::search::TSQUERY_CANDIDATES;

    /// A search as `to_tsquery` reads it (ownership is a condition of the statement).
    pub(crate) fn search_text(query: &crate::search::SearchQuery, _user_id: uuid::Uuid) -> String {
        query.tsquery()
    }

    /// PostgreSQL reads any prefix from its GIN index as it is.
    pub(crate) const SEARCH_CUTS_PREFIXES: bool = false;

    /// Makes one user's turns take turns (on every instance), so the count of their live replies a
    /// turn checks cannot change under it: a lock on the user's row that leaves foreign-key checks
    /// (sessions, conversations) free.
    pub(crate) async fn serialize_user_turns(
        tx: &mut Transaction<'static, Postgres>,
        user_id: uuid::Uuid,
    ) -> DbResult<()> {
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE").bind(user_id).execute(&mut **tx).await?;
        Ok(())
    }
}

/// The operations' SQL (`sql/`), compiled for this engine.
#[expect(clippy::duplicate_mod, reason = "sql/ is written once and compiled once per engine, on purpose")]
#[path = "sql/mod.rs"]
pub mod sql;
