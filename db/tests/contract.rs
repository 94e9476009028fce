//! The data-layer contract, proven on SQLite always and on PostgreSQL whenever
//! `MOSAIC_TEST_POSTGRES_URL` names a server (CI always sets it).

use std::collections::HashSet;

use mosaic_db::agent_logs::LogFilter;
use mosaic_db::clock::{now_micros, SECOND};
use mosaic_db::conversations::ConversationChange;
use mosaic_db::messages::{MessageQuery, NewMessage};
use mosaic_db::model::{MessageRole, ReplyState, Tier, User};
use mosaic_db::replies::{NewTurn, TurnTarget};
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::{token, DbError, Engine, Store};
use mosaic_test_support::agent_log;
use serde_json::json;
use uuid::Uuid;

mosaic_test_support::both_engines!(
    first_user_is_admin_and_emails_are_unique,
    conversations_page_through_every_row_once_in_order,
    equal_timestamps_do_not_lose_or_repeat_rows,
    archived_filter_separates_the_two_lists,
    messages_page_backwards_and_forwards,
    appending_a_message_bumps_the_conversation,
    other_users_rows_are_not_found,
    malformed_and_foreign_cursors_are_refused,
    bad_input_changes_nothing,
    preferences_overlay_defaults_and_respect_locks,
    concurrent_preference_writers_both_succeed,
    revoked_and_expired_sessions_are_refused,
    banned_users_lose_their_sessions,
    agent_logs_list_and_age_through_tiers,
    deleting_a_conversation_deletes_its_messages,
    hot_queries_use_an_index,
    the_dashboard_read_matches_the_separate_reads,
    a_conversation_change_is_one_statement_and_all_or_nothing,
    a_turn_saves_the_message_and_its_reply_together,
    replies_settle_in_one_of_their_states,
    one_reply_at_a_time_per_conversation_in_the_database,
    replies_left_streaming_by_a_dead_process_fail_as_interrupted,
    replies_of_an_instance_whose_lease_ran_out_are_settled_once,
    a_users_live_replies_are_capped_in_the_database,
    old_reply_rows_migrate_to_their_states,
);

async fn user(store: &Store, email: &str) -> User {
    store.create_user_with_password(email, "Test User", "$argon2id$fake", true).await.expect("create user")
}

fn archive(archived: bool) -> ConversationChange<'static> {
    ConversationChange { title: None, archived: Some(archived) }
}

fn rename(title: &str) -> ConversationChange<'_> {
    ConversationChange { title: Some(title), archived: None }
}

fn text(content: &str) -> NewMessage {
    NewMessage { role: MessageRole::User, content: content.into(), metadata: json!({}) }
}

/// Sets a conversation's `updated_at` directly, to build ties and spreads the API cannot make.
async fn set_updated_at(store: &Store, id: Uuid, at: i64) {
    let sql = "UPDATE conversations SET updated_at = $1 WHERE id = $2";
    match store {
        Store::Sqlite(s) => sqlx::query(sql).bind(at).bind(id).execute(s.pool()).await.map(|_| ()),
        Store::Postgres(s) => sqlx::query(sql).bind(at).bind(id).execute(s.pool()).await.map(|_| ()),
    }
    .expect("set updated_at");
}

async fn first_user_is_admin_and_emails_are_unique(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let first = user(store, "Admin@Example.com").await;
    assert_eq!(first.role, mosaic_db::model::Role::Admin);
    assert_eq!(first.email, "admin@example.com");
    let second = user(store, "member@example.com").await;
    assert_eq!(second.role, mosaic_db::model::Role::Member);
    let dup = store.create_user_with_password("ADMIN@example.com", "x", "h", true).await;
    assert!(matches!(dup, Err(DbError::Conflict(_))), "{dup:?}");
    let (found, hash) = store.find_credentials("admin@EXAMPLE.com").await.expect("find").expect("exists");
    assert_eq!(found.id, first.id);
    assert_eq!(hash, "$argon2id$fake");
    assert!(store.find_credentials("nobody@example.com").await.expect("find").is_none());
}

async fn conversations_page_through_every_row_once_in_order(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "pager@example.com").await;
    let mut made = Vec::new();
    for i in 0..53 {
        let c = store.create_conversation(u.id, &format!("c{i}")).await.expect("create");
        set_updated_at(store, c.id, 1_000_000 + i * 7 % 13 * SECOND).await;
        made.push(c.id);
    }
    for page_size in [1, 7, 10, 53, 200] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.list_conversations(u.id, false, cursor.as_deref(), page_size).await.expect("page");
            assert!(page.items.len() <= page_size as usize);
            seen.extend(page.items.iter().map(|c| (c.updated_at, c.id)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), made.len(), "page size {page_size}");
        let unique: HashSet<_> = seen.iter().map(|(_, id)| *id).collect();
        assert_eq!(unique.len(), made.len(), "no row twice (page size {page_size})");
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest-updated first, ties by id");
    }
}

async fn equal_timestamps_do_not_lose_or_repeat_rows(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "ties@example.com").await;
    let mut ids = HashSet::new();
    for _ in 0..25 {
        let c = store.create_conversation(u.id, "same time").await.expect("create");
        set_updated_at(store, c.id, 42).await;
        ids.insert(c.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_conversations(u.id, false, cursor.as_deref(), 4).await.expect("page");
        seen.extend(page.items.iter().map(|c| c.id));
        let Some(next) = page.next else { break };
        cursor = Some(next);
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), ids);

    // Messages with one timestamp, too.
    let c = store.create_conversation(u.id, "m").await.expect("create");
    for i in 0..9 {
        store.append_message(u.id, c.id, text(&format!("m{i}"))).await.expect("append");
    }
    let sql = "UPDATE messages SET created_at = 7 WHERE conversation_id = $1";
    match store {
        Store::Sqlite(s) => sqlx::query(sql).bind(c.id).execute(s.pool()).await.map(|_| ()),
        Store::Postgres(s) => sqlx::query(sql).bind(c.id).execute(s.pool()).await.map(|_| ()),
    }
    .expect("tie messages");
    let mut got = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_messages(u.id, c.id, &MessageQuery { before: before.clone(), after: None, around: None, limit: 2 })
            .await
            .expect("page");
        let mut ids: Vec<_> = page.items.iter().map(|m| m.id).collect();
        ids.extend(got);
        got = ids;
        let Some(earlier) = page.earlier else { break };
        before = Some(earlier);
    }
    assert_eq!(got.len(), 9);
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted, "oldest first, ties by id");
}

async fn archived_filter_separates_the_two_lists(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "arch@example.com").await;
    let a = store.create_conversation(u.id, "keep").await.expect("create");
    let b = store.create_conversation(u.id, "archive me").await.expect("create");
    let archived = store.update_conversation(u.id, b.id, &archive(true)).await.expect("archive");
    assert!(archived.archived);
    let active = store.list_conversations(u.id, false, None, 50).await.expect("list");
    assert_eq!(active.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a.id]);
    let arch = store.list_conversations(u.id, true, None, 50).await.expect("list");
    assert_eq!(arch.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b.id]);
    store.update_conversation(u.id, b.id, &archive(false)).await.expect("unarchive");
    assert_eq!(store.list_conversations(u.id, false, None, 50).await.expect("list").items.len(), 2);
}

async fn messages_page_backwards_and_forwards(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "msgs@example.com").await;
    let c = store.create_conversation(u.id, "chat").await.expect("create");
    for i in 0..25 {
        store.append_message(u.id, c.id, text(&format!("m{i:02}"))).await.expect("append");
    }
    let latest =
        store.list_messages(u.id, c.id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("latest");
    let contents = |p: &mosaic_db::messages::MessagePage| p.items.iter().map(|m| m.content.clone()).collect::<Vec<_>>();
    assert_eq!(contents(&latest), (15..25).map(|i| format!("m{i:02}")).collect::<Vec<_>>());
    assert!(latest.later.is_none(), "the newest page has nothing later");
    let earlier = store
        .list_messages(
            u.id,
            c.id,
            &MessageQuery { before: latest.earlier.clone(), after: None, around: None, limit: 10 },
        )
        .await
        .expect("earlier");
    assert_eq!(contents(&earlier), (5..15).map(|i| format!("m{i:02}")).collect::<Vec<_>>());
    let first = store
        .list_messages(
            u.id,
            c.id,
            &MessageQuery { before: earlier.earlier.clone(), after: None, around: None, limit: 10 },
        )
        .await
        .expect("first");
    assert_eq!(contents(&first), (0..5).map(|i| format!("m{i:02}")).collect::<Vec<_>>());
    assert!(first.earlier.is_none(), "nothing before the first message");
    // And forwards again from the oldest page.
    let forward = store
        .list_messages(u.id, c.id, &MessageQuery { before: None, after: first.later.clone(), around: None, limit: 10 })
        .await
        .expect("forward");
    assert_eq!(contents(&forward), (5..15).map(|i| format!("m{i:02}")).collect::<Vec<_>>());
    assert!(forward.later.is_some());
}

async fn appending_a_message_bumps_the_conversation(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "bump@example.com").await;
    let old = store.create_conversation(u.id, "old").await.expect("create");
    let new = store.create_conversation(u.id, "new").await.expect("create");
    set_updated_at(store, old.id, 1).await;
    set_updated_at(store, new.id, 2).await;
    let list = store.list_conversations(u.id, false, None, 10).await.expect("list");
    assert_eq!(list.items[0].id, new.id);
    let m = store.append_message(u.id, old.id, text("hello")).await.expect("append");
    let list = store.list_conversations(u.id, false, None, 10).await.expect("list");
    assert_eq!(list.items[0].id, old.id, "the conversation with the new message comes first");
    assert_eq!(list.items[0].updated_at, m.created_at);
}

async fn other_users_rows_are_not_found(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let alice = user(store, "alice@example.com").await;
    let mallory = user(store, "mallory@example.com").await;
    let c = store.create_conversation(alice.id, "private").await.expect("create");
    store.append_message(alice.id, c.id, text("secret")).await.expect("append");
    let nf = |r: Result<(), DbError>| assert!(matches!(r, Err(DbError::NotFound)), "{r:?}");
    nf(store.get_conversation(mallory.id, c.id).await.map(|_| ()));
    nf(store.update_conversation(mallory.id, c.id, &rename("mine")).await.map(|_| ()));
    nf(store.update_conversation(mallory.id, c.id, &archive(true)).await.map(|_| ()));
    nf(store.delete_conversation(mallory.id, c.id).await);
    nf(store.append_message(mallory.id, c.id, text("injected")).await.map(|_| ()));
    nf(store.list_messages(mallory.id, c.id, &MessageQuery { limit: 10, ..Default::default() }).await.map(|_| ()));
    assert!(store.list_conversations(mallory.id, false, None, 10).await.expect("list").items.is_empty());
    // Sessions: mallory cannot see or revoke alice's.
    let s = store
        .create_session(alice.id, &token::hash("t-alice"), None, None, SessionPolicy::default())
        .await
        .expect("session");
    assert!(store.list_sessions(mallory.id).await.expect("list").is_empty());
    nf(store.revoke_session(mallory.id, s.id).await);
    // Agent logs: listing another user's session shows nothing.
    store.append_agent_logs(&[agent_log(alice.id, "agent-1", Tier::Hot, None)]).await.expect("log");
    assert!(store
        .list_agent_logs(mallory.id, "agent-1", &LogFilter::default(), None, 10)
        .await
        .expect("list")
        .items
        .is_empty());
    // And alice still has everything.
    assert_eq!(store.get_conversation(alice.id, c.id).await.expect("get").title, "private");
    assert_eq!(store.list_sessions(alice.id).await.expect("list").len(), 1);
}

async fn malformed_and_foreign_cursors_are_refused(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "cursor@example.com").await;
    let c = store.create_conversation(u.id, "c").await.expect("create");
    let other = store.create_conversation(u.id, "other").await.expect("create");
    for _ in 0..3 {
        store.append_message(u.id, c.id, text("x")).await.expect("append");
    }
    let bad = |r: Result<(), DbError>| assert!(matches!(r, Err(DbError::BadCursor)), "{r:?}");
    bad(store.list_conversations(u.id, false, Some("garbage!!"), 10).await.map(|_| ()));
    bad(store.list_conversations(u.id, false, Some(&"A".repeat(500)), 10).await.map(|_| ()));
    let page = store.list_messages(u.id, c.id, &MessageQuery { limit: 1, ..Default::default() }).await.expect("page");
    let msg_cursor = page.earlier.expect("more pages");
    // A message cursor is not a conversation cursor, nor a cursor of another conversation.
    bad(store.list_conversations(u.id, false, Some(&msg_cursor), 10).await.map(|_| ()));
    bad(store
        .list_messages(u.id, other.id, &MessageQuery { before: Some(msg_cursor), after: None, around: None, limit: 10 })
        .await
        .map(|_| ()));
    // An archived-list cursor does not page the active list.
    for _ in 0..2 {
        let a = store.create_conversation(u.id, "a").await.expect("create");
        store.update_conversation(u.id, a.id, &archive(true)).await.expect("archive");
    }
    let archived = store.list_conversations(u.id, true, None, 1).await.expect("list");
    bad(store.list_conversations(u.id, false, archived.next.as_deref(), 10).await.map(|_| ()));
}

async fn bad_input_changes_nothing(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "bad@example.com").await;
    let c = store.create_conversation(u.id, "fine").await.expect("create");
    let invalid = |r: Result<(), DbError>| assert!(matches!(r, Err(DbError::Invalid(_))), "{r:?}");
    invalid(store.create_conversation(u.id, &"t".repeat(201)).await.map(|_| ()));
    invalid(store.update_conversation(u.id, c.id, &rename(&"t".repeat(201))).await.map(|_| ()));
    invalid(store.append_message(u.id, c.id, text(&"x".repeat(64 * 1024 + 1))).await.map(|_| ()));
    invalid(store.append_message(u.id, c.id, text("   ")).await.map(|_| ()));
    invalid(store.append_message(u.id, c.id, NewMessage { metadata: json!([1, 2]), ..text("ok") }).await.map(|_| ()));
    invalid(store.list_conversations(u.id, false, None, 0).await.map(|_| ()));
    invalid(store.list_conversations(u.id, false, None, 10_000).await.map(|_| ()));
    invalid(store.set_preference(u.id, "bad key!", &json!(1)).await);
    invalid(store.set_preference(u.id, "big", &json!("x".repeat(9000))).await);
    invalid(store.create_user_with_password("not-an-email", "x", "h", true).await.map(|_| ()));
    // Nothing changed.
    let list = store.list_conversations(u.id, false, None, 10).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].title, "fine");
    assert_eq!(list.items[0].updated_at, c.updated_at, "a refused message does not bump the conversation");
    let msgs = store.list_messages(u.id, c.id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("msgs");
    assert!(msgs.items.is_empty());
    assert!(store.effective_preferences(u.id).await.expect("prefs").iter().all(|p| p.is_default));
}

async fn preferences_overlay_defaults_and_respect_locks(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "prefs@example.com").await;
    let defaults = store.effective_preferences(u.id).await.expect("prefs");
    let theme = defaults.iter().find(|p| p.key == "theme").expect("theme default");
    assert_eq!(theme.value, json!("system"));
    assert!(theme.is_default);
    store.set_preference(u.id, "theme", &json!("dark")).await.expect("set");
    store.set_preference(u.id, "theme", &json!("light")).await.expect("overwrite");
    let prefs = store.effective_preferences(u.id).await.expect("prefs");
    let theme = prefs.iter().find(|p| p.key == "theme").expect("theme");
    assert_eq!((theme.value.clone(), theme.is_default), (json!("light"), false));
    assert_eq!(prefs.len(), defaults.len(), "an overridden key is not listed twice");
    // Deleting falls back to the default.
    store.delete_preference(u.id, "theme").await.expect("delete");
    let theme =
        store.effective_preferences(u.id).await.expect("prefs").into_iter().find(|p| p.key == "theme").expect("theme");
    assert_eq!((theme.value, theme.is_default), (json!("system"), true));
    // A locked row cannot be changed or deleted by the user.
    store.enforce_preference(u.id, "ui.density", &json!("compact")).await.expect("enforce");
    assert!(matches!(store.set_preference(u.id, "ui.density", &json!("cozy")).await, Err(DbError::Immutable(_))));
    assert!(matches!(store.delete_preference(u.id, "ui.density").await, Err(DbError::Immutable(_))));
    assert!(matches!(
        store.set_preference(u.id, "platform.maxUploadBytes", &json!(1)).await,
        Err(DbError::Immutable(_))
    ));
    let density = store
        .effective_preferences(u.id)
        .await
        .expect("prefs")
        .into_iter()
        .find(|p| p.key == "ui.density")
        .expect("density");
    assert_eq!((density.value, density.mutable), (json!("compact"), false));
}

async fn concurrent_preference_writers_both_succeed(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "race@example.com").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.set_preference(u.id, "chat.model", &json!(format!("model-{i}"))).await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("every concurrent writer succeeds");
    }
    let prefs = store.effective_preferences(u.id).await.expect("prefs");
    let rows: Vec<_> = prefs.iter().filter(|p| p.key == "chat.model").collect();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].is_default);
}

async fn revoked_and_expired_sessions_are_refused(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "sess@example.com").await;
    let policy = SessionPolicy::default();
    let t1 = token::generate().expect("token");
    let s1 =
        store.create_session(u.id, &token::hash(&t1), Some("127.0.0.1"), Some("test"), policy).await.expect("create");
    let live = store.resolve_session(&token::hash(&t1), policy).await.expect("resolve").expect("live");
    assert_eq!((live.id, live.user.id), (s1.id, u.id));
    assert!(store.resolve_session(&token::hash("wrong"), policy).await.expect("resolve").is_none());
    store.revoke_session(u.id, s1.id).await.expect("revoke");
    assert!(store.resolve_session(&token::hash(&t1), policy).await.expect("resolve").is_none(), "revoked");

    let short = SessionPolicy { idle: 1_000, absolute: 10 * SECOND };
    let t2 = token::generate().expect("token");
    store.create_session(u.id, &token::hash(&t2), None, None, short).await.expect("create");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(store.resolve_session(&token::hash(&t2), short).await.expect("resolve").is_none(), "idle-expired");

    let t3 = token::generate().expect("token");
    store.create_session(u.id, &token::hash(&t3), None, None, policy).await.expect("create");
    store.revoke_session_by_token(&token::hash(&t3)).await.expect("sign out");
    assert!(store.resolve_session(&token::hash(&t3), policy).await.expect("resolve").is_none(), "signed out");

    assert_eq!(
        store.delete_expired_sessions(now_micros(), 100).await.expect("gc"),
        1,
        "only the idle-expired one was left"
    );
}

async fn banned_users_lose_their_sessions(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let _admin = user(store, "root@example.com").await;
    let u = user(store, "banned@example.com").await;
    let t = token::generate().expect("token");
    store.create_session(u.id, &token::hash(&t), None, None, SessionPolicy::default()).await.expect("create");
    let ops = mosaic_db::audit::Actor { id: None, email: "ops@example.com".into() };
    store.ban(&ops, u.id, Some("spam")).await.expect("ban");
    assert!(store.resolve_session(&token::hash(&t), SessionPolicy::default()).await.expect("resolve").is_none());
    assert!(store.find_credentials("banned@example.com").await.expect("find").expect("exists").0.banned);
}

async fn agent_logs_list_and_age_through_tiers(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "logs@example.com").await;
    let day = 24 * 3600 * SECOND;
    let now = now_micros();
    let batch: Vec<_> = (0..30).map(|i| agent_log(u.id, "s1", Tier::Hot, Some(now - i * day))).collect();
    assert_eq!(store.append_agent_logs(&batch).await.expect("batch").len(), 30);
    // A bad row refuses the whole batch, naming the entry.
    let mut bad = batch.clone();
    bad[3].metadata = json!("not an object");
    match store.append_agent_logs(&bad).await {
        Err(DbError::Invalid(m)) => assert!(m.starts_with("entry 3: metadata"), "{m}"),
        other => panic!("{other:?}"),
    }

    let mut seen = 0;
    let mut cursor = None;
    loop {
        let page = store.list_agent_logs(u.id, "s1", &LogFilter::default(), cursor.as_deref(), 7).await.expect("page");
        seen += page.items.len();
        let Some(next) = page.next else { break };
        cursor = Some(next);
    }
    assert_eq!(seen, 30);

    // Warm rows older than 20 days go cold in batches of 4; cold ones older than 25 days are purged.
    store.demote_logs(Tier::Hot, now - day, now, 1_000).await.expect("warm");
    let mut moved = 0;
    loop {
        let n = store.demote_logs(Tier::Warm, now - 20 * day, now, 4).await.expect("cold");
        moved += n;
        if n < 4 {
            break;
        }
    }
    assert_eq!(moved, 9);
    assert_eq!(store.purge_logs(now - 25 * day, 3).await.expect("purge"), 3);
    assert_eq!(store.purge_logs(now - 25 * day, 3).await.expect("purge"), 1);
    assert_eq!(store.purge_logs(now - 25 * day, 3).await.expect("purge"), 0);
    let tier = |t| LogFilter { tier: Some(t), ..LogFilter::default() };
    let warm = store.list_agent_logs(u.id, "s1", &tier(Tier::Warm), None, 200).await.expect("warm");
    assert_eq!(warm.items.len(), 19);
    assert!(warm.items.windows(2).all(|w| (w[0].created_at, w[0].id) < (w[1].created_at, w[1].id)));
    assert_eq!(store.list_agent_logs(u.id, "s1", &tier(Tier::Hot), None, 200).await.expect("hot").items.len(), 2);
    assert_eq!(store.list_agent_logs(u.id, "s1", &tier(Tier::Cold), None, 200).await.expect("cold").items.len(), 5);
    assert!(matches!(store.demote_logs(Tier::Cold, now, now, 10).await, Err(DbError::Invalid(_))));
}

async fn deleting_a_conversation_deletes_its_messages(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "del@example.com").await;
    let c = store.create_conversation(u.id, "bye").await.expect("create");
    store.append_message(u.id, c.id, text("one")).await.expect("append");
    store.delete_conversation(u.id, c.id).await.expect("delete");
    assert!(matches!(store.get_conversation(u.id, c.id).await, Err(DbError::NotFound)));
    let sql = "SELECT COUNT(*) FROM messages WHERE conversation_id = $1";
    let left: i64 = match store {
        Store::Sqlite(s) => sqlx::query_scalar(sql).bind(c.id).fetch_one(s.pool()).await,
        Store::Postgres(s) => sqlx::query_scalar(sql).bind(c.id).fetch_one(s.pool()).await,
    }
    .expect("count");
    assert_eq!(left, 0);
}

/// A parameter of a statement under EXPLAIN.
#[derive(Clone)]
enum P {
    Id(Uuid),
    Int(i64),
    Flag(bool),
    Text(&'static str),
    Bytes(Vec<u8>),
    /// A NULL text parameter (an optional filter left out).
    NoText,
}

/// The plan of `sql` with `params` bound, as text, with sequential scans discouraged on PostgreSQL
/// (its planner prefers them on tiny tables even when an index fits).
async fn plan(store: &Store, sql: &'static str, params: &[P]) -> String {
    macro_rules! bind_all {
        ($query:expr) => {{
            let mut q = $query;
            for p in params.iter().cloned() {
                q = match p {
                    P::Id(v) => q.bind(v),
                    P::Int(v) => q.bind(v),
                    P::Flag(v) => q.bind(v),
                    P::Text(v) => q.bind(v),
                    P::Bytes(v) => q.bind(v),
                    P::NoText => q.bind(None::<&str>),
                };
            }
            q
        }};
    }
    match store {
        Store::Sqlite(s) => {
            let explain = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"));
            let rows: Vec<(i64, i64, i64, String)> =
                bind_all!(sqlx::query_as(explain)).fetch_all(s.pool()).await.expect("explain");
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
        Store::Postgres(s) => {
            let mut conn = s.pool().acquire().await.expect("conn");
            sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.expect("set");
            let explain = sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"));
            let rows: Vec<String> =
                bind_all!(sqlx::query_scalar(explain)).fetch_all(&mut *conn).await.expect("explain");
            sqlx::query("RESET enable_seqscan").execute(&mut *conn).await.expect("reset");
            rows.join("\n")
        }
    }
}

/// The hot statements, as the code runs them (the same constants), each served by its index.
async fn hot_queries_use_an_index(engine: Engine) {
    use mosaic_db::sqlite::sql as q;
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = store.create_user_with_password("plan@example.com", "Plan", "h", true).await.expect("user");
    let c = store.create_conversation(u.id, "c").await.expect("conversation");
    store.append_message(u.id, c.id, text("hi")).await.expect("message");
    let (newest, oldest) = (P::Int(i64::MAX), P::Int(i64::MIN));
    let (max_id, nil_id) = (P::Id(Uuid::max()), P::Id(Uuid::nil()));
    let (user, conversation, page) = (P::Id(u.id), P::Id(c.id), P::Int(51));
    // The unique indexes behind UNIQUE columns are named by each engine (SQLite numbers them in
    // column order, after the primary key's).
    let unique = |sqlite: &'static str, postgres: &'static str| match engine {
        Engine::Sqlite => sqlite,
        Engine::Postgres => postgres,
    };
    let cases: Vec<(&str, &'static str, Vec<P>)> = vec![
        (
            "conversations_user_archived_idx",
            q::dashboard::SIDEBAR,
            vec![
                user.clone(),
                P::Flag(false),
                newest.clone(),
                max_id.clone(),
                page.clone(),
                P::Flag(true),
                newest.clone(),
                max_id.clone(),
                page.clone(),
            ],
        ),
        (
            "conversations_user_archived_idx",
            q::conversations::LIST,
            vec![user.clone(), P::Flag(false), newest.clone(), max_id.clone(), page.clone()],
        ),
        (
            "messages_conversation_created_idx",
            q::messages::PAGE_BEFORE,
            vec![conversation.clone(), newest.clone(), max_id.clone(), page.clone()],
        ),
        (
            "messages_conversation_created_idx",
            q::messages::PAGE_AFTER,
            vec![conversation.clone(), oldest.clone(), nil_id.clone(), page.clone()],
        ),
        // Either partial index of streaming rows serves (messages_streaming_idx or
        // messages_one_streaming_idx): both hold only the few live replies.
        ("streaming_idx", q::replies::INTERRUPTED, vec![newest.clone(), P::Text("interrupted")]),
        ("streaming_idx", q::replies::SETTLE_ORPHANED, vec![newest.clone(), newest.clone(), P::Text("interrupted")]),
        (
            unique("sqlite_autoindex_sessions_2", "sessions_token_hash_key"),
            q::sessions::RESOLVE,
            vec![P::Bytes(vec![0; 32]), P::Int(5)],
        ),
        ("sessions_user_id_idx", q::sessions::LIST, vec![user.clone(), P::Int(5)]),
        (
            unique("sqlite_autoindex_users_2", "users_email_key"),
            q::users::CREDENTIALS,
            vec![P::Text("plan@example.com"), P::Text("credential")],
        ),
        ("preferences_user_key_idx", q::preferences::EFFECTIVE, vec![user.clone()]),
        (
            "agent_logs_user_session_created_idx",
            q::agent_logs::SESSION_PAGE,
            vec![
                P::Text("agent-1"),
                user.clone(),
                oldest.clone(),
                nil_id.clone(),
                P::NoText,
                P::Text("info"),
                page.clone(),
            ],
        ),
        ("agent_logs_tier_created_at_idx", q::agent_logs::NEXT_TO_SUMMARISE, vec![P::Int(5)]),
        (
            // Either fits (both start with the session and range over the time); the planners differ.
            unique("agent_logs_session_tier_idx", "agent_logs_user_session_created_idx"),
            q::agent_logs::SUMMARY_GROUP,
            vec![P::Text("agent-1"), P::Int(5), user.clone(), page.clone()],
        ),
        (
            "agent_log_summaries_session_idx",
            q::agent_logs::SUMMARIES_PAGE,
            vec![user.clone(), P::Text("agent-1"), oldest.clone(), nil_id.clone(), page.clone()],
        ),
        ("agent_logs_auth_session_hot_idx", q::gc::DEMOTE_SESSION_LOGS, vec![nil_id.clone(), P::Int(5), P::Int(500)]),
        (
            // SQLite walks the hot tier by its tier index; PostgreSQL the partial index of hot rows.
            unique("agent_logs_tier_created_at_idx", "agent_logs_auth_session_hot_idx"),
            q::gc::DEMOTE_ORPHANED_LOGS,
            vec![P::Int(5), P::Int(500)],
        ),
        ("sessions_expires_at_idx", q::gc::DELETE_EXPIRED_SESSIONS, vec![P::Int(5), P::Int(500)]),
        ("verifications_expires_at_idx", q::gc::DELETE_EXPIRED_VERIFICATIONS, vec![P::Int(5), P::Int(500)]),
        ("job_runs_started_at_idx", q::gc::DELETE_OLD_JOB_RUNS, vec![P::Int(5), P::Int(500)]),
        (
            "agent_logs_tier_created_at_idx",
            q::agent_logs::DEMOTE_BATCH,
            vec![P::Text("warm"), P::Int(5), P::Text("cold"), P::Int(6), P::Int(500)],
        ),
        ("agent_logs_tier_created_at_idx", q::agent_logs::PURGE_BATCH, vec![P::Text("cold"), P::Int(5), P::Int(500)]),
        (
            "users_created_idx",
            q::admin::LIST,
            vec![newest.clone(), max_id.clone(), P::Text("%plan%"), page.clone(), P::Int(5)],
        ),
        ("audit_log_created_idx", q::audit::LIST, vec![newest.clone(), max_id.clone(), page.clone()]),
        (
            unique("sqlite_autoindex_api_tokens_2", "api_tokens_token_hash_key"),
            q::api_tokens::RESOLVE,
            vec![P::Bytes(vec![0; 32]), P::Int(5)],
        ),
        ("accounts_provider_account_idx", q::accounts::BY_SUBJECT, vec![P::Text("keycloak"), P::Text("subject")]),
    ];
    assert!(!cases.is_empty());
    for (index, sql, params) in cases {
        let plan = plan(store, sql, &params).await;
        assert!(plan.contains(index), "{} should use {index} for\n{sql}\nplan:\n{plan}", engine.name());
        // "SCAN recent" / "SCAN old" read the union's own subquery results, not a table; the
        // platform's preference layer (a few keys, at most 500) is read whole on purpose.
        let whole_on_purpose = |l: &str| l.contains("platform_preferences");
        let table_scan = plan.lines().any(|l| {
            l.contains("SCAN ") && !l.contains("SCAN recent") && !l.contains("SCAN old") && !whole_on_purpose(l)
        });
        let seq_scan = plan.lines().any(|l| l.contains("Seq Scan") && !whole_on_purpose(l));
        assert!(!table_scan && !seq_scan, "no full scan for\n{sql}\nplan:\n{plan}");
    }
}

/// `Store::dashboard` (one connection, four statements) returns what the separate reads return:
/// both lists paged by their own cursors, the open conversation with its newest messages, the
/// preferences; and it refuses what they refuse.
async fn the_dashboard_read_matches_the_separate_reads(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    use mosaic_db::dashboard::DashboardQuery;
    let u = user(store, "dash@example.com").await;
    let other = user(store, "dash-other@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = store.create_conversation(u.id, &format!("c{i}")).await.expect("create");
        set_updated_at(store, c.id, 1_000 + i).await;
        ids.push(c.id);
    }
    for id in &ids[..2] {
        store.update_conversation(u.id, *id, &archive(true)).await.expect("archive");
        set_updated_at(store, *id, 500).await; // a tie between the two archived ones
    }
    for i in 0..4 {
        store.append_message(u.id, ids[4], text(&format!("m{i}"))).await.expect("message");
    }
    store.set_preference(u.id, "chat.model", &json!("demo/x")).await.expect("preference");
    let messages = MessageQuery { limit: 3, ..Default::default() };

    let first = store
        .dashboard(
            u.id,
            &DashboardQuery {
                page: 2,
                with_archived: true,
                open: Some((ids[4], messages.clone())),
                ..Default::default()
            },
        )
        .await
        .expect("dashboard");
    let recent = store.list_conversations(u.id, false, None, 2).await.expect("list");
    let archived = store.list_conversations(u.id, true, None, 2).await.expect("list");
    assert_eq!(first.recent, recent);
    assert_eq!(first.archived.as_ref(), Some(&archived));
    assert_eq!(first.recent.items.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(), ["c4", "c3"]);
    assert_eq!(archived.items.len(), 2);
    assert!(archived.next.is_none() && first.recent.next.is_some());
    let (open, page) = first.open.expect("open conversation");
    assert_eq!(open.id, ids[4]);
    assert_eq!(page, store.list_messages(u.id, ids[4], &messages).await.expect("messages"));
    assert_eq!(page.items.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["m1", "m2", "m3"]);
    assert_eq!(first.preferences, store.effective_preferences(u.id).await.expect("preferences"));

    // The next sidebar page comes from the list's own cursor.
    let second = store
        .dashboard(u.id, &DashboardQuery { recent_from: first.recent.next.clone(), page: 2, ..Default::default() })
        .await
        .expect("page 2");
    assert_eq!(second.recent.items.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(), ["c2"]);
    assert!(second.recent.next.is_none() && second.open.is_none());
    assert!(second.archived.is_none(), "the archived list is read only when asked for");

    // Refused: another user's conversation, a cursor of the other list, a page size out of range.
    let foreign = DashboardQuery { page: 2, open: Some((ids[4], messages.clone())), ..Default::default() };
    assert!(matches!(store.dashboard(other.id, &foreign).await, Err(DbError::NotFound)));
    let swapped =
        DashboardQuery { with_archived: true, archived_from: first.recent.next.clone(), page: 2, ..Default::default() };
    assert!(matches!(store.dashboard(u.id, &swapped).await, Err(DbError::BadCursor)));
    assert!(matches!(store.dashboard(u.id, &DashboardQuery::default()).await, Err(DbError::Invalid(_))));
}

async fn a_conversation_change_is_one_statement_and_all_or_nothing(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "change@example.com").await;
    let c = store.create_conversation(u.id, "before").await.expect("create");
    let both = ConversationChange { title: Some("  after  "), archived: Some(true) };
    let changed = store.update_conversation(u.id, c.id, &both).await.expect("change");
    assert_eq!((changed.title.as_str(), changed.archived), ("after", true));
    // Only what is given changes.
    let changed = store.update_conversation(u.id, c.id, &archive(false)).await.expect("unarchive");
    assert_eq!((changed.title.as_str(), changed.archived), ("after", false));
    // A bad title refuses the whole change: the archive flag stays as it was.
    let bad = ConversationChange { title: Some("a\u{0007}b"), archived: Some(true) };
    assert!(matches!(store.update_conversation(u.id, c.id, &bad).await, Err(DbError::Invalid(_))));
    let now = store.get_conversation(u.id, c.id).await.expect("get");
    assert_eq!((now.title.as_str(), now.archived), ("after", false));
}

fn turn(target: TurnTarget, content: &str, reply: bool) -> NewTurn {
    NewTurn {
        target,
        content: content.into(),
        reply: reply.then(|| json!({"model": "m", "provider": "p"})),
        replies_per_user: None,
    }
}

async fn a_turn_saves_the_message_and_its_reply_together(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "turn@example.com").await;
    let mallory = user(store, "turn-mallory@example.com").await;
    // A new conversation, its first message and the reply, in one transaction.
    let id = Uuid::now_v7();
    let started = store
        .start_turn(u.id, &turn(TurnTarget::New { id, title: "Tides".into() }, "Tell me about tides", true))
        .await
        .expect("turn");
    assert_eq!((started.conversation.id, started.conversation.title.as_str()), (id, "Tides"));
    let reply = started.reply.expect("a reply row");
    assert_eq!(
        (reply.role, &reply.state, reply.content.as_str()),
        (MessageRole::Assistant, &ReplyState::Streaming, "")
    );
    let page = store.list_messages(u.id, id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(page.items.iter().map(|m| m.id).collect::<Vec<_>>(), [started.user_message.id, reply.id]);
    // The context of the next turn: the conversation, the remembered model, the history.
    store.set_preference(u.id, mosaic_db::preferences::CHAT_MODEL, &json!("p/m")).await.expect("pick");
    let context = store.turn_context(u.id, &TurnTarget::Existing(id)).await.expect("context");
    assert_eq!(context.conversation.map(|c| c.id), Some(id));
    assert_eq!(context.remembered_model.as_deref(), Some("p/m"));
    assert_eq!(context.history.len(), 2);
    // Without a reply only the message is saved.
    let alone = store.start_turn(u.id, &turn(TurnTarget::Existing(id), "no model", false)).await.expect("turn");
    assert!(alone.reply.is_none());
    // Another user's conversation is not found, for the context and for the write, and nothing is saved.
    let nf = |r: Result<(), DbError>| assert!(matches!(r, Err(DbError::NotFound)), "{r:?}");
    nf(store.turn_context(mallory.id, &TurnTarget::Existing(id)).await.map(|_| ()));
    // A deleted conversation is not found either, and bad content is refused before anything is written.
    let gone = store.create_conversation(u.id, "gone").await.expect("create");
    store.delete_conversation(u.id, gone.id).await.expect("delete");
    nf(store.start_turn(u.id, &turn(TurnTarget::Existing(gone.id), "hello?", true)).await.map(|_| ()));
    let refused = store.start_turn(u.id, &turn(TurnTarget::Existing(id), "   ", true)).await;
    assert!(matches!(refused, Err(DbError::Invalid(_))), "{refused:?}");
    let page = store.list_messages(u.id, id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(page.items.len(), 3, "nothing else was saved");
}

async fn replies_settle_in_one_of_their_states(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "settle@example.com").await;
    let meta = json!({"model": "m", "provider": "p"});
    for state in [
        ReplyState::COMPLETE,
        ReplyState::Complete { reason: Some(ReplyState::LENGTH.into()) },
        ReplyState::Stopped { reason: None },
        ReplyState::Stopped { reason: Some("server shutting down".into()) },
        ReplyState::Failed { reason: "The provider stopped responding.".into() },
    ] {
        let id = Uuid::now_v7();
        let started = store
            .start_turn(u.id, &turn(TurnTarget::New { id, title: String::new() }, "hi", true))
            .await
            .expect("turn");
        let reply = started.reply.expect("reply");
        store.save_reply(id, reply.id, "so far", &ReplyState::Streaming, &meta, &[]).await.expect("partial");
        store.save_reply(id, reply.id, "so far and the rest", &state, &meta, &[]).await.expect("final");
        let page =
            store.list_messages(u.id, id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("list");
        let saved = page.items.last().expect("reply");
        assert_eq!((saved.content.as_str(), &saved.state), ("so far and the rest", &state));
    }
    // The schema refuses a failure without a reason, whatever the code does.
    let sql = "UPDATE messages SET status = 'failed', status_reason = NULL WHERE role = 'assistant'";
    let refused = match store {
        Store::Sqlite(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
        Store::Postgres(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
    };
    assert!(refused.is_err(), "a CHECK keeps a failure's reason");
    // Nor a complete reply with a reason other than the length cut.
    let sql = "UPDATE messages SET status = 'complete', status_reason = 'made up' WHERE role = 'assistant'";
    let refused = match store {
        Store::Sqlite(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
        Store::Postgres(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
    };
    assert!(refused.is_err(), "a CHECK keeps a complete reply's reason to the length cut");
}

/// Two instances on one database each hold their own in-memory slot for a conversation, so the
/// database itself refuses a second live reply: of two turns with replies into one conversation,
/// the second is a conflict and saves nothing; once the first settles, the next one goes.
async fn one_reply_at_a_time_per_conversation_in_the_database(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "one-at-a-time@example.com").await;
    let id = Uuid::now_v7();
    let first = store
        .start_turn(u.id, &turn(TurnTarget::New { id, title: String::new() }, "first", true))
        .await
        .expect("first turn");
    let second = store.start_turn(u.id, &turn(TurnTarget::Existing(id), "second", true)).await;
    assert!(matches!(second, Err(DbError::Conflict(_))), "{second:?}");
    let page = store.list_messages(u.id, id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(page.items.len(), 2, "nothing of the refused turn was saved");
    // A message without a reply is still welcome, and another conversation is not affected.
    store.start_turn(u.id, &turn(TurnTarget::Existing(id), "a note", false)).await.expect("no reply");
    let other = Uuid::now_v7();
    store
        .start_turn(u.id, &turn(TurnTarget::New { id: other, title: String::new() }, "elsewhere", true))
        .await
        .expect("another conversation");
    let reply = first.reply.expect("reply");
    let meta = json!({"model": "m", "provider": "p"});
    store.save_reply(id, reply.id, "done", &ReplyState::COMPLETE, &meta, &[]).await.expect("settle");
    store.start_turn(u.id, &turn(TurnTarget::Existing(id), "third", true)).await.expect("after it settled");
}

async fn replies_left_streaming_by_a_dead_process_fail_as_interrupted(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "crash@example.com").await;
    let meta = json!({"model": "m", "provider": "p"});
    let old = Uuid::now_v7();
    let dead = store.start_turn(u.id, &turn(TurnTarget::New { id: old, title: String::new() }, "hi", true)).await;
    let dead = dead.expect("turn").reply.expect("reply");
    store.save_reply(old, dead.id, "half a rep", &ReplyState::Streaming, &meta, &[]).await.expect("partial");
    let started_at = now_micros() + 1;
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    // A reply this process started after it came up is left alone.
    let new = Uuid::now_v7();
    let live = store.start_turn(u.id, &turn(TurnTarget::New { id: new, title: String::new() }, "hi", true)).await;
    let live = live.expect("turn").reply.expect("reply");
    assert_eq!(store.recover_interrupted_replies(started_at).await.expect("recover"), 1);
    let read = |id| async move {
        let page = store.list_messages(u.id, id, &MessageQuery { limit: 10, ..Default::default() }).await;
        page.expect("list").items.pop().expect("reply")
    };
    let recovered = read(old).await;
    assert_eq!(recovered.id, dead.id);
    assert_eq!(recovered.state, ReplyState::Failed { reason: ReplyState::INTERRUPTED.into() });
    assert_eq!(recovered.content, "half a rep", "its text is kept");
    assert_eq!(read(new).await.id, live.id);
    assert_eq!(read(new).await.state, ReplyState::Streaming);
    assert_eq!(store.recover_interrupted_replies(started_at).await.expect("again"), 0);
}

/// Rows written by the first schema ("complete"/"incomplete" plus metadata.error) come out of the
/// reply-state migration in the state they meant.
async fn old_reply_rows_migrate_to_their_states(engine: Engine) {
    let database = mosaic_test_support::fresh_database(engine).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(engine.name());
    let mut first = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    first.migrations = std::borrow::Cow::Owned(first.migrations[..1].to_vec());
    let (user, conversation) = (Uuid::now_v7(), Uuid::now_v7());
    let rows = [
        ("complete", json!({"model": "m"})),
        ("incomplete", json!({"model": "m", "error": "stopped"})),
        ("incomplete", json!({"model": "m", "error": "The provider could not be reached."})),
        ("incomplete", json!({"model": "m"})),
    ];
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    macro_rules! seed_old_schema {
        ($pool:expr) => {{
            let pool = $pool;
            first.run(&pool).await.expect("first migration");
            sqlx::query("INSERT INTO users (id, email, name, role, banned, created_at, updated_at) VALUES ($1, 'old@example.com', 'Old', 'admin', FALSE, 1, 1)")
                .bind(user).execute(&pool).await.expect("user");
            sqlx::query("INSERT INTO conversations (id, user_id, title, archived, created_at, updated_at) VALUES ($1, $2, 'old', FALSE, 1, 1)")
                .bind(conversation).bind(user).execute(&pool).await.expect("conversation");
            for (i, ((status, meta), id)) in rows.iter().zip(&ids).enumerate() {
                sqlx::query("INSERT INTO messages (id, conversation_id, role, content, metadata, status, created_at) VALUES ($1, $2, 'assistant', 'text', $3, $4, $5)")
                    .bind(id).bind(conversation).bind(sqlx::types::Json(meta)).bind(*status).bind(10 + i as i64)
                    .execute(&pool).await.expect("message");
            }
            pool.close().await;
        }};
    }
    match engine {
        Engine::Sqlite => {
            seed_old_schema!(sqlx::SqlitePool::connect(&format!("{}?mode=rwc", database.url)).await.expect("open"))
        }
        Engine::Postgres => seed_old_schema!(sqlx::PgPool::connect(&database.url).await.expect("open")),
    }
    let store = database.open().await;
    let page = store.list_messages(user, conversation, &MessageQuery { limit: 10, ..Default::default() }).await;
    let states: Vec<ReplyState> = page
        .expect("list")
        .items
        .into_iter()
        .map(|m| {
            assert!(m.metadata.get("error").is_none(), "the old convention is gone: {}", m.metadata);
            m.state
        })
        .collect();
    assert_eq!(
        states,
        [
            ReplyState::COMPLETE,
            ReplyState::Stopped { reason: None },
            ReplyState::Failed { reason: "The provider could not be reached.".into() },
            ReplyState::Streaming,
        ]
    );
    store.close().await;
}

/// Each reply row names its instance; a reply whose instance holds a live lease is left alone, one
/// whose lease ran out (or that never had one, past the grace) is settled as interrupted, once,
/// keeping its text.
async fn replies_of_an_instance_whose_lease_ran_out_are_settled_once(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "lease@example.com").await;
    let meta = json!({"model": "m", "provider": "p"});
    let id = Uuid::now_v7();
    let started = store.start_turn(u.id, &turn(TurnTarget::New { id, title: String::new() }, "hi", true)).await;
    let reply = started.expect("turn").reply.expect("reply");
    store.save_reply(id, reply.id, "half a réply", &ReplyState::Streaming, &meta, &[]).await.expect("partial");
    let now = now_micros();
    let grace = 2 * SECOND;
    // Younger than the grace and without a lease: its instance may be recording its first one.
    assert_eq!(store.settle_orphaned_replies(now, grace).await.expect("young"), []);
    // Its instance (this store's) renews its lease until now + 10 s.
    store.renew_lease(now, now + 10 * SECOND).await.expect("lease");
    assert_eq!(store.settle_orphaned_replies(now + 5 * SECOND, grace).await.expect("leased"), []);
    // The instance stopped renewing; 11 s on, its reply is settled.
    let settled = store.settle_orphaned_replies(now + 11 * SECOND, grace).await.expect("settle");
    assert_eq!(
        settled,
        [mosaic_db::replies::Orphan {
            message_id: reply.id,
            conversation_id: id,
            chars: "half a réply".chars().count()
        }]
    );
    let page = store.list_messages(u.id, id, &MessageQuery { limit: 10, ..Default::default() }).await.expect("list");
    let read = page.items.last().expect("reply").clone();
    assert_eq!(read.state, ReplyState::Failed { reason: ReplyState::INTERRUPTED.into() });
    assert_eq!(read.content, "half a réply", "its text is kept");
    assert_eq!(store.settle_orphaned_replies(now + 12 * SECOND, grace).await.expect("again"), [], "once");
    assert!(store.live_reply(u.id, id).await.expect("live").is_none());
}

/// A turn counts the user's replies being written (whatever instance writes them) and is refused
/// past the cap, saving nothing; a settled reply makes room again.
async fn a_users_live_replies_are_capped_in_the_database(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "cap@example.com").await;
    let other = user(store, "other-cap@example.com").await;
    let capped = |content: &str| NewTurn {
        replies_per_user: Some(2),
        ..turn(TurnTarget::for_message(None, content), content, true)
    };
    let first = store.start_turn(u.id, &capped("one")).await.expect("first");
    store.start_turn(u.id, &capped("two")).await.expect("second");
    let refused = store.start_turn(u.id, &capped("three")).await;
    assert!(
        matches!(&refused, Err(DbError::Conflict(why)) if why == mosaic_db::replies::TOO_MANY_REPLIES),
        "{refused:?}"
    );
    let listed = store.list_conversations(u.id, false, None, 50).await.expect("list");
    assert_eq!(listed.items.len(), 2, "nothing saved");
    // Another user's replies do not count; a message without a reply is never capped.
    store.start_turn(other.id, &capped("mine")).await.expect("another user");
    let no_reply = NewTurn { reply: None, ..capped("just a note") };
    store.start_turn(u.id, &no_reply).await.expect("no reply, no cap");
    let (c, reply) = (first.conversation.id, first.reply.expect("reply"));
    let meta = json!({"model": "m", "provider": "p"});
    store.save_reply(c, reply.id, "done", &ReplyState::COMPLETE, &meta, &[]).await.expect("settle");
    store.start_turn(u.id, &capped("three")).await.expect("room again");
}
