//! Statement counts, measured from sqlx's own per-statement events. The counter is process-wide,
//! so this binary holds a single test that runs its engines one after the other.

mod support;

use mosaic_db::Store;
use serde_json::json;
use support::count_statements;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_counts_on_both_engines() {
    let db = support::sqlite().await;
    preference_upsert_is_one_statement(&db).await;
    drop(db);
    match support::postgres().await {
        Some(db) => preference_upsert_is_one_statement(&db).await,
        None => eprintln!("MOSAIC_TEST_POSTGRES_URL is not set: PostgreSQL variant not run"),
    }
}

async fn preference_upsert_is_one_statement(store: &Store) {
    let u = store.create_user_with_password("one@example.com", "One", "h").await.expect("user");
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
