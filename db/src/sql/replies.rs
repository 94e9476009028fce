//! Turns and replies: the read before a turn, the turn's one write transaction, saving a reply as it
//! grows and when it ends, and settling replies a dead process left streaming.

use uuid::Uuid;

use super::agent_logs::insert;
use super::messages::PAGE_BEFORE;
use super::Backend;
use crate::agent_logs::NewAgentLog;
use crate::clock::now_micros;
use crate::conversations::clean_title;
use crate::cursor::Cursor;
use crate::error::{is_unique_violation, missing_parent_is_not_found, DbError, DbResult};
use crate::messages::{check_content, check_metadata, MAX_REPLY_BYTES};
use crate::model::{Conversation, Message, MessageRole, ReplyState};
use crate::preferences::CHAT_MODEL;
use crate::replies::{
    NewTurn, Orphan, StartedTurn, TurnContext, TurnTarget, HISTORY_MESSAGES, REPLY_IN_PROGRESS, TOO_MANY_REPLIES,
};

/// Moves an existing conversation to the top of its owner's list inside a turn (ownership was
/// checked when the turn read its context; no row means it was deleted meanwhile).
const TOUCH: &str =
    "UPDATE conversations SET updated_at = $2 WHERE id = $1 RETURNING id, title, archived, created_at, updated_at";

/// The user's message and the reply that answers it, in one statement.
/// The reply row records the instance writing it (see [`SETTLE_ORPHANED`]).
const INSERT_TURN: &str =
    "INSERT INTO messages (id, conversation_id, role, content, metadata, status, status_reason, created_at, instance_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10, $11, $12, $13, $14, $15, $16, $17, $18)";

/// How many replies a user has being written, on every instance (served by the partial index of
/// streaming rows: there are only ever a few).
const LIVE_OF_USER: &str = "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.status = 'streaming' AND c.user_id = $1";

/// The reply being written in a conversation of the user's, whichever instance writes it.
const LIVE_REPLY: &str =
    "SELECT m.id, m.conversation_id, m.role, m.content, m.metadata, m.status, m.status_reason, m.created_at
     FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.conversation_id = $1 AND c.user_id = $2 AND m.status = 'streaming'";

/// A reply's text as saved, whatever its state (a follower filling a gap or catching up at the end).
const REPLY_TEXT: &str = "SELECT content FROM messages WHERE id = $1 AND conversation_id = $2";

/// An instance says it is alive until `$3` (and records when it started, the first time).
const RENEW_LEASE: &str = "INSERT INTO instances (id, started_at, lease_expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET lease_expires_at = excluded.lease_expires_at";

/// Replies whose instance is gone: still streaming, older than a lease (an instance records its
/// lease as it starts; this grace covers the moment before), and no live lease for the instance
/// that writes them. Served by the partial index of streaming rows. Each row is settled by one
/// instance only: the update re-checks `status` under the row's lock.
pub const SETTLE_ORPHANED: &str = "UPDATE messages SET status = 'failed', status_reason = $3
     WHERE status = 'streaming' AND created_at < $2
       AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = messages.instance_id AND i.lease_expires_at > $1)
     RETURNING id, conversation_id, content";

/// Leases that ran out long ago are forgotten.
const FORGET_INSTANCES: &str = "DELETE FROM instances WHERE lease_expires_at < $1";

/// A reply's text and state, saved as it grows and when it ends.
const SAVE_REPLY: &str = "UPDATE messages SET content = $3, status = $4, status_reason = $5, metadata = $6
     WHERE id = $1 AND conversation_id = $2 AND role = 'assistant'";

/// Replies left streaming by a process that is gone: those started before this process did (one
/// instance on SQLite). Served by the partial index `messages_streaming_idx`.
pub const INTERRUPTED: &str = "UPDATE messages SET status = 'failed', status_reason = $2
     WHERE status = 'streaming' AND created_at < $1";

impl Backend {
    pub(crate) async fn turn_context(&self, user_id: Uuid, target: &TurnTarget) -> DbResult<TurnContext> {
        let mut conn = self.pool.acquire().await?;
        let remembered_model = Self::preference_on(&mut conn, user_id, CHAT_MODEL)
            .await?
            .and_then(|v| v.as_str().map(str::to_string))
            .filter(|m| !m.is_empty());
        let TurnTarget::Existing(id) = target else {
            return Ok(TurnContext { conversation: None, remembered_model, history: Vec::new() });
        };
        let conversation = Self::get_conversation_on(&mut conn, user_id, *id).await?;
        let newest = Cursor::NEWEST;
        let mut history = sqlx::query_as::<_, Message>(PAGE_BEFORE)
            .bind(id)
            .bind(newest.at)
            .bind(newest.id)
            .bind(i64::from(HISTORY_MESSAGES))
            .fetch_all(&mut *conn)
            .await?;
        history.reverse();
        Ok(TurnContext { conversation: Some(conversation), remembered_model, history })
    }

    pub(crate) async fn start_turn(&self, user_id: Uuid, turn: &NewTurn) -> DbResult<StartedTurn> {
        check_content(&turn.content)?;
        if let Some(meta) = &turn.reply {
            check_metadata(meta)?;
        }
        let now = now_micros();
        let conversation_id = turn.target.id();
        let user_message = Message {
            id: Uuid::now_v7(),
            conversation_id,
            role: MessageRole::User,
            content: turn.content.clone(),
            metadata: serde_json::json!({}),
            state: ReplyState::COMPLETE,
            created_at: now,
        };
        // The reply sorts after the message it answers: same time, a later UUIDv7.
        let reply = turn.reply.as_ref().map(|meta| Message {
            id: Uuid::now_v7(),
            conversation_id,
            role: MessageRole::Assistant,
            content: String::new(),
            metadata: meta.clone(),
            state: ReplyState::Streaming,
            created_at: now,
        });
        let mut tx = self.begin_write().await?;
        if let (Some(cap), Some(_)) = (turn.replies_per_user, &reply) {
            // The cap holds across instances: count this user's live replies everywhere, with the
            // user's turns taking turns (two sends racing on two instances cannot both pass).
            Self::serialize_user_turns(&mut tx, user_id).await?;
            let live: i64 = sqlx::query_scalar(LIVE_OF_USER).bind(user_id).fetch_one(&mut *tx).await?;
            if live >= i64::try_from(cap).unwrap_or(i64::MAX) {
                return Err(DbError::Conflict(TOO_MANY_REPLIES.into()));
            }
        }
        let conversation = match &turn.target {
            TurnTarget::Existing(id) => sqlx::query_as::<_, Conversation>(TOUCH)
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(DbError::NotFound)?,
            TurnTarget::New { id, title } => {
                let conversation = Conversation {
                    id: *id,
                    title: clean_title(title)?,
                    archived: false,
                    created_at: now,
                    updated_at: now,
                };
                sqlx::query(super::conversations::INSERT)
                    .bind(conversation.id)
                    .bind(user_id)
                    .bind(&conversation.title)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                conversation
            }
        };
        match &reply {
            None => Self::insert_message(&mut tx, &user_message).await?,
            Some(reply) => {
                let mut insert = sqlx::query(INSERT_TURN);
                let instance = self.bus.instance();
                for (m, writer) in [(&user_message, None), (reply, Some(instance))] {
                    insert = insert
                        .bind(m.id)
                        .bind(m.conversation_id)
                        .bind(m.role.as_str())
                        .bind(&m.content)
                        .bind(sqlx::types::Json(&m.metadata))
                        .bind(m.state.as_str())
                        .bind(m.state.reason())
                        .bind(m.created_at)
                        .bind(writer);
                }
                insert.execute(&mut *tx).await.map_err(|e| {
                    // `messages_one_streaming_idx`: another reply of this conversation is being
                    // written, perhaps by another instance.
                    if is_unique_violation(&e) {
                        DbError::Conflict(REPLY_IN_PROGRESS.into())
                    } else {
                        missing_parent_is_not_found(e)
                    }
                })?;
            }
        }
        tx.commit().await?;
        Ok(StartedTurn { conversation, user_message, reply })
    }

    pub(crate) async fn save_reply(
        &self,
        conversation_id: Uuid,
        message_id: Uuid,
        content: &str,
        state: &ReplyState,
        metadata: &serde_json::Value,
        logs: &[NewAgentLog],
    ) -> DbResult<()> {
        check_metadata(metadata)?;
        if content.len() > MAX_REPLY_BYTES {
            return Err(DbError::Invalid(format!("a reply can be at most {} KiB", MAX_REPLY_BYTES / 1024)));
        }
        for (i, log) in logs.iter().enumerate() {
            crate::agent_logs::check(log).map_err(|problem| DbError::Invalid(format!("log {i}: {problem}")))?;
        }
        let update = sqlx::query(SAVE_REPLY)
            .bind(message_id)
            .bind(conversation_id)
            .bind(content)
            .bind(state.as_str())
            .bind(state.reason())
            .bind(sqlx::types::Json(metadata));
        // Saves while streaming are one statement; the final save writes the reply's logs with it.
        let done = if logs.is_empty() {
            update.execute(&self.pool).await?
        } else {
            let mut tx = self.begin_write().await?;
            let done = update.execute(&mut *tx).await?;
            let now = now_micros();
            for log in logs {
                insert(&mut tx, log, now).await?;
            }
            tx.commit().await?;
            done
        };
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn recover_interrupted_replies(&self, started_before: i64) -> DbResult<u64> {
        let done =
            sqlx::query(INTERRUPTED).bind(started_before).bind(ReplyState::INTERRUPTED).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn live_reply(&self, user_id: Uuid, conversation_id: Uuid) -> DbResult<Option<Message>> {
        Ok(sqlx::query_as::<_, Message>(LIVE_REPLY)
            .bind(conversation_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(crate) async fn reply_text(&self, conversation_id: Uuid, message_id: Uuid) -> DbResult<Option<String>> {
        Ok(sqlx::query_scalar(REPLY_TEXT).bind(message_id).bind(conversation_id).fetch_optional(&self.pool).await?)
    }

    pub(crate) async fn renew_lease(&self, started_at: i64, until: i64) -> DbResult<()> {
        sqlx::query(RENEW_LEASE).bind(self.bus.instance()).bind(started_at).bind(until).execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn settle_orphaned_replies(&self, now: i64, grace: i64) -> DbResult<Vec<Orphan>> {
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(SETTLE_ORPHANED)
            .bind(now)
            .bind(now - grace)
            .bind(ReplyState::INTERRUPTED)
            .fetch_all(&self.pool)
            .await?;
        sqlx::query(FORGET_INSTANCES).bind(now - 10 * grace).execute(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(message_id, conversation_id, content)| Orphan {
                message_id,
                conversation_id,
                chars: content.chars().count(),
            })
            .collect())
    }
}
