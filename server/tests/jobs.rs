//! The background jobs, on SQLite and PostgreSQL: the sweep deletes exactly what expired, tiers
//! move at their ages across batches, summaries fall back and are written once, a failed run is
//! retried and the next run finishes the work, a schedule runs once between instances, ending a
//! session collects its logs, replies write their logs, the logs API refuses bad batches whole, the
//! activity page reads without JavaScript, and startup never waits for the cold-start collect.
//! Time is a [`ManualClock`]: no test waits for a real schedule.

mod support;

use std::sync::Arc;
use std::time::Duration;

use mosaic_chat::events::ServerEvent;
use mosaic_chat::provider::Provider;
use mosaic_chat::standin;
use mosaic_db::agent_logs::{LogFilter, NewAgentLog};
use mosaic_db::clock::{now_micros, SECOND};
use mosaic_db::jobs::RunStatus;
use mosaic_db::model::{LogLevel, SummarySource, Tier};
use mosaic_db::replies::TurnTarget;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::{token, Engine, Store};
use mosaic_test_support::{agent_log, fresh_database};
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use server::jobs::{Job, JobSettings, Jobs, ManualClock, Summariser};
use support::{start, TestServer};
use uuid::Uuid;

mosaic_test_support::both_engines!(
    the_sweep_deletes_exactly_what_expired,
    tiers_move_rows_at_their_ages_across_batches,
    summaries_fall_back_when_the_model_fails_and_are_written_once,
    a_failed_run_is_retried_and_the_next_run_finishes_the_work,
    a_scheduled_run_runs_once_between_two_instances,
    ending_a_session_collects_its_logs,
    every_reply_writes_its_logs,
    the_logs_api_refuses_bad_batches_whole_and_lists_only_ones_own,
    the_activity_page_reads_without_javascript,
    startup_does_not_wait_for_the_cold_start_collect,
    two_processes_run_a_schedule_once,
);

const HOUR: i64 = 3600 * SECOND;
const DAY: i64 = 24 * HOUR;

/// Settings for tests: small batches, no rest, quick retries, no grace for files.
fn settings() -> JobSettings {
    JobSettings {
        batch_rows: 3,
        pace: mosaic_db::gc::Pace::FLAT_OUT,
        backoff: Duration::from_millis(10),
        file_grace: Duration::ZERO,
        ..JobSettings::default()
    }
}

fn jobs_at(s: &TestServer, clock: &Arc<ManualClock>, settings: JobSettings, summariser: Summariser) -> Arc<Jobs> {
    Jobs::new(s.store.clone(), now_micros(), clock.clone(), settings, s.state.avatars.clone(), summariser)
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    match store {
        Store::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
        Store::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await,
    }
    .expect("count")
}

async fn exec(store: &Store, sql: &'static str) {
    match store {
        Store::Sqlite(s) => sqlx::raw_sql(sql).execute(s.pool()).await.map(|_| ()),
        Store::Postgres(s) => sqlx::raw_sql(sql).execute(s.pool()).await.map(|_| ()),
    }
    .expect("raw sql");
}

async fn tiers(store: &Store, user: Uuid, session: &str) -> (usize, usize, usize) {
    let mut n = [0usize; 3];
    for (i, t) in [Tier::Hot, Tier::Warm, Tier::Cold].into_iter().enumerate() {
        let filter = LogFilter { tier: Some(t), ..LogFilter::default() };
        n[i] = store.list_agent_logs(user, session, &filter, None, 200).await.expect("list").items.len();
    }
    (n[0], n[1], n[2])
}

async fn the_sweep_deletes_exactly_what_expired(engine: Engine) {
    let s = start(engine, &[]).await;
    let store = &s.store;
    let u = store.create_user_with_password("sweep@example.com", "Sweep", "h", true).await.expect("user");
    let short = SessionPolicy { idle: SECOND, absolute: SECOND };
    let mut expiring = Vec::new();
    for _ in 0..4 {
        let t = token::generate().expect("token");
        expiring.push(store.create_session(u.id, &token::hash(&t), None, None, short).await.expect("session").id);
    }
    let live_token = token::generate().expect("token");
    let live = store.create_session(u.id, &token::hash(&live_token), None, None, SessionPolicy::default()).await;
    let live = live.expect("live").id;
    let now = now_micros();
    let mut logs = vec![NewAgentLog { auth_session_id: Some(live), ..agent_log(u.id, "a", Tier::Hot, Some(now)) }];
    logs.extend(
        (0..5).map(|i| NewAgentLog {
            auth_session_id: Some(expiring[i % 4]),
            ..agent_log(u.id, "a", Tier::Hot, Some(now))
        }),
    );
    store.append_agent_logs(&logs).await.expect("logs");
    let sql = "INSERT INTO verifications (id, identifier, value, expires_at, created_at, updated_at) VALUES ($1, 'x', 'code', $2, 0, 0)";
    for at in [now - 5, now - 1, now + DAY] {
        match store {
            Store::Sqlite(p) => sqlx::query(sql).bind(Uuid::now_v7()).bind(at).execute(p.pool()).await.map(|_| ()),
            Store::Postgres(p) => sqlx::query(sql).bind(Uuid::now_v7()).bind(at).execute(p.pool()).await.map(|_| ()),
        }
        .expect("verification");
    }
    for i in 0..4 {
        store.claim_job_run("old", Some(i), 1, now - 40 * DAY).await.expect("claim");
    }
    store.claim_job_run("recent", Some(0), 1, now - DAY).await.expect("claim");
    // Avatar files: one in use, two nobody uses, one half-written upload.
    let dir = s.data_dir.join("media/avatars");
    std::fs::create_dir_all(&dir).expect("dir");
    let (used, unused) = ("a".repeat(64), "b".repeat(64));
    for key in [&used, &unused] {
        for name in [format!("{key}-64.avif"), format!("{key}-64.webp")] {
            std::fs::write(dir.join(name), b"image").expect("file");
        }
    }
    std::fs::write(dir.join(format!("{unused}-128.avif.partial-1")), b"half").expect("partial");
    store.set_user_image(u.id, Some(&used)).await.expect("avatar");

    let clock = Arc::new(ManualClock::at(now + 10 * SECOND));
    let jobs = jobs_at(&s, &clock, settings(), Summariser::new(None));
    let (status, detail) = jobs.run(Job::Sweep, Some(now)).await.expect("ran");
    assert_eq!(status, RunStatus::Succeeded, "{detail}");
    for (key, expected) in [
        ("sessionsDeleted", 4),
        ("logsDemoted", 5),
        ("verificationsDeleted", 2),
        ("jobRunsDeleted", 4),
        ("filesRemoved", 3),
    ] {
        assert_eq!(detail[key], expected, "{key} in {detail}");
    }
    assert!(detail["durationMs"].is_u64());
    assert!(store
        .resolve_session(&token::hash(&live_token), SessionPolicy::default())
        .await
        .expect("resolve")
        .is_some());
    assert_eq!(tiers(store, u.id, "a").await, (1, 5, 0), "the live session's log stays hot");
    assert_eq!(count(store, "SELECT COUNT(*) FROM verifications").await, 1);
    let mut left: Vec<String> =
        std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect();
    left.sort();
    assert_eq!(left, [format!("{used}-64.avif"), format!("{used}-64.webp")]);
    let runs = store.recent_job_runs(Job::Sweep.name(), 5).await.expect("runs");
    assert_eq!((runs.len(), runs[0].status, &runs[0].detail), (1, RunStatus::Succeeded, &detail));
    assert_eq!(store.recent_job_runs("recent", 5).await.expect("runs").len(), 1, "recent runs are kept");
}

async fn tiers_move_rows_at_their_ages_across_batches(engine: Engine) {
    let s = start(engine, &[]).await;
    let store = &s.store;
    let u = store.create_user_with_password("tiers@example.com", "Tiers", "h", true).await.expect("user");
    let now = now_micros();
    let mut logs = Vec::new();
    logs.extend((0..5).map(|_| agent_log(u.id, "t", Tier::Warm, Some(now - 31 * DAY)))); // equal timestamps
    logs.push(agent_log(u.id, "t", Tier::Warm, Some(now - 30 * DAY - 1)));
    logs.push(agent_log(u.id, "t", Tier::Warm, Some(now - 29 * DAY)));
    logs.extend((0..4).map(|_| agent_log(u.id, "t", Tier::Cold, Some(now - 91 * DAY))));
    logs.push(agent_log(u.id, "t", Tier::Cold, Some(now - 89 * DAY)));
    logs.push(agent_log(u.id, "t", Tier::Hot, Some(now - 200 * DAY))); // hot is the summariser's, not this job's
    store.append_agent_logs(&logs).await.expect("logs");
    let clock = Arc::new(ManualClock::at(now));
    let jobs = jobs_at(&s, &clock, settings(), Summariser::new(None));
    let (status, detail) = jobs.run(Job::Tiers, Some(now)).await.expect("ran");
    assert_eq!(status, RunStatus::Succeeded, "{detail}");
    assert_eq!((detail["logsCooled"].as_u64(), detail["logsPurged"].as_u64()), (Some(6), Some(4)), "{detail}");
    assert!(detail["rowsPerSecond"].is_number());
    assert_eq!(tiers(store, u.id, "t").await, (1, 1, 7));
    clock.advance(30 * DAY);
    let (_, detail) = jobs.run(Job::Tiers, Some(now + 30 * DAY)).await.expect("ran");
    // A month on, the last warm row cools and the cold row that was 89 days old is purged.
    assert_eq!((detail["logsCooled"].as_u64(), detail["logsPurged"].as_u64()), (Some(1), Some(1)), "{detail}");
    assert_eq!(tiers(store, u.id, "t").await, (1, 0, 7));
    // Three months on, every cold row is past its age.
    clock.advance(61 * DAY);
    let (_, detail) = jobs.run(Job::Tiers, Some(now + 91 * DAY)).await.expect("ran");
    assert_eq!(detail["logsPurged"].as_u64(), Some(7), "{detail}");
    assert_eq!(tiers(store, u.id, "t").await, (1, 0, 0));
}

async fn summaries_fall_back_when_the_model_fails_and_are_written_once(engine: Engine) {
    let s = start(engine, &[]).await;
    let store = &s.store;
    let u = store.create_user_with_password("sum@example.com", "Sum", "h", true).await.expect("user");
    let now = now_micros();
    let mut logs: Vec<_> = (0..4).map(|i| agent_log(u.id, "one", Tier::Hot, Some(now - 30 * HOUR + i))).collect();
    logs.push(NewAgentLog {
        level: LogLevel::Error,
        content: "tool crashed".into(),
        ..agent_log(u.id, "two", Tier::Hot, Some(now - 25 * HOUR))
    });
    logs.push(agent_log(u.id, "two", Tier::Hot, Some(now - HOUR))); // too young
    store.append_agent_logs(&logs).await.expect("logs");
    let base = standin::spawn(None).await.expect("stand-in");
    let provider = Arc::new(
        Provider::new(standin::demo_provider(base), Duration::from_secs(5), Duration::from_secs(5)).expect("provider"),
    );
    let clock = Arc::new(ManualClock::at(now));
    let failing = Summariser::new(Some((provider.clone(), "standin-fail".into())));
    let jobs = jobs_at(&s, &clock, settings(), failing);
    let (status, detail) = jobs.run(Job::Summarise, Some(now)).await.expect("ran");
    assert_eq!(status, RunStatus::Succeeded, "{detail}");
    // Session "one" has four old logs: two groups of at most a batch (three); "two" has one.
    assert_eq!((detail["groups"].as_u64(), detail["extractiveSummaries"].as_u64()), (Some(3), Some(3)), "{detail}");
    assert!(detail["fallback"].as_str().is_some_and(|f| f.contains("extractive")), "the run says so: {detail}");
    let two = store.list_summaries(u.id, "two", None, 10).await.expect("summaries").items;
    assert_eq!((two.len(), two[0].source, two[0].log_count), (1, SummarySource::Extractive, 1));
    assert!(two[0].summary.contains("Error: tool crashed"), "{}", two[0].summary);
    assert_eq!(tiers(store, u.id, "two").await, (1, 1, 0));
    // Run again (a retry, or the next schedule): nothing is summarised twice.
    let (_, again) = jobs.run(Job::Summarise, Some(now + 1)).await.expect("ran");
    assert_eq!(again["groups"].as_u64(), Some(0), "{again}");
    let one = store.list_summaries(u.id, "one", None, 10).await.expect("summaries").items;
    assert_eq!(one.iter().map(|s| s.log_count).collect::<Vec<_>>(), [3, 1], "each log summarised once");

    // A model that answers writes the summary itself.
    store.append_agent_logs(&[agent_log(u.id, "three", Tier::Hot, Some(now - 2 * DAY))]).await.expect("log");
    let working = jobs_at(&s, &clock, settings(), Summariser::new(Some((provider, "standin-echo".into()))));
    let (_, detail) = working.run(Job::Summarise, Some(now + 2)).await.expect("ran");
    assert_eq!(detail["modelSummaries"].as_u64(), Some(1), "{detail}");
    let three = store.list_summaries(u.id, "three", None, 10).await.expect("summaries").items;
    assert_eq!((three[0].source, three[0].model.as_deref()), (SummarySource::Model, Some("demo/standin-echo")));
}

async fn a_failed_run_is_retried_and_the_next_run_finishes_the_work(engine: Engine) {
    let s = start(engine, &[]).await;
    let store = &s.store;
    let u = store.create_user_with_password("crash@example.com", "Crash", "h", true).await.expect("user");
    let now = now_micros();
    let logs: Vec<_> = (0..7)
        .map(|i| {
            let l = agent_log(u.id, "c", Tier::Warm, Some(now - 40 * DAY + i));
            if i == 4 {
                NewAgentLog { content: "poison".into(), ..l }
            } else {
                l
            }
        })
        .collect();
    store.append_agent_logs(&logs).await.expect("logs");
    // The fifth-oldest row fails mid-way through the second batch of three.
    match engine {
        Engine::Sqlite => {
            exec(
                store,
                "CREATE TRIGGER poison BEFORE UPDATE ON agent_logs WHEN NEW.content = 'poison'
                         BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
            )
            .await
        }
        Engine::Postgres => {
            exec(
                store,
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN
                           IF NEW.content = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW;
                         END $$ LANGUAGE plpgsql",
            )
            .await;
            exec(store, "CREATE TRIGGER poison BEFORE UPDATE ON agent_logs FOR EACH ROW EXECUTE FUNCTION poison()")
                .await
        }
    }
    let clock = Arc::new(ManualClock::at(now));
    let jobs = jobs_at(&s, &clock, settings(), Summariser::new(None));
    let (status, detail) = jobs.run(Job::Tiers, Some(now)).await.expect("ran");
    assert_eq!(status, RunStatus::Failed);
    assert!(detail["error"].as_str().is_some_and(|e| e.contains("poisoned row")), "{detail}");
    let runs = store.recent_job_runs(Job::Tiers.name(), 10).await.expect("runs");
    let attempts: Vec<_> = runs.iter().map(|r| (r.attempt, r.status, r.scheduled_for)).collect();
    assert_eq!(attempts, (1..=3).rev().map(|a| (a, RunStatus::Failed, Some(now))).collect::<Vec<_>>(), "three tries");
    assert_eq!(tiers(store, u.id, "c").await, (0, 4, 3), "the first batch moved, the failed one rolled back whole");
    match engine {
        Engine::Sqlite => exec(store, "DROP TRIGGER poison").await,
        Engine::Postgres => exec(store, "DROP TRIGGER poison ON agent_logs").await,
    }
    let (status, detail) = jobs.run(Job::Tiers, Some(now + DAY)).await.expect("ran");
    assert_eq!((status, detail["logsCooled"].as_u64()), (RunStatus::Succeeded, Some(4)), "{detail}");
    assert_eq!(tiers(store, u.id, "c").await, (0, 0, 7), "nothing lost");
}

async fn a_scheduled_run_runs_once_between_two_instances(engine: Engine) {
    let s = start(engine, &[]).await;
    let clock = Arc::new(ManualClock::at(now_micros()));
    let (a, b) = (
        jobs_at(&s, &clock, settings(), Summariser::new(None)),
        jobs_at(&s, &clock, settings(), Summariser::new(None)),
    );
    let at = now_micros();
    let (ra, rb) = tokio::join!(a.run(Job::Sweep, Some(at)), b.run(Job::Sweep, Some(at)));
    assert_eq!(usize::from(ra.is_some()) + usize::from(rb.is_some()), 1, "one of the two ran it");
    assert_eq!(s.store.recent_job_runs(Job::Sweep.name(), 10).await.expect("runs").len(), 1);
}

async fn ending_a_session_collects_its_logs(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("bye@example.com").await;
    let entries: Vec<Value> = (0..4)
        .map(|i| json!({"sessionId": "agent", "level": "info", "category": "tool", "content": format!("step {i}")}))
        .collect();
    let (st, body) = s.json(&c, M::POST, "/api/logs", Some(json!({"logs": entries}))).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (user, _) = s.store.find_credentials("bye@example.com").await.expect("find").expect("user");
    // Another session's log (written through the store with its own session id) is not touched.
    let other = NewAgentLog {
        auth_session_id: Some(Uuid::now_v7()),
        ..agent_log(user.id, "agent", Tier::Hot, Some(now_micros()))
    };
    s.store.append_agent_logs(&[other]).await.expect("log");
    let res = c.post(s.url("/_fn/sign_out")).send().await.expect("sign out");
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let mut runs = Vec::new();
    for _ in 0..200 {
        runs = s.store.recent_job_runs(mosaic_db::gc::SESSION_COLLECT, 5).await.expect("runs");
        if runs.first().is_some_and(|r| r.status != RunStatus::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(runs.len(), 1, "one collect for one ended session");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].detail["cleaned"]["logsDemoted"], 4, "{}", runs[0].detail);
    assert_eq!(tiers(&s.store, user.id, "agent").await, (1, 4, 0));
}

async fn every_reply_writes_its_logs(engine: Engine) {
    let s = start(engine, &[("MOSAIC_DEMO_PROVIDER", "1")]).await;
    let u = s.store.create_user_with_password("replies@example.com", "R", "h", true).await.expect("user");
    let session = Uuid::now_v7();
    let mut outcomes = Vec::new();
    for model in ["demo/standin-echo", "demo/standin-fail"] {
        let started = s
            .chat()
            .send(
                u.id,
                Some(session),
                TurnTarget::for_message(None, "hello there"),
                "hello there".into(),
                Some(model.into()),
            )
            .await
            .expect("send");
        let mut events = started.events;
        loop {
            let e =
                tokio::time::timeout(Duration::from_secs(10), events.recv()).await.expect("in time").expect("event");
            if matches!(e, ServerEvent::Finished { .. }) {
                break;
            }
        }
        let id = started.conversation_id.to_string();
        // The logs are saved with the reply, in the same transaction, before Finished is sent.
        let logs = s.store.list_agent_logs(u.id, &id, &LogFilter::default(), None, 10).await.expect("logs").items;
        assert_eq!(logs.iter().map(|l| l.category.as_str()).collect::<Vec<_>>(), ["chat.request", "chat.reply"]);
        assert_eq!(logs[0].metadata["model"], model.split_once('/').expect("provider/model").1);
        assert_eq!(logs[0].metadata["historyMessages"], 0);
        outcomes.push(logs[1].clone());
    }
    let (done, failed) = (&outcomes[0], &outcomes[1]);
    assert_eq!((done.level, done.metadata["state"].as_str()), (LogLevel::Info, Some("complete")));
    assert!(done.metadata["firstTokenMs"].is_u64() && done.metadata["totalMs"].is_u64(), "{}", done.metadata);
    assert!(done.metadata["tokens"]["output"].is_u64());
    assert_eq!((failed.level, failed.metadata["state"].as_str()), (LogLevel::Error, Some("failed")));
    assert!(
        failed.metadata["error"].as_str().is_some_and(|e| !e.is_empty()),
        "the provider's error: {}",
        failed.metadata
    );
    // The logs carry the sign-in session, so ending it demotes them.
    let detail = s.store.collect_session(session).await.expect("collect");
    assert_eq!(detail["cleaned"]["logsDemoted"], 4);
}

async fn the_logs_api_refuses_bad_batches_whole_and_lists_only_ones_own(engine: Engine) {
    let s = start(engine, &[]).await;
    let (c, other) = (s.user("own@example.com").await, s.user("other@example.com").await);
    let entry =
        |i: usize| json!({"sessionId": "s", "level": "info", "category": "tool", "content": format!("entry {i}")});
    let (st, body) = s.json(&c, M::POST, "/api/logs", Some(json!({"logs": [entry(0), entry(1), entry(2)]}))).await;
    assert_eq!((st, body["count"].as_u64()), (StatusCode::CREATED, Some(3)), "{body}");
    let big = "x".repeat(70 * 1024);
    let bad_batches = [
        (
            json!({"logs": [entry(0), {"sessionId": "s", "level": "loud", "category": "c", "content": "x"}]}),
            "entry 1: unknown level",
        ),
        (
            json!({"logs": [entry(0), entry(1), {"sessionId": "s", "level": "info", "category": "c", "content": big}]}),
            "entry 2: content",
        ),
        (
            json!({"logs": [{"sessionId": "s", "level": "info", "category": "c", "content": "x", "metadata": "x"}]}),
            "entry 0: metadata",
        ),
        (json!({"logs": [{"sessionId": "s", "level": "info", "category": "c"}]}), "entry 0: missing field `content`"),
        (json!({"logs": []}), "1 to 1000"),
        (json!({"logs": (0..1001).map(entry).collect::<Vec<_>>()}), "1 to 1000"),
    ];
    for (batch, says) in bad_batches {
        let (st, body) = s.json(&c, M::POST, "/api/logs", Some(batch)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        let error = body["error"].as_str().unwrap_or_default().to_lowercase();
        assert!(error.contains(&says.to_lowercase()), "{says:?} in {body}");
    }
    let (st, page) = s.json(&c, M::GET, "/api/logs?session=s&limit=2", None).await;
    assert_eq!(
        (st, page["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2)),
        "nothing of the bad batches: {page}"
    );
    let next = page["next"].as_str().expect("a next page");
    let (_, rest) = s.json(&c, M::GET, &format!("/api/logs?session=s&limit=2&cursor={next}"), None).await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    let (_, filtered) = s.json(&c, M::GET, "/api/logs?session=s&tier=hot&level=error", None).await;
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(0));
    let (st, body) = s.json(&c, M::GET, "/api/logs?session=s&tier=lukewarm", None).await;
    assert!(st == StatusCode::BAD_REQUEST && body["error"].as_str().is_some_and(|e| e.contains("tier")), "{body}");
    let (_, theirs) = s.json(&other, M::GET, "/api/logs?session=s", None).await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0), "another user's logs are not listed");
    let (st, summaries) = s.json(&c, M::GET, "/api/logs/summaries?session=s", None).await;
    assert_eq!((st, summaries["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let (st, _) = s.json(&reqwest::Client::new(), M::GET, "/api/logs?session=s", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

async fn the_activity_page_reads_without_javascript(engine: Engine) {
    let s = start(engine, &[("MOSAIC_DEMO_PROVIDER", "1")]).await;
    let c = s.user("activity@example.com").await;
    let (user, _) = s.store.find_credentials("activity@example.com").await.expect("find").expect("user");
    let started = s
        .chat()
        .send(user.id, None, TurnTarget::for_message(None, "hi"), "hi".into(), Some("demo/standin-echo".into()))
        .await
        .expect("send");
    let mut events = started.events;
    while !matches!(events.recv().await.expect("event"), ServerEvent::Finished { .. }) {}
    let path = format!("/c/{}/activity", started.conversation_id);
    let res = c.get(s.url(&path)).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    for needle in ["Activity: ", "Asked demo/standin-echo", "Reply complete", "first token", "ms in all"] {
        assert!(html.contains(needle), "{needle:?} on the page");
    }
    let stranger = s.user("stranger@example.com").await;
    assert_eq!(stranger.get(s.url(&path)).send().await.expect("page").status(), StatusCode::NOT_FOUND);
    assert_eq!(c.get(s.url("/c/not-an-id/activity")).send().await.expect("page").status(), StatusCode::NOT_FOUND);
}

/// The cold-start collect is slowed (a backlog of logs of vanished sessions, in small batches with a
/// pause): the server answers its first request while the collect is still running.
async fn startup_does_not_wait_for_the_cold_start_collect(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = database.open().await;
    let u = store.create_user_with_password("backlog@example.com", "B", "h", true).await.expect("user");
    let now = now_micros();
    let gone = Uuid::now_v7();
    let backlog: Vec<_> = (0..2_000)
        .map(|i| NewAgentLog { auth_session_id: Some(gone), ..agent_log(u.id, "b", Tier::Hot, Some(now - i)) })
        .collect();
    for chunk in backlog.chunks(1_000) {
        store.append_agent_logs(chunk).await.expect("backlog");
    }
    let dir = support::scratch_dir("start");
    let port = support::free_port();
    let slow = [("MOSAIC_JOB_BATCH_ROWS", "20"), ("MOSAIC_JOB_BATCH_PAUSE_MS", "50")];
    let mut server = support::server_process(&database.url, &dir, port, &slow);
    support::wait_healthy(&format!("http://127.0.0.1:{port}")).await;
    // Answered; the collect (100 batches, 5 s of pauses) is still at work.
    let runs = store.recent_job_runs(Job::ColdStart.name(), 5).await.expect("runs");
    assert_eq!(runs.len(), 1, "the collect started after the server listened");
    assert_eq!(runs[0].status, RunStatus::Running, "the first request did not wait for it");
    support::terminate(&server);
    support::wait_exit(&mut server, Duration::from_secs(15)).await.expect("exits");
    let runs = store.recent_job_runs(Job::ColdStart.name(), 5).await.expect("runs");
    // Shutdown stopped it after a batch; what it did is recorded, and the rest is left for next time.
    assert_eq!(runs[0].status, RunStatus::Failed, "{:?}", runs[0].detail);
    let demoted = runs[0].detail["done"]["logsDemoted"].as_u64().expect("counted");
    assert!(demoted > 0 && demoted < 2_000 && demoted % 20 == 0, "whole batches only: {demoted}");
    assert_eq!(tiers(&store, u.id, "b").await.1 as u64, demoted);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two real server processes on one database, with a schedule that fires every second: each
/// firing runs once.
async fn two_processes_run_a_schedule_once(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = database.open().await;
    let dir = support::scratch_dir("pair");
    let every_second = [
        ("TIER_MANAGEMENT_CRON", "* * * * * *"),
        ("SESSION_GC_CRON", "off"),
        ("SUMMARIZATION_CRON", "off"),
        ("MOSAIC_COLD_START_COLLECT", "false"),
    ];
    let ports = [support::free_port(), support::free_port()];
    let mut servers: Vec<_> =
        ports.iter().map(|p| support::server_process(&database.url, &dir, *p, &every_second)).collect();
    for p in ports {
        support::wait_healthy(&format!("http://127.0.0.1:{p}")).await;
    }
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    for s in &servers {
        support::terminate(s);
    }
    for s in &mut servers {
        support::wait_exit(s, Duration::from_secs(15)).await.expect("exits");
    }
    let runs = store.recent_job_runs(Job::Tiers.name(), 100).await.expect("runs");
    let mut times: Vec<_> = runs.iter().map(|r| r.scheduled_for.expect("scheduled")).collect();
    let total = times.len();
    times.sort_unstable();
    times.dedup();
    assert!(times.len() >= 2, "it fired: {runs:?}");
    assert_eq!(times.len(), total, "each firing ran once, not once per process: {runs:?}");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
