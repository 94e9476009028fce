//! Fresh, throwaway databases on either engine.

use mosaic_db::{Engine, PoolSettings, Store};
use uuid::Uuid;

/// The PostgreSQL server tests make their databases on, if one is configured.
fn postgres_url() -> Option<String> {
    std::env::var("MOSAIC_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty())
}

/// Whether the PostgreSQL variants can run. Without a server they are skipped with a note, except
/// under `CI`, where a missing server fails the test (a CI run must not pass by skipping half).
pub fn postgres_available() -> bool {
    if postgres_url().is_some() {
        return true;
    }
    let under_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(!under_ci, "CI is set but MOSAIC_TEST_POSTGRES_URL is not: the PostgreSQL tests cannot be skipped in CI");
    eprintln!("MOSAIC_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
    false
}

/// A new, empty database, removed when dropped. Migrations have not run: opening it (the server, or
/// [`TestDatabase::open`]) applies them.
pub struct TestDatabase {
    /// Its `DATABASE_URL`.
    pub url: String,
    pub engine: Engine,
    cleanup: Option<Box<dyn FnOnce() + Send>>,
}

impl TestDatabase {
    /// Opens it with the default pool settings (applying the migrations).
    pub async fn open(&self) -> Store {
        Store::connect(&PoolSettings::new(&self.url)).await.expect("open the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup();
        }
    }
}

/// A new database on `engine`. Panics when `engine` is PostgreSQL and none is configured: check
/// [`postgres_available`] first (the [`both_engines!`](crate::both_engines) macro does).
pub async fn fresh_database(engine: Engine) -> TestDatabase {
    let name = format!("mosaic_t_{}", Uuid::now_v7().simple());
    match engine {
        Engine::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let url = format!("sqlite:{}", path.display());
            let cleanup = Box::new(move || {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            });
            TestDatabase { url, engine, cleanup: Some(cleanup) }
        }
        Engine::Postgres => {
            let base = postgres_url().expect("MOSAIC_TEST_POSTGRES_URL names the test PostgreSQL server");
            let admin = sqlx::PgPool::connect(&base).await.expect("connect to the test PostgreSQL server");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("create a test database");
            admin.close().await;
            let url = with_database(&base, &name);
            let cleanup = Box::new(move || drop_postgres_database(base, name));
            TestDatabase { url, engine, cleanup: Some(cleanup) }
        }
    }
}

/// Drops a test database, closing whatever still holds it. Drop runs outside any runtime guarantee,
/// so this uses a small runtime of its own on its own thread.
fn drop_postgres_database(base: String, name: String) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async move {
            if let Ok(admin) = sqlx::PgPool::connect(&base).await {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                admin.close().await;
            }
        });
    })
    .join()
    .ok();
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

/// An open store on a fresh database; both go when it is dropped.
pub struct TestStore {
    pub store: Store,
    // Declared after the store: the pool closes before the database is dropped.
    _database: TestDatabase,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// An open store on a fresh database on `engine` (see [`fresh_database`]).
pub async fn store(engine: Engine) -> TestStore {
    let database = fresh_database(engine).await;
    let store = database.open().await;
    TestStore { store, _database: database }
}
