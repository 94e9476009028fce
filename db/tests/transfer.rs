//! `server migrate --to postgres://…`: a SQLite database copied into an empty PostgreSQL one reads
//! the same through the data-layer contract, row for row, and a non-empty target is refused.

use mosaic_db::agent_logs::LogFilter;
use mosaic_db::audit::Actor;
use mosaic_db::conversations::ConversationChange;
use mosaic_db::messages::NewMessage;
use mosaic_db::model::TokenScope;
use mosaic_db::model::{MessageQuery, MessageRole, ReplyState, Tier, User};
use mosaic_db::replies::{NewTurn, TurnTarget};
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::transfer::{sqlite_to_postgres, Progress, TABLES};
use mosaic_db::{token, DbError, Engine, Store};
use mosaic_test_support::{agent_log, postgres_available};
use serde_json::json;

async fn seed(store: &Store) -> Vec<User> {
    let ann =
        store.create_user_with_password("ann@example.com", "Ann Ö", "$argon2id$fake-ann", true).await.expect("ann");
    let bob = store.create_user_with_password("bob@example.com", "Bob", "$argon2id$fake-bob", true).await.expect("bob");
    store
        .create_session(ann.id, &token::hash("ann-session"), Some("127.0.0.1"), Some("test"), SessionPolicy::default())
        .await
        .expect("session");
    store.create_api_token(&ann, "ci", TokenScope::Read, None, &token::hash("ann-token")).await.expect("token");
    for user in [&ann, &bob] {
        for i in 0..7 {
            let c =
                store.create_conversation(user.id, &format!("Chat {i} — ✓ «quotes» 'and' \"more\"")).await.expect("c");
            for j in 0..5 {
                let role = if j % 2 == 0 { MessageRole::User } else { MessageRole::Assistant };
                let content = format!("message {j} of {i}: naïve café 🚀 {}", "x".repeat(j * 100));
                let meta = json!({"model": "m", "n": j, "nested": {"b": [1, 2.5, null], "a": true}});
                store.append_message(user.id, c.id, NewMessage { role, content, metadata: meta }).await.expect("m");
            }
            if i == 3 {
                store
                    .update_conversation(user.id, c.id, &ConversationChange { title: None, archived: Some(true) })
                    .await
                    .expect("archive");
            }
        }
        store.set_preference(user.id, "theme", &json!("dark")).await.expect("pref");
        store.set_preference(user.id, "chat.model", &json!({"provider": "demo", "model": "x"})).await.expect("pref");
        let logs: Vec<_> = (0..30).map(|_| agent_log(user.id, "agent-1", Tier::Hot, None)).collect();
        store.append_agent_logs(&logs).await.expect("logs");
    }
    // A reply cut at the length limit, and one stopped with a reason.
    let turn = NewTurn {
        target: TurnTarget::for_message(None, "hello"),
        content: "hello".into(),
        reply: Some(json!({"model": "m", "provider": "p"})),
        replies_per_user: None,
    };
    let started = store.start_turn(ann.id, &turn).await.expect("turn");
    let reply = started.reply.expect("reply");
    let cut = ReplyState::Complete { reason: Some(ReplyState::LENGTH.into()) };
    store
        .save_reply(started.conversation.id, reply.id, "cut here", &cut, &json!({"model": "m"}), &[])
        .await
        .expect("cut");
    let root = Actor { id: Some(ann.id), email: ann.email.clone() };
    store.ban(&root, bob.id, Some("spam")).await.expect("ban");
    store.claim_job_run("session-gc", Some(1_000), 1, 2_000).await.expect("claim");
    vec![ann, bob]
}

/// Everything the contract reads for a user, for comparing the two databases.
async fn contents(store: &Store, user: &User) -> String {
    let mut out = format!("{:?}\n", store.find_credentials(&user.email).await.expect("credentials"));
    for archived in [false, true] {
        let mut cursor = None;
        loop {
            let page = store.list_conversations(user.id, archived, cursor.as_deref(), 3).await.expect("page");
            for c in &page.items {
                out += &format!("{c:?}\n");
                let query = MessageQuery { limit: 100, ..Default::default() };
                out += &format!("{:?}\n", store.list_messages(user.id, c.id, &query).await.expect("messages").items);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    out += &format!("{:?}\n", store.effective_preferences(user.id).await.expect("prefs"));
    let hot = LogFilter { tier: Some(Tier::Hot), ..Default::default() };
    let logs = store.list_agent_logs(user.id, "agent-1", &hot, None, 100).await.expect("logs");
    out += &format!("{:?}\n", logs.items);
    out += &format!("{:?}\n", store.list_api_tokens(user.id).await.expect("tokens"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_copied_to_postgres_reads_the_same() {
    if !postgres_available() {
        return;
    }
    let source = mosaic_test_support::store(Engine::Sqlite).await;
    let target = mosaic_test_support::store(Engine::Postgres).await;
    let users = seed(&source).await;
    let mut reports = Vec::new();
    let copies = sqlite_to_postgres(&source, &target, |p| {
        reports.push(match p {
            Progress::Copying { table, done, total } => format!("{table} {done}/{total}"),
            Progress::Verifying { table } => format!("{table} verify"),
        })
    })
    .await
    .expect("copy");
    assert_eq!(copies.iter().map(|c| c.table.as_str()).collect::<Vec<_>>(), TABLES);
    let rows = |table: &str| copies.iter().find(|c| c.table == table).expect("table").rows;
    assert_eq!((rows("users"), rows("conversations"), rows("messages")), (2, 15, 72));
    assert_eq!(rows("agent_logs"), 60);
    assert!(rows("audit_log") >= 1 && rows("job_runs") == 1 && rows("sessions") == 1);
    assert!(reports.contains(&"messages 72/72".to_string()), "{reports:?}");
    assert!(reports.contains(&"messages verify".to_string()), "{reports:?}");
    for user in &users {
        assert_eq!(contents(&source, user).await, contents(&target, user).await, "{}", user.email);
    }
    // The session and the token carry over: the user stays signed in.
    let session = target.resolve_session(&token::hash("ann-session"), SessionPolicy::default()).await.expect("resolve");
    assert_eq!(session.expect("live").user.email, "ann@example.com");
    // The banned user is still banned.
    assert!(target.get_user(users[1].id).await.expect("bob").banned);
    // A second copy into the now full target is refused, and changes nothing.
    let again = sqlite_to_postgres(&source, &target, |_| {}).await;
    assert!(matches!(&again, Err(DbError::Conflict(why)) if why.contains("not empty")), "{again:?}");
    assert_eq!(contents(&source, &users[0]).await, contents(&target, &users[0]).await);
}
