//! What Mosaic's test suites share, so the data layer's and the server's tests make databases, run
//! on both engines and count statements the same way.
//!
//! - [`fresh_database`]: a new, empty database per test: a SQLite file in the temp directory, or a
//!   new database on the PostgreSQL server named by `MOSAIC_TEST_POSTGRES_URL`; removed when dropped.
//! - [`both_engines!`]: one async test body (`async fn name(engine: Engine)`) run as a SQLite test
//!   and a PostgreSQL test.
//! - [`count_statements`] / [`count_work`]: the SQL statements (and pool checkouts) a future runs
//!   on its own task; [`count_process_work`]: those of the whole process, for in-process servers.
//!
//! Without `MOSAIC_TEST_POSTGRES_URL` the PostgreSQL variants are skipped with a note, so a laptop
//! without PostgreSQL can run the suites; under `CI` (any non-empty value) a missing URL fails the
//! test instead, so a CI run can never pass its PostgreSQL half by not running it.

mod counter;
mod database;

pub use counter::{count_process_work, count_statements, count_work, Work};
pub use database::{fresh_database, postgres_available, store, with_database, TestDatabase, TestStore};
pub use mosaic_db::Engine;

/// Turns each named `async fn name(engine: Engine)` into two tests, `sqlite::name` and
/// `postgres::name`, each on a multi-threaded runtime. The PostgreSQL one is skipped (with a note)
/// when no server is configured, unless `CI` is set, in which case it fails.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Engine::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::postgres_available() {
                        super::$name($crate::Engine::Postgres).await;
                    }
                }
            )*
        }
    };
}

/// An `info` agent log of `user_id`'s agent session `session`, in `tier`, written at `at` (now
/// when `None`), by no sign-in session: the row the suites build their cases from.
pub fn agent_log(
    user_id: uuid::Uuid,
    session: &str,
    tier: mosaic_db::model::Tier,
    at: Option<i64>,
) -> mosaic_db::agent_logs::NewAgentLog {
    mosaic_db::agent_logs::NewAgentLog {
        user_id,
        session_id: session.into(),
        auth_session_id: None,
        level: mosaic_db::model::LogLevel::Info,
        category: "tool".into(),
        content: "ran a tool".into(),
        metadata: serde_json::json!({}),
        tier,
        created_at: at,
    }
}
