//! Row types shared by the server and the UI.
//!
//! These compile for the browser too (without the `server` feature), so server functions can return
//! them unchanged. Timestamps are microseconds since the Unix epoch, UTC.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The preference key of whether Enter sends in the composer (Shift+Enter makes a new line); when
/// false, Enter makes a new line and Ctrl/Cmd+Enter sends. Here so the browser build reads it too.
pub const SEND_ON_ENTER: &str = "chat.sendOnEnter";

/// What a user may do: admins manage the instance, members use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    /// The spelling stored in the `users.role` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// A person who can sign in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub role: Role,
    pub banned: bool,
    pub created_at: i64,
    /// The avatar's content-hash key (its files are `/media/avatars/<key>-<size>.<avif|webp>`).
    pub image: Option<String>,
}

/// One signed-in browser or client, as the user sees it on the settings page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// A conversation in a user's sidebar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct Conversation {
    pub id: Uuid,
    pub title: String,
    pub archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    User,
    Assistant,
    System,
}

impl MessageRole {
    /// The spelling stored in the `messages.role` column.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::System => "system",
        }
    }
}

impl TryFrom<String> for MessageRole {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "user" => Ok(MessageRole::User),
            "assistant" => Ok(MessageRole::Assistant),
            "system" => Ok(MessageRole::System),
            other => Err(format!("unknown message role {other:?}")),
        }
    }
}

/// Where a message is in its life. A user's message is complete when it is saved; an assistant's
/// reply is saved `Streaming` the moment it starts and ends in one of the other three states.
///
/// Stored as the `status` and `status_reason` columns (a CHECK in both schemas keeps them to these
/// four, and a reason only where one belongs); sent to clients as `"status"` and `"reason"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ReplyState {
    /// Still being written; the text is what has arrived so far.
    Streaming,
    /// Written to its end, or cut at the reply limit (reason [`ReplyState::LENGTH`]).
    Complete {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Ended early on purpose: the user pressed Stop (no reason), or the server was shutting down.
    Stopped {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Ended by a fault: the provider failed, or the process writing it died ("interrupted").
    Failed { reason: String },
}

impl ReplyState {
    /// The reason a reply recovered at startup was left unfinished: its process died mid-reply.
    pub const INTERRUPTED: &'static str = "interrupted";
    /// The reason of a complete reply that was cut at the reply limit (Mosaic's or the provider's
    /// `max_tokens`), as OpenAI's `finish_reason` says it.
    pub const LENGTH: &'static str = "length";

    /// A reply written to its natural end.
    pub const COMPLETE: ReplyState = ReplyState::Complete { reason: None };

    /// The spelling stored in the `messages.status` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReplyState::Streaming => "streaming",
            ReplyState::Complete { .. } => "complete",
            ReplyState::Stopped { .. } => "stopped",
            ReplyState::Failed { .. } => "failed",
        }
    }

    /// The `messages.status_reason` column: why a reply stopped, failed or was cut.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ReplyState::Stopped { reason } | ReplyState::Complete { reason } => reason.as_deref(),
            ReplyState::Failed { reason } => Some(reason),
            ReplyState::Streaming => None,
        }
    }

    /// Rebuilds the state from its two columns; anything else is a corrupt row.
    pub fn from_columns(status: &str, reason: Option<String>) -> Result<ReplyState, String> {
        match (status, reason) {
            ("streaming", None) => Ok(ReplyState::Streaming),
            ("complete", None) => Ok(ReplyState::COMPLETE),
            ("complete", Some(reason)) if reason == Self::LENGTH => Ok(ReplyState::Complete { reason: Some(reason) }),
            ("stopped", reason) => Ok(ReplyState::Stopped { reason }),
            ("failed", Some(reason)) => Ok(ReplyState::Failed { reason }),
            (status, reason) => Err(format!("invalid message state {status:?} with reason {reason:?}")),
        }
    }

    /// True once the reply can no longer change.
    pub fn is_settled(&self) -> bool {
        !matches!(self, ReplyState::Streaming)
    }
}

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub role: MessageRole,
    pub content: String,
    pub metadata: serde_json::Value,
    #[serde(flatten)]
    pub state: ReplyState,
    pub created_at: i64,
}

/// The storage tier of an agent log row: hot rows are recent, warm ones summarised, cold ones
/// waiting to be purged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Hot,
    Warm,
    Cold,
}

impl Tier {
    /// The spelling stored in the `agent_logs.tier` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
        }
    }

    /// The tier rows move to when they age out of this one; cold rows are purged instead.
    pub fn next(self) -> Option<Tier> {
        match self {
            Tier::Hot => Some(Tier::Warm),
            Tier::Warm => Some(Tier::Cold),
            Tier::Cold => None,
        }
    }
}

impl TryFrom<String> for Tier {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "hot" => Ok(Tier::Hot),
            "warm" => Ok(Tier::Warm),
            "cold" => Ok(Tier::Cold),
            other => Err(format!("unknown tier {other:?}")),
        }
    }
}

/// How much a log entry matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 4] = [LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error];

    /// The spelling stored in the `agent_logs.level` column and used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    /// The level spelled `name`, or a message listing the ones there are.
    pub fn parse(name: &str) -> Result<LogLevel, String> {
        LogLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == name)
            .ok_or_else(|| format!("unknown level {name:?}; levels are debug, info, warn, error"))
    }
}

impl TryFrom<String> for LogLevel {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        LogLevel::parse(&value)
    }
}

impl Tier {
    /// The tier spelled `name`, or a message listing the ones there are.
    pub fn parse(name: &str) -> Result<Tier, String> {
        Tier::try_from(name.to_string()).map_err(|_| format!("unknown tier {name:?}; tiers are hot, warm, cold"))
    }
}

/// One record of what an agent did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct AgentLog {
    pub id: Uuid,
    pub session_id: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub level: LogLevel,
    pub category: String,
    pub content: String,
    #[cfg_attr(feature = "server", sqlx(json))]
    pub metadata: serde_json::Value,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub tier: Tier,
    pub created_at: i64,
}

/// Who wrote a log summary: the configured summarisation model, or the built-in extractive
/// summary (used when no model is configured or the model failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummarySource {
    Model,
    Extractive,
}

impl SummarySource {
    /// The spelling stored in `agent_log_summaries.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            SummarySource::Model => "model",
            SummarySource::Extractive => "extractive",
        }
    }
}

impl TryFrom<String> for SummarySource {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "model" => Ok(SummarySource::Model),
            "extractive" => Ok(SummarySource::Extractive),
            other => Err(format!("unknown summary source {other:?}")),
        }
    }
}

/// The summary of a group of one agent session's logs, written when they moved from hot to warm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct LogSummary {
    pub id: Uuid,
    pub session_id: String,
    /// When the first and last summarised logs were written.
    pub first_log_at: i64,
    pub last_log_at: i64,
    pub log_count: i32,
    pub summary: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub source: SummarySource,
    pub model: Option<String>,
    pub created_at: i64,
}

/// One effective preference: its value and whether the user may change it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preference {
    pub key: String,
    pub value: serde_json::Value,
    /// False when the platform enforces the key (or it was locked for this user): the user's
    /// writes to it are refused.
    pub mutable: bool,
    /// True when the value comes from the built-in or platform defaults rather than the user's own
    /// row or an enforced value.
    pub is_default: bool,
}

/// A preference the platform sets for everyone: a default users start from, or, when `enforced`,
/// a value that wins over any user's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformPreference {
    pub key: String,
    pub value: serde_json::Value,
    pub enforced: bool,
    pub updated_at: i64,
}

/// A user as the admin console lists them: the account, its state, and its activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct AdminUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub role: Role,
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub created_at: i64,
    /// The latest activity of any of the user's sessions still on record.
    pub last_seen_at: Option<i64>,
    /// Live sign-in sessions.
    pub session_count: i64,
}

/// What a personal API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Reads only (GET requests, following replies on the WebSocket).
    Read,
    /// Everything the user can do through the API, admin endpoints excepted.
    Write,
    /// Everything, the admin endpoints included, while the user is an admin.
    Admin,
}

impl TokenScope {
    /// Every scope, narrowest first.
    pub const ALL: [TokenScope; 3] = [TokenScope::Read, TokenScope::Write, TokenScope::Admin];

    /// The spelling stored in `api_tokens.scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
            TokenScope::Admin => "admin",
        }
    }

    /// Whether requests that change something are allowed.
    pub fn can_write(self) -> bool {
        self != TokenScope::Read
    }
}

impl TryFrom<String> for TokenScope {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TokenScope::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| format!("a token scope is read, write or admin, not {value:?}"))
    }
}

/// A personal API token as its owner sees it (the secret itself is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub scope: TokenScope,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// One admin action in the audit trail: who did what to whom, when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub actor_email: String,
    /// What was done, e.g. `user.ban` (see `mosaic_db::audit`).
    pub action: String,
    pub target_id: Option<Uuid>,
    /// The target as it was named then (an email, a preference key, a job).
    pub target_label: Option<String>,
    #[cfg_attr(feature = "server", sqlx(json))]
    pub detail: serde_json::Value,
    pub created_at: i64,
}

/// A page of a keyset-paginated listing. `next` is the opaque cursor of the following page, absent
/// on the last one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Which slice of a conversation to read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageQuery {
    /// Read the page just before this cursor (older messages).
    pub before: Option<String>,
    /// Read the page just after this cursor (newer messages). Ignored when `before` is set.
    pub after: Option<String>,
    /// Read the page around this message (a search result): it and the messages either side,
    /// with cursors both ways. Ignored when `before` or `after` is set.
    #[serde(default)]
    pub around: Option<Uuid>,
    /// Page size, 1 to 200 (`conversations::MAX_PAGE_SIZE`).
    pub limit: u32,
}

/// A page of messages, oldest first, with cursors to the neighbouring pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessagePage {
    pub items: Vec<Message>,
    /// Cursor for the page of older messages, absent at the start of the conversation.
    pub earlier: Option<String>,
    /// Cursor for the page of newer messages, absent at the newest message.
    pub later: Option<String>,
}

/// A piece of text in a search result: matched words are `hit`. The text is the user's, unescaped:
/// the page renders it as text, never as markup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// The message a search result points at: its best match in the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedMessage {
    pub id: Uuid,
    pub role: MessageRole,
    pub created_at: i64,
    /// A short passage around the matched words, highlighted.
    pub snippet: Vec<Fragment>,
}

/// One conversation found by a search, with where it matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub conversation: Conversation,
    /// The title, highlighted where it matched.
    pub title: Vec<Fragment>,
    /// The best-matching message, absent when only the title matched.
    pub message: Option<MatchedMessage>,
}

/// How an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Reading the whole file once, to refuse a malformed one before anything is written.
    Checking,
    /// Writing, a batch of conversations at a time.
    Importing,
    Done,
    Failed,
}

impl ImportStatus {
    /// The spelling stored in `imports.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Checking => "checking",
            ImportStatus::Importing => "importing",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
        }
    }
}

impl TryFrom<String> for ImportStatus {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "checking" => Ok(ImportStatus::Checking),
            "importing" => Ok(ImportStatus::Importing),
            "done" => Ok(ImportStatus::Done),
            "failed" => Ok(ImportStatus::Failed),
            other => Err(format!("unknown import status {other:?}")),
        }
    }
}

/// An import the user started and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ImportJob {
    pub id: Uuid,
    /// `mosaic`, `chatgpt` or `openwebui`.
    pub format: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub status: ImportStatus,
    /// Conversations read (checking) or written (importing) so far.
    pub done: i64,
    /// Conversations in the file, once checked.
    pub total: Option<i64>,
    /// Conversations added, and those already here from an earlier import of the same source.
    pub imported: i64,
    pub skipped: i64,
    /// Messages added.
    pub messages: i64,
    /// Why it failed, or which entries were left out as bad.
    pub problem: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
