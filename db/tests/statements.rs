//! Statement counts, measured from sqlx's own per-statement events. The counter is process-wide,
//! so this binary holds a single test that runs its engines one after the other.

use mosaic_db::{Engine, Store};
use mosaic_test_support::count_statements;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_counts_on_both_engines() {
    preference_upsert_is_one_statement(&mosaic_test_support::store(Engine::Sqlite).await.store).await;
    if mosaic_test_support::postgres_available() {
        preference_upsert_is_one_statement(&mosaic_test_support::store(Engine::Postgres).await.store).await;
    }
}

async fn preference_upsert_is_one_statement(store: &Store) {
    let u = store.create_user_with_password("one@example.com", "One", "h", true).await.expect("user");
    // Warm the pool so no connection set-up falls inside a counted section.
    store.set_preference(u.id, "ui.density", &json!("compact")).await.expect("warm up");
    let ((), first) =
        count_statements(async { store.set_preference(u.id, "theme", &json!("dark")).await.expect("insert") }).await;
    let ((), second) =
        count_statements(async { store.set_preference(u.id, "theme", &json!("light")).await.expect("update") }).await;
    assert_eq!((first, second), (1, 1), "insert and update are each a single statement");
    let (prefs, reads) = count_statements(async { store.effective_preferences(u.id).await.expect("read") }).await;
    assert_eq!(reads, 1, "effective preferences are read in one query");
    assert!(prefs.iter().any(|p| p.key == "theme" && p.value == json!("light")));
}
