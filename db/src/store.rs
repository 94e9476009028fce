//! The data-layer contract: [`Store`], one enum over the two engines, and how to open it.
//!
//! Each method here is the documented contract; it forwards to the same-named operation of the
//! engine in use. Callers never see which engine that is. The contract of the admin and identity
//! concerns is with their rules, in the same form: [`crate::admin`], [`crate::accounts`],
//! [`crate::api_tokens`], [`crate::audit`], and the platform layer in [`crate::preferences`].

use std::time::Duration;

use uuid::Uuid;

use crate::agent_logs::{LogFilter, NewAgentLog, NewSummary, SummaryGroup};
use crate::conversations::ConversationChange;
use crate::dashboard::{DashboardQuery, DashboardRows};
use crate::error::{DbError, DbResult};
use crate::jobs::{JobRun, RunStatus};
use crate::messages::{MessagePage, MessageQuery, NewMessage};
use crate::model::{
    AgentLog, Conversation, LogSummary, Message, Page, Preference, ReplyState, SessionInfo, Tier, User,
};
use crate::replies::{NewTurn, StartedTurn, TurnContext, TurnTarget};
use crate::revocations::{Revocations, Revoked};
use crate::sessions::{ActiveSession, SessionPolicy};
use crate::{PgStore, SqliteStore};

/// The two database engines Mosaic runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one file under the data directory.
    Sqlite,
    /// The scale-out engine, for several instances behind a load balancer.
    Postgres,
}

impl Engine {
    /// The engine a `DATABASE_URL` names (`sqlite:…`, `postgres://…` or `postgresql://…`), if any.
    /// The one place a URL's scheme is checked.
    pub fn of_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }

    /// The engine's name, for logs and benchmark tables.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// The pool size when DB_POOL_MAX is not set. SQLite: each connection is a thread with its own
    /// page cache, and more than a few per core only add memory (throughput was the same with 4 as
    /// with 20 on two cores). PostgreSQL: the seed's 20.
    pub fn default_pool_size(self) -> u32 {
        match self {
            Engine::Sqlite => 8,
            Engine::Postgres => 20,
        }
    }
}

/// How to reach the database and how big its pool is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// `sqlite:…` or `postgres://…`.
    pub url: String,
    /// Most connections the pool opens (DB_POOL_MAX).
    pub max_connections: u32,
    /// An idle connection is closed after this (DB_IDLE_TIMEOUT).
    pub idle_timeout: Duration,
    /// Connecting, or waiting for a free connection, fails after this (DB_CONNECT_TIMEOUT).
    pub connect_timeout: Duration,
    /// SQLite only: sync the write-ahead log at every commit (`synchronous = FULL`), so a commit
    /// survives a power cut too, not only a crash of the process (MOSAIC_SQLITE_SYNCHRONOUS=full).
    pub sqlite_full_sync: bool,
    /// PostgreSQL only: carry the signals between instances over this Redis or Valkey server
    /// instead of `LISTEN/NOTIFY` (MOSAIC_BUS_URL, `redis://…`).
    pub bus_url: Option<String>,
}

impl PoolSettings {
    /// Seconds an idle connection is kept when DB_IDLE_TIMEOUT is not set.
    pub const DEFAULT_IDLE_SECS: u32 = 30;
    /// Seconds to connect (or wait for a free connection) when DB_CONNECT_TIMEOUT is not set.
    pub const DEFAULT_CONNECT_SECS: u32 = 5;

    /// The defaults for `url`: the engine's pool size, 30 s idle, 5 s connect. The configuration
    /// starts from these too, so a default is written once.
    pub fn new(url: impl Into<String>) -> PoolSettings {
        let url = url.into();
        let engine = Engine::of_url(&url).unwrap_or(Engine::Sqlite);
        PoolSettings {
            max_connections: engine.default_pool_size(),
            url,
            idle_timeout: Duration::from_secs(Self::DEFAULT_IDLE_SECS.into()),
            connect_timeout: Duration::from_secs(Self::DEFAULT_CONNECT_SECS.into()),
            sqlite_full_sync: false,
            bus_url: None,
        }
    }
}

/// The data layer. Cheap to clone; every clone shares one pool.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens the database named by `settings.url` (SQLite unless it starts with `postgres`), and
    /// applies pending migrations before returning.
    pub async fn connect(settings: &PoolSettings) -> DbResult<Store> {
        match Engine::of_url(&settings.url) {
            Some(Engine::Postgres) => Ok(Store::Postgres(PgStore::connect(settings).await?)),
            Some(Engine::Sqlite) => Ok(Store::Sqlite(SqliteStore::connect(settings).await?)),
            None => Err(DbError::Invalid("DATABASE_URL must start with sqlite: or postgres://".into())),
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        match self {
            Store::Sqlite(_) => Engine::Sqlite,
            Store::Postgres(_) => Engine::Postgres,
        }
    }

    /// Checks the database answers (one trivial query), for health checks.
    pub async fn ping(&self) -> DbResult<()> {
        match self {
            Store::Sqlite(s) => sqlx::query("SELECT 1").execute(&s.pool).await.map(|_| ()),
            Store::Postgres(s) => sqlx::query("SELECT 1").execute(&s.pool).await.map(|_| ()),
        }
        .map_err(Into::into)
    }

    /// The pool's connections: open, and of those idle (for `/metrics`).
    pub fn pool_usage(&self) -> (u32, u32) {
        match self {
            Store::Sqlite(s) => (s.pool.size(), s.pool.num_idle() as u32),
            Store::Postgres(s) => (s.pool.size(), s.pool.num_idle() as u32),
        }
    }

    /// Where ended sessions and tokens are announced, for the connections they authenticated.
    pub fn revocations(&self) -> Revocations {
        Revocations(self.bus().clone())
    }

    /// The bus to the other instances sharing the database (see [`crate::bus`]).
    pub fn bus(&self) -> &crate::bus::Bus {
        match self {
            Store::Sqlite(s) => &s.bus,
            Store::Postgres(s) => &s.bus,
        }
    }

    /// What follows sessions ending: their connections close now (announced), and their collect
    /// runs in the background. Every way a session ends goes through here.
    pub(crate) fn sessions_ended(&self, sessions: impl IntoIterator<Item = Uuid> + Clone) {
        self.revocations().announce(sessions.clone().into_iter().map(Revoked::Session));
        self.collect_ended_sessions(sessions);
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.pool.close().await,
            Store::Postgres(s) => s.pool.close().await,
        }
    }

    // ---- users and accounts ----

    /// Creates a user with an email + password account. The first user becomes admin. When sign-up
    /// is not `open`, only the first user may be created: checked in the creating transaction, so
    /// racing sign-ups on an empty closed instance cannot both succeed ([`DbError::Closed`]).
    /// A taken email is [`DbError::Conflict`].
    pub async fn create_user_with_password(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        open: bool,
    ) -> DbResult<User> {
        dispatch!(self.create_user_with_password(email, name, password_hash, open))
    }

    /// Creates the instance's first user, an admin, with an admin-scoped API token (the hash of
    /// its secret), only while there is no user at all (the setup script's
    /// `POST /api/bootstrap/setup`); otherwise [`DbError::Conflict`]. One transaction, audited.
    pub async fn bootstrap_admin(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        token_hash: &[u8],
    ) -> DbResult<(User, crate::model::ApiToken)> {
        dispatch!(self.bootstrap_admin(email, name, password_hash, token_hash))
    }

    /// The user with this email and their password hash, if they have an email account.
    pub async fn find_credentials(&self, email: &str) -> DbResult<Option<(User, String)>> {
        dispatch!(self.find_credentials(email))
    }

    /// How many users exist (to know whether the instance is still unclaimed).
    pub async fn count_users(&self) -> DbResult<i64> {
        dispatch!(self.count_users())
    }

    /// One user by id.
    pub async fn get_user(&self, id: Uuid) -> DbResult<User> {
        dispatch!(self.get_user(id))
    }

    /// Sets or clears the user's avatar (the content-hash key of its files); returns the previous key,
    /// so the caller can delete files nobody uses any more.
    pub async fn set_user_image(&self, id: Uuid, image: Option<&str>) -> DbResult<Option<String>> {
        dispatch!(self.set_user_image(id, image))
    }

    /// Whether any user's avatar is `image` (files are shared between users who upload the same picture).
    pub async fn image_in_use(&self, image: &str) -> DbResult<bool> {
        dispatch!(self.image_in_use(image))
    }

    // ---- sessions ----

    /// Records a new session for the hash of its token.
    pub async fn create_session(
        &self,
        user_id: Uuid,
        token_hash: &[u8],
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        policy: SessionPolicy,
    ) -> DbResult<SessionInfo> {
        dispatch!(self.create_session(user_id, token_hash, ip_address, user_agent, policy))
    }

    /// The live session (not expired, user not banned) with this token hash, extending its idle expiry.
    pub async fn resolve_session(&self, token_hash: &[u8], policy: SessionPolicy) -> DbResult<Option<ActiveSession>> {
        dispatch!(self.resolve_session(token_hash, policy))
    }

    /// A user's live sessions, newest first.
    pub async fn list_sessions(&self, user_id: Uuid) -> DbResult<Vec<SessionInfo>> {
        dispatch!(self.list_sessions(user_id))
    }

    /// Revokes one of the user's sessions; its collect runs in the background.
    pub async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> DbResult<()> {
        dispatch!(self.revoke_session(user_id, session_id))?;
        self.sessions_ended([session_id]);
        Ok(())
    }

    /// Revokes the session with this token hash (sign-out); returns its id (absent is fine). Its
    /// collect runs in the background.
    pub async fn revoke_session_by_token(&self, token_hash: &[u8]) -> DbResult<Option<Uuid>> {
        let ended = dispatch!(self.revoke_session_by_token(token_hash))?;
        self.sessions_ended(ended);
        Ok(ended)
    }

    // ---- conversations ----

    /// Creates a conversation (an empty title becomes "New conversation").
    pub async fn create_conversation(&self, user_id: Uuid, title: &str) -> DbResult<Conversation> {
        dispatch!(self.create_conversation(user_id, title))
    }

    /// One of the user's conversations.
    pub async fn get_conversation(&self, user_id: Uuid, id: Uuid) -> DbResult<Conversation> {
        dispatch!(self.get_conversation(user_id, id))
    }

    /// Changes one of the user's conversations (title, archived, or both) in one statement.
    pub async fn update_conversation(
        &self,
        user_id: Uuid,
        id: Uuid,
        change: &ConversationChange<'_>,
    ) -> DbResult<Conversation> {
        dispatch!(self.update_conversation(user_id, id, change))
    }

    /// Deletes one of the user's conversations and its messages.
    pub async fn delete_conversation(&self, user_id: Uuid, id: Uuid) -> DbResult<()> {
        dispatch!(self.delete_conversation(user_id, id))
    }

    /// A page of the user's conversations, newest-updated first, archived or not.
    pub async fn list_conversations(
        &self,
        user_id: Uuid,
        archived: bool,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<Conversation>> {
        dispatch!(self.list_conversations(user_id, archived, cursor, limit))
    }

    // ---- messages ----

    /// Appends a message and bumps the conversation's `updated_at`, in one transaction.
    pub async fn append_message(&self, user_id: Uuid, conversation_id: Uuid, new: NewMessage) -> DbResult<Message> {
        dispatch!(self.append_message(user_id, conversation_id, new))
    }

    // ---- turns and replies ----

    /// What a turn into `target` needs before it writes: the conversation (the one ownership
    /// check), the user's remembered model and the newest messages as history, on one connection.
    pub async fn turn_context(&self, user_id: Uuid, target: &TurnTarget) -> DbResult<TurnContext> {
        dispatch!(self.turn_context(user_id, target))
    }

    /// Saves a turn in one write transaction: the conversation (created or moved to the top), the
    /// user's message and, when `turn.reply` is set, the reply that answers it, saved streaming.
    /// A conversation with a reply still streaming (written by any instance on this database)
    /// refuses another one: [`DbError::Conflict`], and nothing is saved.
    pub async fn start_turn(&self, user_id: Uuid, turn: &NewTurn) -> DbResult<StartedTurn> {
        dispatch!(self.start_turn(user_id, turn))
    }

    /// Saves a reply's text so far (state `Streaming`) or its final text and how it ended, with the
    /// agent logs of the reply (written in the same transaction; none while it streams).
    pub async fn save_reply(
        &self,
        conversation_id: Uuid,
        message_id: Uuid,
        content: &str,
        state: &ReplyState,
        metadata: &serde_json::Value,
        logs: &[NewAgentLog],
    ) -> DbResult<()> {
        dispatch!(self.save_reply(conversation_id, message_id, content, state, metadata, logs))
    }

    /// The reply being written in a conversation of the user's, on whichever instance, if any:
    /// what another instance's follower starts from.
    pub async fn live_reply(&self, user_id: Uuid, conversation_id: Uuid) -> DbResult<Option<Message>> {
        dispatch!(self.live_reply(user_id, conversation_id))
    }

    /// A reply's text as saved, whatever its state (`None` when it is gone). For followers of a
    /// reply another instance writes; they checked ownership when they began to follow.
    pub async fn reply_text(&self, conversation_id: Uuid, message_id: Uuid) -> DbResult<Option<String>> {
        dispatch!(self.reply_text(conversation_id, message_id))
    }

    /// Records that this instance (the bus's id) is alive until `until`; `started_at` is kept from
    /// the first call.
    pub async fn renew_lease(&self, started_at: i64, until: i64) -> DbResult<()> {
        dispatch!(self.renew_lease(started_at, until))
    }

    /// Settles as failed ("interrupted") the replies still streaming whose instance holds no live
    /// lease at `now` (those younger than `grace` are left: their instance may be recording its
    /// first lease), keeping their text; returns them, so followers can be told.
    pub async fn settle_orphaned_replies(&self, now: i64, grace: i64) -> DbResult<Vec<crate::replies::Orphan>> {
        dispatch!(self.settle_orphaned_replies(now, grace))
    }

    /// Settles replies left streaming by a process that died (those created before
    /// `started_before`, this process's start) as failed ("interrupted"), keeping their text;
    /// returns how many.
    pub async fn recover_interrupted_replies(&self, started_before: i64) -> DbResult<u64> {
        dispatch!(self.recover_interrupted_replies(started_before))
    }

    /// A page of a conversation's messages, oldest first (the newest page when no cursor is given).
    pub async fn list_messages(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        query: &MessageQuery,
    ) -> DbResult<MessagePage> {
        Ok(self.open_conversation(user_id, conversation_id, query).await?.1)
    }

    /// One of the user's conversations and a page of its messages, checked and read together (the
    /// ownership check is the conversation read itself), for pages that show both.
    pub async fn open_conversation(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        query: &MessageQuery,
    ) -> DbResult<(Conversation, MessagePage)> {
        dispatch!(self.open_conversation(user_id, conversation_id, query))
    }

    /// Everything the dashboard page shows, read on one connection with a fixed number of
    /// statements (see [`crate::dashboard`]).
    pub async fn dashboard(&self, user_id: Uuid, query: &DashboardQuery) -> DbResult<DashboardRows> {
        dispatch!(self.dashboard(user_id, query))
    }

    // ---- search ----

    /// A page of the user's conversations matching `text` (words, "phrases", the last word a
    /// prefix while typed), best first, each with its best message's snippet (see
    /// [`crate::search`]). Text with no word in it is an empty page; too long a query is
    /// [`DbError::Invalid`]; a cursor of another query is [`DbError::BadCursor`].
    pub async fn search(
        &self,
        user_id: Uuid,
        text: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<crate::model::SearchHit>> {
        let Some(query) = crate::search::SearchQuery::parse(text)? else {
            crate::conversations::check_limit(limit)?;
            return Ok(Page { items: Vec::new(), next: None });
        };
        dispatch!(self.search(user_id, &query, cursor, limit))
    }

    // ---- export and import (see [`crate::portability`]) ----

    /// A batch of the user's conversations (archived or not), newest-updated first, before
    /// `(updated_at, id)`, each with the source it was imported from: what an archive streams.
    pub async fn export_conversations(
        &self,
        user_id: Uuid,
        archived: bool,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> DbResult<Vec<(Conversation, Option<String>)>> {
        dispatch!(self.export_conversations(user_id, archived, before, limit))
    }

    /// A batch of one of the user's conversations' messages, oldest first, after
    /// `(created_at, id)`; another user's conversation reads as empty.
    pub async fn export_messages(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        after: Option<(i64, Uuid)>,
        limit: u32,
    ) -> DbResult<Vec<Message>> {
        dispatch!(self.export_messages(user_id, conversation_id, after, limit))
    }

    /// A batch of the user's agent logs, by agent session then time, after
    /// `(session_id, created_at, id)`.
    pub async fn export_agent_logs(
        &self,
        user_id: Uuid,
        after: Option<(String, i64, Uuid)>,
        limit: u32,
    ) -> DbResult<Vec<AgentLog>> {
        dispatch!(self.export_agent_logs(user_id, after, limit))
    }

    /// Writes a batch of checked conversations to the user's account in one transaction, with
    /// their own times; those whose source was imported before are skipped.
    pub async fn import_conversations(
        &self,
        user_id: Uuid,
        batch: &[crate::portability::ImportedConversation],
    ) -> DbResult<crate::portability::ImportCounts> {
        dispatch!(self.import_conversations(user_id, batch))
    }

    /// Writes a batch of an archive's agent logs to the user's account in one transaction (under
    /// their own ids when free); logs the user has already are skipped. Returns how many were added.
    pub async fn import_agent_logs(&self, user_id: Uuid, logs: &[crate::model::AgentLog]) -> DbResult<u64> {
        dispatch!(self.import_agent_logs(user_id, logs))
    }

    /// Records a new import of the user's (status checking).
    pub async fn create_import(&self, user_id: Uuid, format: &str) -> DbResult<crate::model::ImportJob> {
        dispatch!(self.create_import(user_id, format))
    }

    /// Records how far an import got.
    pub async fn update_import(
        &self,
        id: Uuid,
        status: crate::model::ImportStatus,
        done: i64,
        total: Option<i64>,
        counts: crate::portability::ImportCounts,
        problem: Option<&str>,
    ) -> DbResult<()> {
        dispatch!(self.update_import(id, status, done, total, counts, problem))
    }

    /// One of the user's imports.
    pub async fn get_import(&self, user_id: Uuid, id: Uuid) -> DbResult<crate::model::ImportJob> {
        dispatch!(self.get_import(user_id, id))
    }

    /// The user's latest imports, newest first.
    pub async fn recent_imports(&self, user_id: Uuid, limit: u32) -> DbResult<Vec<crate::model::ImportJob>> {
        dispatch!(self.recent_imports(user_id, limit))
    }

    // ---- preferences ----

    /// Sets one preference with a single upsert; a locked row is [`DbError::Immutable`].
    pub async fn set_preference(&self, user_id: Uuid, key: &str, value: &serde_json::Value) -> DbResult<()> {
        dispatch!(self.set_preference(user_id, key, value))
    }

    /// Sets a preference the user cannot change (platform or admin enforcement).
    pub async fn enforce_preference(&self, user_id: Uuid, key: &str, value: &serde_json::Value) -> DbResult<()> {
        dispatch!(self.enforce_preference(user_id, key, value))
    }

    /// The defaults overlaid by the user's rows, read in one query.
    pub async fn effective_preferences(&self, user_id: Uuid) -> DbResult<Vec<Preference>> {
        dispatch!(self.effective_preferences(user_id))
    }

    /// Deletes the user's value so the key falls back to its default.
    pub async fn delete_preference(&self, user_id: Uuid, key: &str) -> DbResult<()> {
        dispatch!(self.delete_preference(user_id, key))
    }

    // ---- agent logs ----

    /// Appends a batch of agent logs in one transaction (a batch of one for a single log). A bad
    /// entry refuses the whole batch with a message naming it (`entry 3: …`).
    pub async fn append_agent_logs(&self, logs: &[NewAgentLog]) -> DbResult<Vec<Uuid>> {
        dispatch!(self.append_agent_logs(logs))
    }

    /// A page of the logs of one of the user's agent sessions, oldest first, narrowed by `filter`.
    pub async fn list_agent_logs(
        &self,
        user_id: Uuid,
        session_id: &str,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<AgentLog>> {
        dispatch!(self.list_agent_logs(user_id, session_id, filter, cursor, limit))
    }

    /// The next group to summarise: the agent session of the oldest hot log created before
    /// `older_than`, and at most `limit` of its hot logs from then on, oldest first.
    pub async fn next_summary_group(&self, older_than: i64, limit: u32) -> DbResult<Option<SummaryGroup>> {
        dispatch!(self.next_summary_group(older_than, limit))
    }

    /// Stores a group's summary and moves the group to warm, in one transaction. False (and nothing
    /// changed) when the group is no longer what was read: summarised meanwhile, or grown.
    pub async fn save_summary(&self, group: &SummaryGroup, summary: &NewSummary, now: i64) -> DbResult<bool> {
        dispatch!(self.save_summary(group, summary, now))
    }

    /// A page of the summaries of one of the user's agent sessions, oldest first.
    pub async fn list_summaries(
        &self,
        user_id: Uuid,
        session_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<LogSummary>> {
        dispatch!(self.list_summaries(user_id, session_id, cursor, limit))
    }

    /// Moves at most `batch` logs of `tier` created before `older_than` to the next tier; returns
    /// how many moved (fewer than `batch`: none are left).
    pub async fn demote_logs(&self, tier: Tier, older_than: i64, now: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.demote_logs(tier, older_than, now, batch))
    }

    /// Deletes at most `batch` cold logs created before `older_than`; returns how many.
    pub async fn purge_logs(&self, older_than: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.purge_logs(older_than, batch))
    }

    // ---- garbage collection (each call one bounded batch) ----

    /// Demotes at most `batch` hot logs written under the sign-in session `session_id` to warm.
    pub async fn demote_session_logs(&self, session_id: Uuid, now: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.demote_session_logs(session_id, now, batch))
    }

    /// Demotes at most `batch` hot logs whose sign-in session has expired by `now` or is gone.
    pub async fn demote_orphaned_logs(&self, now: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.demote_orphaned_logs(now, batch))
    }

    /// Deletes at most `batch` sessions expired at `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.delete_expired_sessions(now, batch))
    }

    /// Deletes at most `batch` verifications past their expiry at `now`; returns how many.
    pub async fn delete_expired_verifications(&self, now: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.delete_expired_verifications(now, batch))
    }

    /// Deletes at most `batch` job runs started before `before`; returns how many.
    pub async fn delete_job_runs_before(&self, before: i64, batch: u32) -> DbResult<u64> {
        dispatch!(self.delete_job_runs_before(before, batch))
    }

    // ---- job runs ----

    /// Claims a run of `job` as running: `None` when the same (job, `scheduled_for`, `attempt`) is
    /// already claimed (by another instance). Runs without a scheduled time always get an id.
    pub async fn claim_job_run(
        &self,
        job: &str,
        scheduled_for: Option<i64>,
        attempt: i32,
        now: i64,
    ) -> DbResult<Option<Uuid>> {
        dispatch!(self.claim_job_run(job, scheduled_for, attempt, now))
    }

    /// Records how a run ended and what it did.
    pub async fn finish_job_run(
        &self,
        id: Uuid,
        status: RunStatus,
        detail: &serde_json::Value,
        now: i64,
    ) -> DbResult<()> {
        dispatch!(self.finish_job_run(id, status, detail, now))
    }

    /// The latest runs of `job`, newest first.
    pub async fn recent_job_runs(&self, job: &str, limit: u32) -> DbResult<Vec<JobRun>> {
        dispatch!(self.recent_job_runs(job, limit))
    }
}
