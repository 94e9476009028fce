//! `server seed`: fills a database with realistic data at benchmark scale, through the same
//! schema and migrations the app uses: users, one benchmark user's conversations spread over a
//! year, messages of realistic lengths, and agent logs in all three tiers.
//!
//! Rows go in as multi-row INSERTs inside large transactions, which is what makes 2 M messages on
//! SQLite a matter of a minute or two rather than hours. Progress is printed as it goes.

use std::io::Write;
use std::time::Instant;

use mosaic_db::clock::{now_micros, SECOND};
use mosaic_db::{DbError, PoolSettings, Store};
use uuid::Uuid;

/// What to create.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    /// Users besides the benchmark user (each gets a few conversations).
    pub users: usize,
    /// Conversations of the benchmark user.
    pub conversations: usize,
    /// Messages per conversation of the benchmark user.
    pub messages: usize,
    /// Messages of the benchmark user's most recent conversation, the one the benchmark opens on
    /// the dashboard (at least `messages`).
    pub open_messages: usize,
    /// Agent log rows, spread over the three tiers.
    pub logs: usize,
    /// The benchmark user's email and password.
    pub email: String,
    pub password: String,
}

/// A small, fast, deterministic generator (xorshift64*), so seeded data is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "the",
    "model",
    "reply",
    "conversation",
    "rust",
    "database",
    "index",
    "query",
    "page",
    "server",
    "stream",
    "token",
    "agent",
    "memory",
    "session",
    "cursor",
    "latency",
    "budget",
    "deploy",
    "migrate",
    "schema",
    "cache",
    "search",
    "user",
    "settings",
    "provider",
    "request",
    "response",
    "error",
    "retry",
    "summary",
    "insight",
    "tier",
    "archive",
    "and",
    "of",
    "to",
    "in",
    "is",
    "for",
    "with",
    "on",
    "that",
    "this",
    "it",
    "we",
    "can",
    "should",
    "will",
    "how",
];

/// The word the search benchmark looks for as a rare one: in one seeded message of
/// [`RARE_EVERY`] (200 of 2 million), never in the common vocabulary.
pub const RARE_WORD: &str = "quokka";
/// How often [`RARE_WORD`] is seeded.
pub const RARE_EVERY: usize = 10_000;

fn sentence(rng: &mut Rng, min_chars: usize, max_chars: usize) -> String {
    let target = min_chars + rng.below((max_chars - min_chars) as u64) as usize;
    let mut s = String::with_capacity(target + 16);
    while s.len() < target {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

/// Prints a progress line in place.
struct Progress {
    label: &'static str,
    total: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    fn new(label: &'static str, total: usize) -> Progress {
        Progress { label, total, done: 0, started: Instant::now() }
    }

    fn add(&mut self, n: usize) {
        self.done += n;
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let pct = if self.total == 0 { 100.0 } else { self.done as f64 * 100.0 / self.total as f64 };
        eprint!(
            "\r  {:<14} {:>10} / {:<10} {:>5.1}%  {:>9.0} rows/s",
            self.label,
            self.done,
            self.total,
            pct,
            self.done as f64 / secs
        );
        let _ = std::io::stderr().flush();
    }

    fn finish(&self) {
        eprintln!("  ({:.1} s)", self.started.elapsed().as_secs_f64());
    }
}

/// A batch of rows for one multi-row INSERT: the SQL with `$n` placeholders and the values.
enum Value {
    Id(Uuid),
    Int(i64),
    Text(String),
    Bool(bool),
}

async fn insert_rows(
    store: &Store,
    table_and_columns: &str,
    columns: usize,
    rows: Vec<Vec<Value>>,
) -> Result<(), DbError> {
    insert_rows_cast(store, table_and_columns, &vec![""; columns], rows).await
}

/// A multi-row INSERT; `casts[i]` follows the placeholder of column `i` (such as `::jsonb`).
async fn insert_rows_cast(
    store: &Store,
    table_and_columns: &str,
    casts: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = format!("INSERT INTO {table_and_columns} VALUES ");
    let mut n = 0;
    for (r, _) in rows.iter().enumerate() {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for (c, cast) in casts.iter().enumerate() {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            sql.push_str(&format!("${n}{cast}"));
        }
        sql.push(')');
    }
    macro_rules! run {
        ($pool:expr) => {{
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in rows {
                for v in row {
                    q = match v {
                        Value::Id(u) => q.bind(u),
                        Value::Int(i) => q.bind(i),
                        Value::Text(t) => q.bind(t),
                        Value::Bool(b) => q.bind(b),
                    };
                }
            }
            q.execute($pool).await?;
        }};
    }
    match store {
        Store::Sqlite(s) => run!(s.pool()),
        Store::Postgres(s) => run!(s.pool()),
    }
    Ok(())
}

/// Rows per INSERT statement (kept under both engines' parameter limits).
const ROWS_PER_STATEMENT: usize = 500;

/// Creates everything in `plan`; returns the benchmark user's id and a conversation with messages.
pub async fn seed(store: &Store, plan: &SeedPlan) -> Result<(Uuid, Uuid), DbError> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let now = now_micros();
    let year = 365 * 24 * 3600 * SECOND;

    eprintln!(
        "seeding {} ({} conversations x {} messages, {} logs, {} other users)",
        store.engine().name(),
        plan.conversations,
        plan.messages,
        plan.logs,
        plan.users
    );
    let phc = mosaic_db::password::hash(plan.password.clone()).await?;
    let bench = match store.find_credentials(&plan.email).await? {
        Some((user, _)) => user,
        None => store.create_user_with_password(&plan.email, "Benchmark User", &phc, true).await?,
    };
    let mut progress = Progress::new("users", plan.users);
    let mut others = Vec::new();
    for chunk in (0..plan.users).collect::<Vec<_>>().chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<Vec<Value>> = chunk
            .iter()
            .map(|i| {
                let id = Uuid::now_v7();
                others.push(id);
                vec![
                    Value::Id(id),
                    Value::Text(format!("user{i}-{}@example.com", id.simple())),
                    Value::Text(format!("User {i}")),
                    Value::Text("member".into()),
                    Value::Int(now),
                    Value::Int(now),
                ]
            })
            .collect();
        insert_rows(store, "users (id, email, name, role, created_at, updated_at)", 6, rows).await?;
        progress.add(chunk.len());
    }
    progress.finish();

    // Conversations: the benchmark user's, updated over the past year, plus three per other user.
    let mut conversations: Vec<(Uuid, i64, i64)> = Vec::with_capacity(plan.conversations);
    let mut progress = Progress::new("conversations", plan.conversations + others.len() * 3);
    let owners: Vec<Uuid> =
        std::iter::repeat_n(bench.id, plan.conversations).chain(others.iter().flat_map(|u| [*u, *u, *u])).collect();
    for chunk in owners.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<Vec<Value>> = chunk
            .iter()
            .map(|owner| {
                let id = Uuid::now_v7();
                let updated = now - rng.below(year as u64) as i64;
                let created = updated - rng.below(30 * 24 * 3600 * SECOND as u64) as i64;
                if *owner == bench.id {
                    conversations.push((id, created, updated));
                }
                let archived = rng.below(10) == 0;
                vec![
                    Value::Id(id),
                    Value::Id(*owner),
                    Value::Text(sentence(&mut rng, 12, 60)),
                    Value::Bool(archived),
                    Value::Int(created),
                    Value::Int(updated),
                ]
            })
            .collect();
        insert_rows(store, "conversations (id, user_id, title, archived, created_at, updated_at)", 6, rows).await?;
        progress.add(chunk.len());
    }
    progress.finish();

    // Messages: alternating user and assistant turns of realistic lengths.
    let newest = conversations.iter().max_by_key(|c| c.2).map(|c| c.0);
    let open_messages = plan.open_messages.max(plan.messages);
    let total = conversations.len() * plan.messages + newest.map_or(0, |_| open_messages - plan.messages);
    let mut progress = Progress::new("messages", total);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut written = 0usize;
    for (conversation, created, _) in &conversations {
        let count = if Some(*conversation) == newest { open_messages } else { plan.messages };
        for m in 0..count {
            let user_turn = m % 2 == 0;
            let (role, mut content) = if user_turn {
                ("user", sentence(&mut rng, 20, 400))
            } else {
                ("assistant", sentence(&mut rng, 200, 2000))
            };
            // A rare word for the search benchmark: one message in RARE_EVERY.
            written += 1;
            if written.is_multiple_of(RARE_EVERY) {
                content.push(' ');
                content.push_str(RARE_WORD);
            }
            let meta = if user_turn {
                "{}".to_string()
            } else {
                r#"{"model":"gpt-4o-mini","provider":"openai","tokenUsage":{"input":420,"output":380}}"#.to_string()
            };
            batch.push(vec![
                Value::Id(Uuid::now_v7()),
                Value::Id(*conversation),
                Value::Text(role.into()),
                Value::Text(content),
                Value::Text(meta),
                Value::Int(created + m as i64 * 30 * SECOND),
            ]);
            if batch.len() == ROWS_PER_STATEMENT {
                insert_messages(store, std::mem::take(&mut batch)).await?;
                progress.add(ROWS_PER_STATEMENT);
            }
        }
    }
    let left = batch.len();
    insert_messages(store, batch).await?;
    progress.add(left);
    progress.finish();
    merge_search_index(store).await?;

    // Agent logs: a third hot (last day), a third warm (last month), a third cold (older).
    let mut progress = Progress::new("agent logs", plan.logs);
    let day = 24 * 3600 * SECOND;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_STATEMENT);
    for i in 0..plan.logs {
        let (tier, age) = match i % 3 {
            0 => ("hot", rng.below(day as u64) as i64),
            1 => ("warm", day + rng.below(29 * day as u64) as i64),
            _ => ("cold", 30 * day + rng.below(60 * day as u64) as i64),
        };
        batch.push(vec![
            Value::Id(Uuid::now_v7()),
            Value::Id(bench.id),
            Value::Text(format!("agent-session-{}", i / 500)),
            Value::Text(["debug", "info", "warn", "error"][rng.below(4) as usize].into()),
            Value::Text(["tool", "llm", "memory", "routing"][rng.below(4) as usize].into()),
            Value::Text(sentence(&mut rng, 40, 300)),
            Value::Text(tier.into()),
            Value::Int(now - age),
            Value::Int(now - age),
        ]);
        if batch.len() == ROWS_PER_STATEMENT {
            insert_rows(
                store,
                "agent_logs (id, user_id, session_id, level, category, content, tier, created_at, updated_at)",
                9,
                std::mem::take(&mut batch),
            )
            .await?;
            progress.add(ROWS_PER_STATEMENT);
        }
    }
    let left = batch.len();
    insert_rows(
        store,
        "agent_logs (id, user_id, session_id, level, category, content, tier, created_at, updated_at)",
        9,
        batch,
    )
    .await?;
    progress.add(left);
    progress.finish();

    let busiest = newest.unwrap_or_else(Uuid::nil);
    Ok((bench.id, busiest))
}

async fn insert_messages(store: &Store, rows: Vec<Vec<Value>>) -> Result<(), DbError> {
    // Metadata is JSON text on SQLite and JSONB on PostgreSQL, where the text is cast on the way in.
    let json = if matches!(store, Store::Postgres(_)) { "::jsonb" } else { "" };
    let casts = ["", "", "", "", json, ""];
    insert_rows_cast(store, "messages (id, conversation_id, role, content, metadata, created_at)", &casts, rows).await
}

/// After a bulk load, merges SQLite's search index into one segment, as its automerge does over
/// time under ordinary writes: left as the load wrote it (a segment per transaction), every write
/// after it would pay for merging the backlog (3.7 ms an append at 2 M messages instead of 0.04).
async fn merge_search_index(store: &Store) -> Result<(), DbError> {
    if let Store::Sqlite(s) = store {
        let started = Instant::now();
        for table in ["message_search", "conversation_search"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {table} ({table}) VALUES ('optimize')")))
                .execute(s.pool())
                .await?;
        }
        println!("  search index merged in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The text `server append-cost` appends (and deletes afterwards).
const APPENDED: &str = "a benchmark message about the search index and what it costs a writer";

/// `server append-cost`: what the search index costs a writer on SQLite. Appends messages to the
/// benchmark user's newest conversation from two tasks through the data layer: one second to warm
/// up, `secs` seconds with the index's insert trigger (which queues the message; every 64th moves
/// the queue into FTS5, migration 0011), `secs` seconds with it set aside. Then, on
/// fresh connections, puts the trigger back, indexes the rows appended meanwhile and deletes every
/// appended row. Returns messages per second (with, without).
///
/// The clean-up opens a new pool because the connections that saw the trigger dropped and made
/// again failed their next statements with "no such table: messages" after a run of 10 seconds
/// (not after 2), which a new connection does not; the cause inside SQLite is not found.
pub async fn append_cost(settings: &PoolSettings, email: &str, secs: u64) -> Result<(f64, f64), DbError> {
    let store = Store::connect(settings).await?;
    let Store::Sqlite(sqlite) = &store else {
        return Err(DbError::Invalid(
            "append-cost measures SQLite's search triggers; DATABASE_URL is PostgreSQL".into(),
        ));
    };
    let pool = sqlite.pool();
    let (user, _) = store.find_credentials(email).await?.ok_or(DbError::NotFound)?;
    let conversation = store
        .list_conversations(user.id, false, None, 1)
        .await?
        .items
        .first()
        .map(|c| c.id)
        .ok_or(DbError::NotFound)?;
    appends_per_second(&store, user.id, conversation, 1).await?;
    let with = appends_per_second(&store, user.id, conversation, secs).await?;
    let (trigger,): (String,) =
        sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_search_insert'")
            .fetch_one(pool)
            .await?;
    let (last,): (i64,) = sqlx::query_as("SELECT max(rowid) FROM messages").fetch_one(pool).await?;
    sqlx::query("DROP TRIGGER messages_search_insert").execute(pool).await?;
    let without = appends_per_second(&store, user.id, conversation, secs).await;
    if let Ok(without) = &without {
        eprintln!("{with:.0} messages/s with the search index, {without:.0} without");
    }
    store.close().await;

    let store = Store::connect(settings).await?;
    let Store::Sqlite(sqlite) = &store else {
        return Err(DbError::Internal("the same settings opened another engine".into()));
    };
    let pool = sqlite.pool();
    sqlx::query(sqlx::AssertSqlSafe(trigger)).execute(pool).await?;
    sqlx::query(
        "INSERT INTO message_search (rowid, words, owner)
         SELECT m.rowid, m.content, 'u' || lower(hex(c.user_id))
         FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.rowid > $1",
    )
    .bind(last)
    .execute(pool)
    .await?;
    sqlx::query("DELETE FROM messages WHERE conversation_id = $1 AND content = $2")
        .bind(conversation)
        .bind(APPENDED)
        .execute(pool)
        .await?;
    store.close().await;
    Ok((with, without?))
}

async fn appends_per_second(store: &Store, user: Uuid, conversation: Uuid, secs: u64) -> Result<f64, DbError> {
    let until = Instant::now() + std::time::Duration::from_secs(secs);
    let writers = (0..2).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let message = mosaic_db::messages::NewMessage {
                    role: mosaic_db::model::MessageRole::User,
                    content: APPENDED.into(),
                    metadata: serde_json::json!({}),
                };
                store.append_message(user, conversation, message).await?;
                n += 1;
            }
            Ok::<u64, DbError>(n)
        })
    });
    let mut total = 0;
    for writer in writers.collect::<Vec<_>>() {
        total += writer.await.map_err(|e| DbError::Internal(e.to_string()))??;
    }
    Ok(total as f64 / secs as f64)
}
