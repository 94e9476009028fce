//! The data layer's part of the background jobs, on both engines: summaries written once per group,
//! the collector's bounded batches deleting exactly what expired, a session's collect touching only
//! its own logs, and a scheduled run claimed by exactly one of its contenders.

use mosaic_db::agent_logs::{LogFilter, NewAgentLog, NewSummary};
use mosaic_db::clock::{now_micros, SECOND};
use mosaic_db::gc::SESSION_COLLECT;
use mosaic_db::jobs::RunStatus;
use mosaic_db::messages::MessageQuery;
use mosaic_db::model::{ReplyState, SummarySource, Tier, User};
use mosaic_db::replies::{NewTurn, TurnTarget};
use mosaic_db::revocations::Revoked;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::{token, DbError, Engine, Store};
use mosaic_test_support::agent_log;
use serde_json::json;
use uuid::Uuid;

mosaic_test_support::both_engines!(
    a_group_is_summarised_once_even_when_saved_twice,
    groups_split_at_the_limit_across_equal_timestamps,
    the_sweep_batches_delete_exactly_the_expired_rows,
    ending_a_session_demotes_only_its_own_logs,
    logs_of_expired_or_vanished_sessions_are_demoted,
    a_scheduled_run_is_claimed_once,
    a_reply_and_its_logs_are_saved_together,
);

const HOUR: i64 = 3600 * SECOND;

async fn user(store: &Store, email: &str) -> User {
    store.create_user_with_password(email, "Test User", "$argon2id$fake", true).await.expect("create user")
}

fn summary(text: &str) -> NewSummary {
    NewSummary { text: text.into(), source: SummarySource::Extractive, model: None }
}

/// Runs raw SQL with integer, text and id parameters, for rows the API cannot make.
async fn exec(store: &Store, sql: &'static str, id: Uuid, text: &str, at: i64) {
    match store {
        Store::Sqlite(s) => sqlx::query(sql).bind(id).bind(text).bind(at).execute(s.pool()).await.map(|_| ()),
        Store::Postgres(s) => sqlx::query(sql).bind(id).bind(text).bind(at).execute(s.pool()).await.map(|_| ()),
    }
    .expect("raw sql");
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    match store {
        Store::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
        Store::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
    }
    .expect("count")
}

fn tier(t: Tier) -> LogFilter {
    LogFilter { tier: Some(t), ..LogFilter::default() }
}

async fn a_group_is_summarised_once_even_when_saved_twice(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let (alice, bob) = (user(store, "a@example.com").await, user(store, "b@example.com").await);
    let now = now_micros();
    let cut = now - 24 * HOUR;
    // Alice and Bob both use the agent session name "s1": their logs are never mixed.
    let mut logs: Vec<_> = (0..3).map(|i| agent_log(alice.id, "s1", Tier::Hot, Some(cut - (10 - i) * HOUR))).collect();
    logs.push(agent_log(alice.id, "s1", Tier::Hot, Some(now - HOUR))); // recent: stays hot
    logs.extend((0..2).map(|i| agent_log(bob.id, "s1", Tier::Hot, Some(cut - (5 - i) * HOUR))));
    store.append_agent_logs(&logs).await.expect("append");

    let group = store.next_summary_group(cut, 100).await.expect("read").expect("a group");
    assert_eq!((group.user_id, group.session_id.as_str(), group.logs.len()), (alice.id, "s1", 3));
    assert!(store.save_summary(&group, &summary("first"), now).await.expect("save"));
    // A retried run saving the same group again changes nothing.
    assert!(!store.save_summary(&group, &summary("again"), now).await.expect("save again"));

    let bobs = store.next_summary_group(cut, 100).await.expect("read").expect("bob's group");
    assert_eq!((bobs.user_id, bobs.logs.len()), (bob.id, 2));
    // A log written into the group's time range after it was read: the save refuses, nothing moves.
    store.append_agent_logs(&[agent_log(bob.id, "s1", Tier::Hot, Some(cut - 4 * HOUR - 1))]).await.expect("late log");
    assert!(!store.save_summary(&bobs, &summary("stale"), now).await.expect("stale save"));
    assert_eq!(store.list_agent_logs(bob.id, "s1", &tier(Tier::Hot), None, 100).await.expect("hot").items.len(), 3);
    let bobs = store.next_summary_group(cut, 100).await.expect("read").expect("bob's group again");
    assert_eq!(bobs.logs.len(), 3);
    assert!(store.save_summary(&bobs, &summary("bob"), now).await.expect("save"));
    assert!(store.next_summary_group(cut, 100).await.expect("read").is_none(), "nothing old is hot");

    let alices = store.list_summaries(alice.id, "s1", None, 10).await.expect("summaries");
    assert_eq!(alices.items.len(), 1);
    assert_eq!((alices.items[0].summary.as_str(), alices.items[0].log_count), ("first", 3));
    assert_eq!(alices.items[0].first_log_at, cut - 10 * HOUR);
    let left = store.list_agent_logs(alice.id, "s1", &tier(Tier::Hot), None, 100).await.expect("hot");
    assert_eq!(left.items.len(), 1, "the recent log stays hot");
    assert_eq!(count(store, "SELECT COUNT(*) FROM agent_log_summaries").await, 2);
}

async fn groups_split_at_the_limit_across_equal_timestamps(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "ties@example.com").await;
    let now = now_micros();
    let at = now - 48 * HOUR;
    store
        .append_agent_logs(&(0..5).map(|_| agent_log(u.id, "s", Tier::Hot, Some(at))).collect::<Vec<_>>())
        .await
        .expect("append");
    let mut sizes = Vec::new();
    while let Some(group) = store.next_summary_group(now - 24 * HOUR, 2).await.expect("read") {
        sizes.push(group.logs.len());
        assert!(store.save_summary(&group, &summary("part"), now).await.expect("save"));
    }
    assert_eq!(sizes, [2, 2, 1]);
    let warm = store.list_agent_logs(u.id, "s", &tier(Tier::Warm), None, 100).await.expect("warm");
    assert_eq!(warm.items.len(), 5);
    let summaries = store.list_summaries(u.id, "s", None, 100).await.expect("summaries");
    assert_eq!(summaries.items.iter().map(|s| s.log_count).sum::<i32>(), 5, "each log summarised once");
}

async fn the_sweep_batches_delete_exactly_the_expired_rows(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "sweep@example.com").await;
    let now = now_micros();
    let short = SessionPolicy { idle: SECOND, absolute: SECOND };
    for _ in 0..7 {
        let t = token::generate().expect("token");
        store.create_session(u.id, &token::hash(&t), None, None, short).await.expect("short session");
    }
    let live = token::generate().expect("token");
    store.create_session(u.id, &token::hash(&live), None, None, SessionPolicy::default()).await.expect("live");
    let later = now + 10 * SECOND;
    let mut deleted = 0;
    loop {
        let n = store.delete_expired_sessions(later, 3).await.expect("sweep");
        assert!(n <= 3, "a batch is bounded");
        deleted += n;
        if n < 3 {
            break;
        }
    }
    assert_eq!(deleted, 7);
    assert!(store.resolve_session(&token::hash(&live), SessionPolicy::default()).await.expect("resolve").is_some());

    let insert = "INSERT INTO verifications (id, identifier, value, expires_at, created_at, updated_at)
                  VALUES ($1, $2, 'code', $3, 0, 0)";
    for i in 0..5 {
        exec(store, insert, Uuid::now_v7(), "old", now - i - 1).await;
    }
    exec(store, insert, Uuid::now_v7(), "fresh", now + HOUR).await;
    assert_eq!(store.delete_expired_verifications(now, 2).await.expect("batch"), 2);
    assert_eq!(store.delete_expired_verifications(now, 10).await.expect("batch"), 3);
    assert_eq!(count(store, "SELECT COUNT(*) FROM verifications").await, 1);

    for i in 0..4 {
        store.claim_job_run("old-job", Some(i), 1, now - 40 * 24 * HOUR).await.expect("claim").expect("old run");
    }
    store.claim_job_run("new-job", None, 1, now).await.expect("claim").expect("new run");
    assert_eq!(store.delete_job_runs_before(now - 30 * 24 * HOUR, 3).await.expect("batch"), 3);
    assert_eq!(store.delete_job_runs_before(now - 30 * 24 * HOUR, 3).await.expect("batch"), 1);
    assert_eq!(count(store, "SELECT COUNT(*) FROM job_runs").await, 1);
}

async fn ending_a_session_demotes_only_its_own_logs(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let _admin = user(store, "admin@example.com").await;
    let u = user(store, "collect@example.com").await;
    let policy = SessionPolicy::default();
    let (ta, tb) = (token::generate().expect("token"), token::generate().expect("token"));
    let a = store.create_session(u.id, &token::hash(&ta), None, None, policy).await.expect("a");
    let b = store.create_session(u.id, &token::hash(&tb), None, None, policy).await.expect("b");
    let now = now_micros();
    let mut logs = Vec::new();
    for (session, n) in [(Some(a.id), 1203), (Some(b.id), 4), (None, 2)] {
        logs.extend(
            (0..n).map(|i| NewAgentLog {
                auth_session_id: session,
                ..agent_log(u.id, "agent", Tier::Hot, Some(now - i))
            }),
        );
    }
    for chunk in logs.chunks(1000) {
        store.append_agent_logs(chunk).await.expect("append");
    }
    // Signing out starts the session's collect in the background.
    assert_eq!(store.revoke_session_by_token(&token::hash(&ta)).await.expect("sign out"), Some(a.id));
    let runs = finished_collects(store, 1).await;
    let detail = &runs[0].detail;
    assert_eq!(
        (detail["sessionId"].as_str(), detail["cleaned"]["logsDemoted"].as_u64()),
        (Some(a.id.to_string().as_str()), Some(1203)),
        "{detail}"
    );
    assert!(detail["durationMs"].is_u64());
    assert_eq!(store.list_agent_logs(u.id, "agent", &tier(Tier::Hot), None, 100).await.expect("hot").items.len(), 6);
    // Collecting again finds nothing more.
    assert_eq!(store.collect_session(a.id).await.expect("again")["cleaned"]["logsDemoted"], 0);
    // A ban ends every session of the user, announces which, and collects each.
    let mut revoked = store.revocations().subscribe();
    let ops = mosaic_db::audit::Actor { id: None, email: "ops@example.com".into() };
    store.ban(&ops, u.id, Some("spam")).await.expect("ban");
    let announced: Vec<Revoked> = std::iter::from_fn(|| revoked.try_recv().ok()).filter_map(revoked_of).collect();
    assert_eq!(announced, [Revoked::User(u.id)], "one announcement covers every credential of the user");
    let runs = finished_collects(store, 3).await;
    assert_eq!(runs[0].detail["cleaned"]["logsDemoted"], 4, "{}", runs[0].detail);
    assert_eq!(store.list_agent_logs(u.id, "agent", &tier(Tier::Hot), None, 100).await.expect("hot").items.len(), 2);
}

/// Waits (5 s at most) until `n` session collects have finished; returns them, newest first.
async fn finished_collects(store: &Store, n: usize) -> Vec<mosaic_db::jobs::JobRun> {
    for _ in 0..200 {
        let runs = store.recent_job_runs(SESSION_COLLECT, 10).await.expect("runs");
        if runs.len() >= n && runs.iter().all(|r| r.status != RunStatus::Running) {
            assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded), "{runs:?}");
            return runs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{n} session collects did not finish in time");
}

async fn logs_of_expired_or_vanished_sessions_are_demoted(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "orphans@example.com").await;
    let short = SessionPolicy { idle: SECOND, absolute: SECOND };
    let (t1, t2, t3) = (token::generate().expect("t"), token::generate().expect("t"), token::generate().expect("t"));
    let expired = store.create_session(u.id, &token::hash(&t1), None, None, short).await.expect("expiring");
    let live = store.create_session(u.id, &token::hash(&t2), None, None, SessionPolicy::default()).await.expect("live");
    let gone = store.create_session(u.id, &token::hash(&t3), None, None, SessionPolicy::default()).await.expect("gone");
    // A session that vanished without its collect (a crash between the two).
    match store {
        Store::Sqlite(p) => {
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(gone.id).execute(p.pool()).await.map(|_| ())
        }
        Store::Postgres(p) => {
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(gone.id).execute(p.pool()).await.map(|_| ())
        }
    }
    .expect("delete");
    let now = now_micros();
    let mut logs = Vec::new();
    for (session, n) in [(expired.id, 3), (live.id, 2), (gone.id, 4)] {
        logs.extend((0..n).map(|i| NewAgentLog {
            auth_session_id: Some(session),
            ..agent_log(u.id, "agent", Tier::Hot, Some(now - i))
        }));
    }
    store.append_agent_logs(&logs).await.expect("append");
    let later = now + 10 * SECOND;
    assert_eq!(store.demote_orphaned_logs(later, 5).await.expect("batch"), 5);
    assert_eq!(store.demote_orphaned_logs(later, 5).await.expect("batch"), 2);
    assert_eq!(store.demote_orphaned_logs(later, 5).await.expect("batch"), 0);
    let hot = store.list_agent_logs(u.id, "agent", &tier(Tier::Hot), None, 100).await.expect("hot");
    assert_eq!(hot.items.len(), 2, "the live session's logs stay hot");
}

async fn a_scheduled_run_is_claimed_once(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let now = now_micros();
    let contenders = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_job_run("tiers", Some(now), 1, now).await })
    });
    let mut won = 0;
    for c in contenders {
        if c.await.expect("join").expect("claim").is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one of eight contenders runs the schedule");
    assert!(
        store.claim_job_run("tiers", Some(now), 2, now).await.expect("retry").is_some(),
        "a retry is its own claim"
    );
    assert!(store.claim_job_run("tiers", Some(now + 1), 1, now).await.expect("next").is_some());
    assert!(store.claim_job_run("cold-start", None, 1, now).await.expect("unscheduled").is_some());
    assert!(store.claim_job_run("cold-start", None, 1, now).await.expect("unscheduled").is_some());
    let run = store.claim_job_run("sweep", Some(now), 1, now).await.expect("claim").expect("claimed");
    store.finish_job_run(run, RunStatus::Failed, &json!({"error": "boom"}), now + 5).await.expect("finish");
    let runs = store.recent_job_runs("sweep", 5).await.expect("runs");
    assert_eq!((runs[0].status, runs[0].finished_at, runs[0].attempt), (RunStatus::Failed, Some(now + 5), 1));
}

async fn a_reply_and_its_logs_are_saved_together(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "reply-logs@example.com").await;
    let turn = NewTurn {
        target: TurnTarget::for_message(None, "hello"),
        content: "hello".into(),
        reply: Some(json!({"model": "m"})),
        replies_per_user: None,
    };
    let started = store.start_turn(u.id, &turn).await.expect("turn");
    let (c, reply) = (started.conversation.id, started.reply.expect("reply"));
    let session = c.to_string();
    let mut bad = agent_log(u.id, &session, Tier::Hot, Some(now_micros()));
    bad.category = String::new();
    let refused = store
        .save_reply(
            c,
            reply.id,
            "done",
            &ReplyState::COMPLETE,
            &json!({}),
            &[agent_log(u.id, &session, Tier::Hot, Some(1)), bad],
        )
        .await;
    assert!(matches!(refused, Err(DbError::Invalid(ref m)) if m.starts_with("log 1: category")), "{refused:?}");
    let page = store.list_messages(u.id, c, &MessageQuery { limit: 10, ..Default::default() }).await;
    let reply_now = page.ok().and_then(|p| p.items.into_iter().find(|m| m.id == reply.id));
    assert_eq!(reply_now.map(|m| m.state), Some(ReplyState::Streaming), "nothing saved");
    store
        .save_reply(
            c,
            reply.id,
            "done",
            &ReplyState::COMPLETE,
            &json!({}),
            &[agent_log(u.id, &session, Tier::Hot, Some(1))],
        )
        .await
        .expect("save");
    let logs = store.list_agent_logs(u.id, &session, &LogFilter::default(), None, 10).await;
    assert_eq!(logs.expect("logs").items.len(), 1);
}

/// The credential a bus signal announces as ended, if it is such an announcement.
fn revoked_of(signal: mosaic_db::bus::Signal) -> Option<Revoked> {
    match signal {
        mosaic_db::bus::Signal::Revoked { revoked } => Some(revoked),
        _ => None,
    }
}
