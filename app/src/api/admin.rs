//! What the admin pages show, read by server functions that answer "not found" to anyone but an
//! admin. The pages' actions are plain forms posted to the admin API (`/api/admin/…`), which takes
//! forms as well as JSON and redirects back.

use leptos::prelude::*;
use mosaic_db::model::{AdminUser, AuditEntry, Page, PlatformPreference};
use serde::{Deserialize, Serialize};

/// Users per page of the admin console.
pub const USERS_PAGE: u32 = 25;
/// Audit entries per page.
pub const AUDIT_PAGE: u32 = 50;

/// The users page: a page of users and who is looking (whose own row has no ban or delete).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsersView {
    pub users: Page<AdminUser>,
    pub me: uuid::Uuid,
}

/// One run of a background job, as the jobs page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The run's detail (what it did, or its error), as `key: value` pairs.
    pub detail: String,
}

/// A job and its latest runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub name: String,
    /// Whether an admin may start it by hand.
    pub runnable: bool,
    pub runs: Vec<RunView>,
}

/// The platform preferences, and the built-in keys with their defaults for reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreferencesView {
    pub platform: Vec<PlatformPreference>,
    pub built_in: Vec<(String, serde_json::Value)>,
}

/// The user a deletion is about to remove.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteView {
    pub id: uuid::Uuid,
    pub name: String,
    pub email: String,
}

#[cfg(feature = "ssr")]
fn require_admin() -> Result<crate::state::CurrentUser, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    let me = require_user()?;
    if !me.is_admin() {
        return Err(fail(crate::error::AppError::NotFound));
    }
    Ok(me)
}

/// A page of users, newest first, narrowed by `search`.
#[server(prefix = "/_fn", endpoint = "admin_users")]
pub async fn admin_users(search: String, cursor: Option<String>) -> Result<UsersView, ServerFnError> {
    let me = require_admin()?;
    let state = crate::state::app_state()?;
    let users =
        state.store.list_users(&search, cursor.as_deref(), USERS_PAGE).await.map_err(crate::api::respond::fail)?;
    Ok(UsersView { users, me: me.user.id })
}

/// The user a deletion page is about.
#[server(prefix = "/_fn", endpoint = "user_to_delete")]
pub async fn user_to_delete(id: String) -> Result<DeleteView, ServerFnError> {
    use crate::api::respond::fail;
    require_admin()?;
    let state = crate::state::app_state()?;
    let id: uuid::Uuid = id.parse().map_err(|_| fail(crate::error::AppError::NotFound))?;
    let user = state.store.get_user(id).await.map_err(fail)?;
    Ok(DeleteView { id, name: user.name, email: user.email })
}

/// The platform preference layer.
#[server(prefix = "/_fn", endpoint = "admin_preferences")]
pub async fn admin_preferences() -> Result<PreferencesView, ServerFnError> {
    require_admin()?;
    let state = crate::state::app_state()?;
    let platform = state.store.list_platform_preferences().await.map_err(crate::api::respond::fail)?;
    let built_in = mosaic_db::preferences::defaults().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Ok(PreferencesView { platform, built_in })
}

/// Every job and its latest runs.
#[server(prefix = "/_fn", endpoint = "admin_jobs")]
pub async fn admin_jobs() -> Result<Vec<JobView>, ServerFnError> {
    require_admin()?;
    let state = crate::state::app_state()?;
    let every =
        state.store.recent_runs_of_every_job(mosaic_db::jobs::RECENT_RUNS).await.map_err(crate::api::respond::fail)?;
    let jobs = every
        .into_iter()
        .map(|(name, runs)| JobView {
            name: name.to_string(),
            runnable: mosaic_db::jobs::RUN_BY_HAND.contains(&name),
            runs: runs
                .into_iter()
                .map(|r| RunView {
                    status: r.status.as_str().to_string(),
                    started_at: r.started_at,
                    finished_at: r.finished_at,
                    detail: crate::components::plain_detail(&r.detail),
                })
                .collect(),
        })
        .collect();
    Ok(jobs)
}

/// A page of the audit trail, newest first.
#[server(prefix = "/_fn", endpoint = "admin_audit")]
pub async fn admin_audit(cursor: Option<String>) -> Result<Page<AuditEntry>, ServerFnError> {
    require_admin()?;
    let state = crate::state::app_state()?;
    state.store.list_audit(cursor.as_deref(), AUDIT_PAGE).await.map_err(crate::api::respond::fail)
}
