//! Export reads (a user's conversations, messages and agent logs in keyset batches, so an archive
//! streams in constant memory) and import writes (a batch of conversations per transaction,
//! skipping sources already imported), plus the rows of an import's progress.

use uuid::Uuid;

use super::Backend;
use crate::clock::now_micros;
use crate::error::{DbError, DbResult};
use crate::model::{AgentLog, Conversation, ImportJob, ImportStatus, Message};
use crate::portability::{ImportCounts, ImportedConversation};

/// A batch of the user's conversations (archived or not), newest-updated first, after a point,
/// with where each came from. Served by `conversations_user_archived_idx`.
pub const EXPORT_CONVERSATIONS: &str =
    "SELECT id, title, archived, created_at, updated_at, source_id FROM conversations
     WHERE user_id = $1 AND archived = $2 AND (updated_at, id) < ($3, $4)
     ORDER BY updated_at DESC, id DESC
     LIMIT $5";

/// A batch of one of the user's conversations' messages, oldest first, after a point.
pub const EXPORT_MESSAGES: &str =
    "SELECT id, conversation_id, role, content, metadata, status, status_reason, created_at FROM messages
     WHERE conversation_id = $1 AND (created_at, id) > ($3, $4)
       AND EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2)
     ORDER BY created_at, id
     LIMIT $5";

/// A batch of the user's agent logs, by session then time, after a point. Served by
/// `agent_logs_user_session_created_idx`.
pub const EXPORT_LOGS: &str =
    "SELECT id, session_id, level, category, content, metadata, tier, created_at FROM agent_logs
     WHERE user_id = $1 AND (session_id, created_at, id) > ($2, $3, $4)
     ORDER BY session_id, created_at, id
     LIMIT $5";

const FIND_SOURCE: &str = "SELECT id FROM conversations WHERE user_id = $1 AND source_id = $2";
const ID_TAKEN: &str = "SELECT id FROM conversations WHERE id = $1";
const INSERT_CONVERSATION: &str =
    "INSERT INTO conversations (id, user_id, title, archived, created_at, updated_at, source_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// An archive's agent log, unless the user has it already (the same archive imported before, or
/// the log never left: same agent session, time and text; `agent_logs_user_session_created_idx`).
/// It keeps its id when the id is free (`$11` is a new one otherwise: another account may hold
/// the original).
const IMPORT_LOG: &str = "INSERT INTO agent_logs (id, user_id, session_id, level, category, content, metadata, tier,
       created_at, updated_at)
     SELECT CASE WHEN EXISTS (SELECT 1 FROM agent_logs WHERE id = $1) THEN $11 ELSE $1 END,
            $2, $3, $4, $5, $6, $7, $8, $9, $10
     WHERE NOT EXISTS (SELECT 1 FROM agent_logs
                       WHERE user_id = $2 AND session_id = $3 AND created_at = $9 AND content = $6)";

const CREATE_IMPORT: &str = "INSERT INTO imports (id, user_id, format, status, created_at, updated_at)
     VALUES ($1, $2, $3, 'checking', $4, $4)
     RETURNING id, format, status, done, total, imported, skipped, messages, problem, created_at, updated_at";
const GET_IMPORT: &str =
    "SELECT id, format, status, done, total, imported, skipped, messages, problem, created_at, updated_at
     FROM imports WHERE id = $1 AND user_id = $2";
const RECENT_IMPORTS: &str =
    "SELECT id, format, status, done, total, imported, skipped, messages, problem, created_at, updated_at
     FROM imports WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2";

impl Backend {
    pub(crate) async fn export_conversations(
        &self,
        user_id: Uuid,
        archived: bool,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> DbResult<Vec<(Conversation, Option<String>)>> {
        let (at, id) = before.unwrap_or((i64::MAX, Uuid::max()));
        let rows: Vec<(Uuid, String, bool, i64, i64, Option<String>)> = sqlx::query_as(EXPORT_CONVERSATIONS)
            .bind(user_id)
            .bind(archived)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, title, archived, created_at, updated_at, source)| {
                (Conversation { id, title, archived, created_at, updated_at }, source)
            })
            .collect())
    }

    pub(crate) async fn export_messages(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        after: Option<(i64, Uuid)>,
        limit: u32,
    ) -> DbResult<Vec<Message>> {
        let (at, id) = after.unwrap_or((i64::MIN, Uuid::nil()));
        Ok(sqlx::query_as::<_, Message>(EXPORT_MESSAGES)
            .bind(conversation_id)
            .bind(user_id)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    pub(crate) async fn export_agent_logs(
        &self,
        user_id: Uuid,
        after: Option<(String, i64, Uuid)>,
        limit: u32,
    ) -> DbResult<Vec<AgentLog>> {
        let (session, at, id) = after.unwrap_or((String::new(), i64::MIN, Uuid::nil()));
        Ok(sqlx::query_as::<_, AgentLog>(EXPORT_LOGS)
            .bind(user_id)
            .bind(session)
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    pub(crate) async fn import_conversations(
        &self,
        user_id: Uuid,
        batch: &[ImportedConversation],
    ) -> DbResult<ImportCounts> {
        let mut counts = ImportCounts::default();
        let mut tx = self.begin_write().await?;
        for (i, c) in batch.iter().enumerate() {
            let known: Option<(Uuid,)> =
                sqlx::query_as(FIND_SOURCE).bind(user_id).bind(&c.source_id).fetch_optional(&mut *tx).await?;
            if known.is_some() {
                counts.skipped += 1;
                continue;
            }
            // Keep the source's id when it is free (a Mosaic archive's round trip), its messages' too.
            let keep = match c.id {
                Some(id) => sqlx::query_as::<_, (Uuid,)>(ID_TAKEN).bind(id).fetch_optional(&mut *tx).await?.is_none(),
                None => false,
            };
            let id = if keep { c.id.unwrap_or_else(Uuid::now_v7) } else { Uuid::now_v7() };
            sqlx::query(INSERT_CONVERSATION)
                .bind(id)
                .bind(user_id)
                .bind(&c.title)
                .bind(c.archived)
                .bind(c.created_at)
                .bind(c.updated_at)
                .bind(&c.source_id)
                .execute(&mut *tx)
                .await
                .map_err(crate::error::missing_parent_is_not_found)?;
            for m in &c.messages {
                let message = Message {
                    id: m.id.filter(|_| keep).unwrap_or_else(Uuid::now_v7),
                    conversation_id: id,
                    role: m.role,
                    content: m.content.clone(),
                    metadata: m.metadata.clone(),
                    state: m.state.clone(),
                    created_at: m.created_at,
                };
                Self::insert_message(&mut tx, &message).await.map_err(|e| match e {
                    DbError::Sqlx(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                        DbError::Invalid(format!("conversation {i} of the batch: a message id is already in use"))
                    }
                    other => other,
                })?;
                counts.messages += 1;
            }
            counts.imported += 1;
        }
        tx.commit().await?;
        Ok(counts)
    }

    pub(crate) async fn import_agent_logs(&self, user_id: Uuid, logs: &[AgentLog]) -> DbResult<u64> {
        for (i, log) in logs.iter().enumerate() {
            crate::portability::check_log(user_id, log)
                .map_err(|problem| DbError::Invalid(format!("agent log {i} of the batch: {problem}")))?;
        }
        let now = now_micros();
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for original in logs {
            let log = crate::portability::imported_log(user_id, original);
            added += sqlx::query(IMPORT_LOG)
                .bind(original.id)
                .bind(user_id)
                .bind(&log.session_id)
                .bind(log.level.as_str())
                .bind(&log.category)
                .bind(&log.content)
                .bind(sqlx::types::Json(&log.metadata))
                .bind(log.tier.as_str())
                .bind(log.created_at.unwrap_or(now))
                .bind(now)
                .bind(Uuid::now_v7())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    pub(crate) async fn create_import(&self, user_id: Uuid, format: &str) -> DbResult<ImportJob> {
        let now = now_micros();
        Ok(sqlx::query_as::<_, ImportJob>(CREATE_IMPORT)
            .bind(Uuid::now_v7())
            .bind(user_id)
            .bind(format)
            .bind(now)
            .fetch_one(&self.pool)
            .await?)
    }

    pub(crate) async fn update_import(
        &self,
        id: Uuid,
        status: ImportStatus,
        done: i64,
        total: Option<i64>,
        counts: ImportCounts,
        problem: Option<&str>,
    ) -> DbResult<()> {
        sqlx::query(
            "UPDATE imports SET status = $2, done = $3, total = $4, imported = $5, skipped = $6, messages = $7,
                    problem = $8, updated_at = $9
             WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(done)
        .bind(total)
        .bind(counts.imported as i64)
        .bind(counts.skipped as i64)
        .bind(counts.messages as i64)
        .bind(problem)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn get_import(&self, user_id: Uuid, id: Uuid) -> DbResult<ImportJob> {
        Ok(sqlx::query_as::<_, ImportJob>(GET_IMPORT).bind(id).bind(user_id).fetch_one(&self.pool).await?)
    }

    pub(crate) async fn recent_imports(&self, user_id: Uuid, limit: u32) -> DbResult<Vec<ImportJob>> {
        Ok(sqlx::query_as::<_, ImportJob>(RECENT_IMPORTS)
            .bind(user_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }
}
