//! The signed-in user's own credentials: personal API tokens, the password, and the other sessions.
//! Each action takes JSON or a plain form (the settings page works without JavaScript).
//!
//! A new token's secret is shown once. To JSON it is in the answer; to a form it travels back to
//! the settings page in a short-lived cookie only that page reads (and clears at once), never in a
//! URL, where it would land in history and logs.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mosaic_db::model::{ApiToken, TokenScope};
use mosaic_db::{api_tokens, password, token};
use serde::{Deserialize, Serialize};

use app::error::AppError;

use super::id;
use super::input::{answer, is_form, Input};
use crate::middleware::{Authed, SessionUser};
use crate::ServerState;

/// Where the settings forms come back to.
const SETTINGS: &str = "/settings";
/// The longest expiry a token may be given, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// The routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/tokens", get(list).post(create))
        .route("/api/tokens/{id}", delete(revoke))
        .route("/api/tokens/{id}/revoke", post(revoke))
        .route("/api/me/password", post(change_password))
        .route("/api/sessions/revoke-others", post(revoke_others))
}

async fn list(State(s): State<ServerState>, Authed(me): Authed) -> Result<Json<Vec<ApiToken>>, AppError> {
    Ok(Json(s.app.store.list_api_tokens(me.user.id).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewToken {
    name: String,
    scope: TokenScope,
    /// Days until it expires; none (or empty, from a form) for never.
    #[serde(default, deserialize_with = "days")]
    expires_in_days: Option<u32>,
}

/// A number of days from JSON (a number or null) or a form (text, empty for none).
fn days<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Days {
        Number(u32),
        Text(String),
    }
    match Option::<Days>::deserialize(d)? {
        None => Ok(None),
        Some(Days::Number(n)) => Ok(Some(n)),
        Some(Days::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Days::Text(t)) => t.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// A token as created: the secret is here and nowhere else, ever.
#[derive(Serialize)]
struct Created {
    token: ApiToken,
    secret: String,
}

async fn create(State(s): State<ServerState>, SessionUser(me, _): SessionUser, input: Input<NewToken>) -> Response {
    let result = async {
        let NewToken { name, scope, expires_in_days } = input.value;
        let expires_at = match expires_in_days {
            None => None,
            Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => {
                Some(mosaic_db::clock::now_micros() + i64::from(d) * 24 * 3600 * mosaic_db::clock::SECOND)
            }
            Some(_) => {
                return Err(AppError::BadRequest(format!("A token expires in 1 to {MAX_EXPIRY_DAYS} days, or never.")))
            }
        };
        let secret = api_tokens::generate_secret()?;
        let token = s.app.store.create_api_token(&me.user, &name, scope, expires_at, &token::hash(&secret)).await?;
        Ok(Created { token, secret })
    }
    .await;
    match (input.form, result) {
        (true, Ok(created)) => {
            let mut response = Redirect::to(SETTINGS).into_response();
            let cookie = app::auth::new_token_cookie(&created.secret, s.app.auth.secure_cookies);
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        (false, Ok(created)) => (StatusCode::CREATED, Json(created)).into_response(),
        (form, result) => answer(form, SETTINGS, result.map(Some)),
    }
}

async fn revoke(
    State(s): State<ServerState>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        s.app.store.revoke_api_token(me.user.id, id(&raw)?).await?;
        Ok(None::<()>)
    }
    .await;
    answer(is_form(&headers), SETTINGS, result)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password after checking the current one; every other session of the user ends.
async fn change_password(
    State(s): State<ServerState>,
    SessionUser(me, session): SessionUser,
    input: Input<PasswordChange>,
) -> Response {
    let result = async {
        let PasswordChange { current_password, new_password } = input.value;
        let phc = s.app.store.password_hash(me.user.id).await?.ok_or_else(|| {
            AppError::BadRequest("This account signs in through a provider and has no password to change.".into())
        })?;
        if current_password.len() > password::MAX_PASSWORD_BYTES || !password::verify(current_password, phc).await? {
            return Err(AppError::BadRequest("The current password is not right.".into()));
        }
        password::check_new(&new_password)?;
        let hash = password::hash(new_password).await?;
        s.app.store.change_password(me.user.id, &hash, session).await?;
        Ok(None::<()>)
    }
    .await;
    answer(input.form, SETTINGS, result)
}

/// "Sign out everywhere else": ends every session of the user but this one.
async fn revoke_others(
    State(s): State<ServerState>,
    SessionUser(me, session): SessionUser,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let ended = s.app.store.revoke_other_sessions(me.user.id, session).await?;
        Ok(Some(serde_json::json!({ "ended": ended })))
    }
    .await;
    answer(is_form(&headers), SETTINGS, result)
}
