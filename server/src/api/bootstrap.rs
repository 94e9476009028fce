//! Setting up a fresh instance from a script, as in the original: `GET /api/bootstrap/status` says
//! whether the instance still needs its first user, and `POST /api/bootstrap/setup` creates that
//! user as admin, only while no user exists, and answers with an admin-scoped API token (shown
//! once) so the script can go on.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use mosaic_db::model::{ApiToken, User};
use mosaic_db::{api_tokens, password, token};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use app::error::AppError;

use super::body;
use crate::ServerState;

/// The routes.
pub fn routes() -> Router<ServerState> {
    Router::new().route("/api/bootstrap/status", get(status)).route("/api/bootstrap/setup", post(setup))
}

async fn status(State(s): State<ServerState>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "needsSetup": s.app.store.count_users().await? == 0 })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Setup {
    email: String,
    name: String,
    password: String,
}

#[derive(Serialize)]
struct SetUp {
    user: User,
    token: ApiToken,
    /// The admin token's secret, shown this once.
    secret: String,
}

async fn setup(
    State(s): State<ServerState>,
    json: Result<Json<Setup>, JsonRejection>,
) -> Result<(StatusCode, Json<SetUp>), AppError> {
    let Setup { email, name, password: plain } = body(json)?;
    let already = || AppError::Conflict("This instance is already set up: it has users. Sign in instead.".into());
    if s.app.store.count_users().await? > 0 {
        return Err(already());
    }
    mosaic_db::users::clean_email(&email)?;
    mosaic_db::users::clean_name(&name)?;
    password::check_new(&plain)?;
    let hash = password::hash(plain).await?;
    let secret = api_tokens::generate_secret()?;
    let (user, token) = s.app.store.bootstrap_admin(&email, &name, &hash, &token::hash(&secret)).await?;
    Ok((StatusCode::CREATED, Json(SetUp { user, token, secret })))
}
