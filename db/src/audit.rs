//! The audit trail: every admin action, written in the same transaction as the change it records
//! (so there is never a change without its record, or a record of a change that rolled back), and
//! paged newest first in the admin console.

use serde::Serialize;
use uuid::Uuid;

use crate::model::User;

/// Who did something: the admin (or the setup script) acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// None when no account acts (the configuration, e.g. MOSAIC_ADMIN_EMAIL; `email` then names it).
    pub id: Option<Uuid>,
    pub email: String,
}

impl From<&User> for Actor {
    fn from(user: &User) -> Self {
        Actor { id: Some(user.id), email: user.email.clone() }
    }
}

/// What an audit entry records. The spelling is stored in `audit_log.action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// `POST /api/bootstrap/setup` created the first admin.
    Bootstrap,
    /// A user's role changed (`detail`: from, to).
    UserRole,
    /// A user was banned (`detail`: reason).
    UserBan,
    /// A ban was lifted.
    UserUnban,
    /// A user and everything they owned were deleted.
    UserDelete,
    /// A platform preference was set (`detail`: value, enforced).
    PreferenceSet,
    /// A platform preference was removed.
    PreferenceDelete,
    /// A background job was started by hand.
    JobRun,
    /// An admin-scoped API token was created.
    AdminTokenCreate,
}

impl Action {
    /// The spelling stored in `audit_log.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Bootstrap => "instance.bootstrap",
            Action::UserRole => "user.role",
            Action::UserBan => "user.ban",
            Action::UserUnban => "user.unban",
            Action::UserDelete => "user.delete",
            Action::PreferenceSet => "preference.set",
            Action::PreferenceDelete => "preference.delete",
            Action::JobRun => "job.run",
            Action::AdminTokenCreate => "token.create-admin",
        }
    }
}

/// What an action was done to, as it was named then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub id: Option<Uuid>,
    pub label: String,
}

impl Target {
    /// A user, by id and email.
    pub fn user(id: Uuid, email: &str) -> Target {
        Target { id: Some(id), label: email.to_string() }
    }

    /// Something named only (a preference key, a job).
    pub fn named(label: &str) -> Target {
        Target { id: None, label: label.to_string() }
    }
}

impl crate::Store {
    /// A page of the audit trail, newest first.
    pub async fn list_audit(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> crate::DbResult<crate::model::Page<crate::model::AuditEntry>> {
        dispatch!(self.list_audit(cursor, limit))
    }

    /// Records an action that changes no row of its own (a job started by hand).
    pub async fn record_action(
        &self,
        actor: &Actor,
        action: Action,
        target: &Target,
        detail: serde_json::Value,
    ) -> crate::DbResult<()> {
        dispatch!(self.record_action(actor, action, target, detail))
    }
}
