//! Database work per request is a fixed, small amount, counted from sqlx's own events (statements
//! and pool checkouts; see `mosaic_test_support::count_process_work`):
//!
//! - the dashboard (server-rendered, a conversation open) and the list endpoint run as many
//!   statements with 10 conversations as with 10 000, the dashboard on one checkout;
//! - a chat `send` makes two checkouts and checks ownership once before the provider is asked: 5
//!   statements plus BEGIN and COMMIT (it was 8 plus two of each, on 5 checkouts, with four
//!   ownership checks);
//! - a conversation PATCH that renames and archives is one statement.
//!
//! The counters are process-wide, so this binary holds one test.

mod support;

use mosaic_db::replies::TurnTarget;
use mosaic_test_support::{count_process_work, Engine, Work};
use serde_json::json;
use uuid::Uuid;

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
async fn database_work_per_request_is_fixed_and_small() {
    let url = mosaic_chat::standin::spawn(None).await.expect("stand-in");
    let vars = [
        ("MOSAIC_PROVIDERS", "standin"),
        ("MOSAIC_PROVIDER_STANDIN_URL", url.as_str()),
        ("MOSAIC_PROVIDER_STANDIN_MODEL", "standin-slow"),
    ];
    let s = support::start(Engine::Sqlite, &vars).await;
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
            let ((), work) = count_process_work(async {
                let res = c.get(&url).send().await.expect("get");
                assert!(res.status().is_success(), "{url}: {}", res.status());
                res.text().await.expect("body");
            })
            .await;
            work
        }
    };
    let dashboard_small = count(format!("/c/{open}")).await;
    let list_small = count("/api/conversations".into()).await;
    let deep_small = count("/api/conversations?limit=5".into()).await;

    add_conversations(&s.store, user.id, 9_990).await;
    let dashboard_large = count(format!("/c/{open}")).await;
    let list_large = count("/api/conversations".into()).await;
    let deep_large = count("/api/conversations?limit=5".into()).await;

    assert!(dashboard_small.statements > 0 && list_small.statements > 0, "statements were counted");
    assert_eq!(
        dashboard_small, dashboard_large,
        "dashboard: {dashboard_small:?} at 10 conversations, {dashboard_large:?} at 10 000"
    );
    // The session lookup takes its own checkout; the page's data is read on one more.
    assert_eq!(dashboard_small.checkouts, 2, "session + dashboard: {dashboard_small:?}");
    assert_eq!(list_small, list_large, "list endpoint: {list_small:?} vs {list_large:?}");
    assert_eq!(deep_small, deep_large);

    // A send into an existing conversation, then one that starts a conversation: the read (one
    // ownership check, the remembered model, the history) on one checkout, the message and the
    // reply in one transaction on another. Counted until the reply has started streaming.
    let chat = s.chat().clone();
    let open_id: Uuid = open.parse().expect("uuid");
    let (started, existing) = count_process_work(async {
        chat.send(user.id, None, TurnTarget::Existing(open_id), "counted send".into(), None).await
    })
    .await;
    assert!(started.is_ok(), "the send started a reply");
    // sqlx logs no event for BEGIN and COMMIT: with them this is 8 statements (it was 12). One of
    // them counts the user's live replies on every instance (the per-user cap across instances).
    assert_eq!(existing, Work { statements: 6, checkouts: 2 }, "send into a conversation: {existing:?}");
    let (started, fresh) = count_process_work(async {
        chat.send(user.id, None, TurnTarget::for_message(None, "a new one"), "a new one".into(), None).await
    })
    .await;
    assert!(started.is_ok(), "the send started a reply");
    assert_eq!(fresh, Work { statements: 4, checkouts: 2 }, "send starting a conversation: {fresh:?}");

    // Renaming and archiving at once is one statement (it was a read and two writes).
    let ((), patch) = count_process_work(async {
        let body = json!({"title": "renamed", "archived": true});
        let (st, _) = s.json(&c, reqwest::Method::PATCH, &format!("/api/conversations/{open}"), Some(body)).await;
        assert_eq!(st, reqwest::StatusCode::OK);
    })
    .await;
    // The session lookup is the request's other statement.
    assert_eq!(patch.statements, 2, "session lookup + one UPDATE … RETURNING");
}
