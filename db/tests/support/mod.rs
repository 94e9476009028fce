//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database when
//! `MOSAIC_TEST_POSTGRES_URL` names a server (CI always sets it). Each is removed when dropped.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mosaic_db::{PoolSettings, Store};
use uuid::Uuid;

/// A store on a throwaway database, dropped with it.
pub struct TestDb {
    pub store: Store,
    cleanup: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

impl std::ops::Deref for TestDb {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// A new SQLite database file in the temp directory.
pub async fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("mosaic-test-{}.db", Uuid::now_v7().simple()));
    let store = Store::connect(&PoolSettings::new(format!("sqlite:{}", path.display()))).await.expect("open sqlite");
    TestDb {
        store,
        cleanup: Some(Box::new(move || {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        })),
    }
}

/// The PostgreSQL server URL for tests, if one is configured.
pub fn postgres_url() -> Option<String> {
    std::env::var("MOSAIC_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

/// A new, empty PostgreSQL database on the configured server, or `None` when none is configured.
pub async fn postgres() -> Option<TestDb> {
    let base = postgres_url()?;
    let name = format!("mosaic_t_{}", Uuid::now_v7().simple());
    let admin = sqlx::PgPool::connect(&base).await.expect("connect to the test PostgreSQL server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create database");
    admin.close().await;
    let url = with_database(&base, &name);
    let store = Store::connect(&PoolSettings::new(url)).await.expect("open postgres");
    let closing = store.clone();
    Some(TestDb {
        store,
        cleanup: Some(Box::new(move || {
            // Drop runs outside any runtime guarantee, so use a small one of its own.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    closing.close().await;
                    if let Ok(admin) = sqlx::PgPool::connect(&base).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&admin)
                                .await;
                    }
                });
            })
            .join()
            .ok();
        })),
    })
}

/// `base` with its database path replaced by `name`.
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let host_end = head[scheme_end..].find('/').map_or(head.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &head[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Runs one async test body against SQLite, and against PostgreSQL when a server is configured.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::support::postgres().await else {
                        eprintln!("MOSAIC_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

/// Counts the SQL statements sqlx executes while `f` runs, from sqlx's own per-statement log
/// events (target `sqlx::query`), so the count is measured, not declared. The counter is global
/// (SQLite runs statements on its own worker thread), so every test in a binary that counts must go
/// through this function, which runs one counting section at a time.
pub async fn count_statements<F, T>(f: F) -> (T, usize)
where
    F: std::future::Future<Output = T>,
{
    use std::sync::OnceLock;
    use tracing_subscriber::layer::SubscriberExt;
    static COUNTER: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let counter = COUNTER.get_or_init(|| {
        let counter = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(StatementCounter(counter.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this test binary");
        counter
    });
    let _turn = TURN.lock().await;
    let before = counter.load(Ordering::SeqCst);
    let out = f.await;
    (out, counter.load(Ordering::SeqCst) - before)
}

struct StatementCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        // Connection set-up (SQLite's PRAGMAs when the pool opens a connection) is not the
        // operation's own work; everything else counts.
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if !summary.0.trim_start().to_ascii_uppercase().starts_with("PRAGMA") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}").trim_matches('"').to_string();
        }
    }
}
