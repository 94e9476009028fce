//! Queries per page are a fixed number, whatever the data size: the dashboard (server-rendered,
//! with a conversation open) and the list endpoint run as many SQL statements with 10 conversations
//! as with 10 000. Counted from sqlx's own per-statement events; the counter is process-wide, so
//! this binary holds this one test.

mod support;

use serde_json::json;
use uuid::Uuid;

/// The data layer's test support, for its statement counter (one counter for both crates).
#[path = "../../db/tests/support/mod.rs"]
mod db_support;

/// Adds `n` conversations for `user` in one transaction, straight into the schema.
async fn add_conversations(store: &mosaic_db::Store, user: Uuid, n: usize) {
    let mosaic_db::Store::Sqlite(s) = store else { panic!("this test runs on SQLite") };
    let mut tx = s.pool().begin().await.expect("begin");
    for i in 0..n {
        sqlx::query("INSERT INTO conversations (id, user_id, title, archived, created_at, updated_at) VALUES ($1, $2, $3, FALSE, $4, $4)")
            .bind(Uuid::now_v7())
            .bind(user)
            .bind(format!("Seeded {i}"))
            .bind(1_000_000 + i as i64)
            .execute(&mut *tx)
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_per_page_do_not_grow_with_the_data() {
    let s = support::start("sqlite", &[]).await.expect("server");
    let c = s.user("counted@example.com").await;
    let (user, _) = s.store.find_credentials("counted@example.com").await.expect("lookup").expect("user");
    let (_, conv) = s.json(&c, reqwest::Method::POST, "/api/conversations", Some(json!({"title": "open one"}))).await;
    let open = conv["id"].as_str().expect("id").to_string();
    for i in 0..60 {
        let body = json!({ "content": format!("message {i}") });
        s.json(&c, reqwest::Method::POST, &format!("/api/conversations/{open}/messages"), Some(body)).await;
    }
    add_conversations(&s.store, user.id, 9).await;

    let count = |path: String| {
        let c = c.clone();
        let url = s.url(&path);
        async move {
            // Warm up (connections, session touch), then count one request.
            c.get(&url).send().await.expect("warm").text().await.expect("body");
            let ((), n) = db_support::count_statements(async {
                let res = c.get(&url).send().await.expect("get");
                assert!(res.status().is_success(), "{url}: {}", res.status());
                res.text().await.expect("body");
            })
            .await;
            n
        }
    };
    let dashboard_small = count(format!("/c/{open}")).await;
    let list_small = count("/api/conversations".into()).await;
    let deep_small = count("/api/conversations?limit=5".into()).await;

    add_conversations(&s.store, user.id, 9_990).await;
    let dashboard_large = count(format!("/c/{open}")).await;
    let list_large = count("/api/conversations".into()).await;
    let deep_large = count("/api/conversations?limit=5".into()).await;

    assert!(dashboard_small > 0 && list_small > 0, "statements were counted");
    assert_eq!(
        dashboard_small, dashboard_large,
        "dashboard: {dashboard_small} statements at 10 conversations, {dashboard_large} at 10 000"
    );
    assert_eq!(list_small, list_large, "list endpoint: {list_small} vs {list_large}");
    assert_eq!(deep_small, deep_large);
}
