//! The admin area's actions, for the JSON API and for the admin pages' plain forms alike: each
//! action is one handler that takes a JSON body or a form, and answers JSON, or a redirect back to
//! the page (with `?error=` when it failed). Only admins reach them (an admin session, or an
//! admin-scoped token); anyone else gets a 404. Every change is audited by the data layer, in the
//! change's own transaction.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use mosaic_db::audit::{Action, Actor, Target};
use mosaic_db::jobs::JobRun;
use mosaic_db::model::{AdminUser, AuditEntry, Page, PlatformPreference, Role};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use app::error::AppError;

use super::input::{answer, is_form, Input};
use super::{id, query, DEFAULT_LIMIT};
use crate::jobs::Job;
use crate::middleware::Admin;
use crate::ServerState;

/// The routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/admin/users", get(users))
        .route("/api/admin/users/{id}/role", patch(set_role).post(set_role))
        .route("/api/admin/users/{id}/ban", post(ban))
        .route("/api/admin/users/{id}/unban", post(unban))
        .route("/api/admin/users/{id}", delete(delete_user))
        .route("/api/admin/users/{id}/delete", post(delete_user))
        .route("/api/admin/preferences", get(preferences).post(set_named_preference))
        .route("/api/admin/preferences/{key}", put(set_preference).delete(delete_preference))
        .route("/api/admin/preferences/{key}/set", post(set_preference))
        .route("/api/admin/preferences/{key}/delete", post(delete_preference))
        .route("/api/admin/jobs", get(jobs))
        .route("/api/admin/jobs/{name}/run", post(run_job))
        .route("/api/admin/audit", get(audit))
}

#[derive(Deserialize)]
struct UsersQuery {
    #[serde(default)]
    search: String,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn users(
    State(s): State<ServerState>,
    Admin(_): Admin,
    q: Result<Query<UsersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<AdminUser>>, AppError> {
    let q = query(q)?;
    Ok(Json(s.app.store.list_users(&q.search, q.cursor.as_deref(), q.limit.unwrap_or(DEFAULT_LIMIT)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: Role,
}

async fn set_role(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(raw): Path<String>,
    input: Input<RoleBody>,
) -> Response {
    let result = async {
        let user = s.app.store.set_role(&Actor::from(&me.user), id(&raw)?, input.value.role).await?;
        Ok(Some(user))
    }
    .await;
    answer(input.form, "/admin", result)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BanBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn ban(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(raw): Path<String>,
    input: Input<BanBody>,
) -> Response {
    let result = async {
        s.app.store.ban(&Actor::from(&me.user), id(&raw)?, input.value.reason.as_deref()).await?;
        Ok(None::<()>)
    }
    .await;
    answer(input.form, "/admin", result)
}

async fn unban(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        s.app.store.unban(&Actor::from(&me.user), id(&raw)?).await?;
        Ok(None::<()>)
    }
    .await;
    answer(is_form(&headers), "/admin", result)
}

/// The deletion's confirmation: the user's email, typed again.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeleteBody {
    confirm_email: String,
}

async fn delete_user(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(raw): Path<String>,
    input: Input<DeleteBody>,
) -> Response {
    let back = format!("/admin/users/{raw}/delete");
    let result = async {
        let id = id(&raw)?;
        let user = s.app.store.get_user(id).await?;
        if !input.value.confirm_email.trim().eq_ignore_ascii_case(&user.email) {
            return Err(AppError::BadRequest(format!(
                "To delete {}, type their email address exactly as shown.",
                user.email
            )));
        }
        s.app.store.delete_user(&Actor::from(&me.user), id).await?;
        Ok(None::<()>)
    }
    .await;
    match result {
        Ok(_) if input.form => Redirect::to("/admin").into_response(),
        other => answer(input.form, &back, other),
    }
}

async fn preferences(State(s): State<ServerState>, Admin(_): Admin) -> Result<Json<Vec<PlatformPreference>>, AppError> {
    Ok(Json(s.app.store.list_platform_preferences().await?))
}

/// A platform preference as JSON sends it: any JSON value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferenceBody {
    /// The key, when the path does not name it (the page's form).
    #[serde(default)]
    key: Option<String>,
    value: Value,
    #[serde(default)]
    enforced: Value,
}

async fn set_preference(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(key): Path<String>,
    input: Input<PreferenceBody>,
) -> Response {
    save_preference(&s, &me, key, input).await
}

/// `POST /api/admin/preferences` with the key in the body.
async fn set_named_preference(
    State(s): State<ServerState>,
    Admin(me): Admin,
    input: Input<PreferenceBody>,
) -> Response {
    let key = input.value.key.clone().unwrap_or_default();
    save_preference(&s, &me, key.trim().to_string(), input).await
}

async fn save_preference(
    s: &ServerState,
    me: &app::state::CurrentUser,
    key: String,
    input: Input<PreferenceBody>,
) -> Response {
    let result = async {
        let PreferenceBody { value, enforced, .. } = input.value;
        // A form sends the value as JSON text and the checkbox as "on"; JSON sends both as they are.
        let value = match (input.form, value) {
            (true, Value::String(text)) => serde_json::from_str(&text).map_err(|e| {
                AppError::BadRequest(format!(
                    "The value must be JSON (a string in double quotes, a number, true, …): {e}"
                ))
            })?,
            (_, value) => value,
        };
        let enforced = match enforced {
            Value::Bool(b) => b,
            Value::String(s) => s == "on" || s == "true",
            Value::Null => false,
            _ => return Err(AppError::BadRequest("enforced is true or false".into())),
        };
        s.app.store.set_platform_preference(&Actor::from(&me.user), &key, &value, enforced).await?;
        Ok(None::<()>)
    }
    .await;
    answer(input.form, "/admin/preferences", result)
}

async fn delete_preference(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        s.app.store.delete_platform_preference(&Actor::from(&me.user), &key).await?;
        Ok(None::<()>)
    }
    .await;
    answer(is_form(&headers), "/admin/preferences", result)
}

/// One job and its latest runs.
#[derive(Serialize)]
struct JobRuns {
    job: &'static str,
    runs: Vec<JobRun>,
}

async fn jobs(State(s): State<ServerState>, Admin(_): Admin) -> Result<Json<Vec<JobRuns>>, AppError> {
    let every = s.app.store.recent_runs_of_every_job(mosaic_db::jobs::RECENT_RUNS).await?;
    Ok(Json(every.into_iter().map(|(job, runs)| JobRuns { job, runs }).collect()))
}

async fn run_job(
    State(s): State<ServerState>,
    Admin(me): Admin,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let form = is_form(&headers);
    let result = async {
        let job = Job::named(&name).ok_or(AppError::NotFound)?;
        s.app
            .store
            .record_action(&Actor::from(&me.user), Action::JobRun, &Target::named(job.name()), json!({}))
            .await?;
        s.jobs.run_now(job);
        Ok(Some(json!({ "job": job.name(), "started": true })))
    }
    .await;
    match result {
        Ok(Some(body)) if !form => (StatusCode::ACCEPTED, Json(body)).into_response(),
        other => answer(form, "/admin/jobs", other),
    }
}

#[derive(Deserialize)]
struct AuditQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn audit(
    State(s): State<ServerState>,
    Admin(_): Admin,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let q = query(q)?;
    Ok(Json(s.app.store.list_audit(q.cursor.as_deref(), q.limit.unwrap_or(DEFAULT_LIMIT)).await?))
}
