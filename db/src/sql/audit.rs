//! The audit trail: one insert in the caller's transaction, and the newest-first listing.

use serde_json::Value;
use sqlx::Transaction;
use uuid::Uuid;

use super::{Backend, Db};
use crate::audit::{Action, Actor, Target};
use crate::clock::now_micros;
use crate::conversations::{check_limit, page_end};
use crate::cursor::{Cursor, CursorKind};
use crate::error::DbResult;
use crate::model::{AuditEntry, Page};

/// One page of the audit trail, newest first, after a cursor. Served by `audit_log_created_idx`.
pub const LIST: &str =
    "SELECT id, actor_id, actor_email, action, target_id, target_label, detail, created_at FROM audit_log
     WHERE (created_at, id) < ($1, $2)
     ORDER BY created_at DESC, id DESC
     LIMIT $3";

impl Backend {
    /// Records an action in the transaction that makes the change.
    pub(crate) async fn record(
        tx: &mut Transaction<'static, Db>,
        actor: &Actor,
        action: Action,
        target: &Target,
        detail: Value,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, actor_id, actor_email, action, target_id, target_label, detail, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(actor.id)
        .bind(&actor.email)
        .bind(action.as_str())
        .bind(target.id)
        .bind(&target.label)
        .bind(sqlx::types::Json(detail))
        .bind(now_micros())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records an action that changes no row of its own (a job started by hand).
    pub(crate) async fn record_action(
        &self,
        actor: &Actor,
        action: Action,
        target: &Target,
        detail: Value,
    ) -> DbResult<()> {
        let mut tx = self.begin_write().await?;
        Self::record(&mut tx, actor, action, target, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_audit(&self, cursor: Option<&str>, limit: u32) -> DbResult<Page<AuditEntry>> {
        let limit = check_limit(limit)?;
        let after = Cursor::decode_opt(cursor, CursorKind::Audit, Uuid::nil())?.unwrap_or(Cursor::NEWEST);
        let mut items = sqlx::query_as::<_, AuditEntry>(LIST)
            .bind(after.at)
            .bind(after.id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = page_end(&mut items, limit, |e| {
            Cursor { at: e.created_at, id: e.id }.encode(CursorKind::Audit, Uuid::nil())
        });
        Ok(Page { items, next })
    }
}
