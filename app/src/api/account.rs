//! Signing up, in and out, and the user's list of sessions.

use leptos::prelude::*;
use mosaic_db::model::{ApiToken, Preference, SessionInfo};
use serde::{Deserialize, Serialize};

/// The settings page's data: who is signed in and their live sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub name: String,
    pub email: String,
    pub role: String,
    /// The avatar's key, if one was uploaded.
    pub avatar: Option<String>,
    pub current_session: uuid::Uuid,
    pub sessions: Vec<SessionInfo>,
    /// Whether the user may open the admin area and create admin-scoped tokens.
    pub is_admin: bool,
    /// Whether the account has a password (provider-only accounts have none to change).
    pub has_password: bool,
    pub tokens: Vec<ApiToken>,
    /// The effective preferences, enforced ones locked.
    pub preferences: Vec<Preference>,
    /// The secret of a token just created by a form, shown this once.
    pub new_secret: Option<String>,
    /// The latest imports, newest first.
    pub imports: Vec<mosaic_db::model::ImportJob>,
}

#[cfg(feature = "ssr")]
mod imp {
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use mosaic_db::password::{self, MAX_PASSWORD_BYTES};
    use mosaic_db::throttle::{Client, Verdict, SIGN_UP_WINDOW};
    use mosaic_db::DbError;

    use crate::api::respond::fail;
    use crate::auth;
    use crate::error::AppError;
    use crate::state::{app_state, request_parts, AppState, ClientAddr};

    /// Why sign-up was refused on a closed instance.
    const SIGN_UP_CLOSED: &str = "Sign-up is closed on this instance. Ask an administrator for an account.";

    /// The one message for a wrong email or a wrong password, so neither is revealed.
    pub const BAD_CREDENTIALS: &str = "That email and password do not match an account.";

    /// Starts a session for `user_id` ([`auth::begin_session`]) and sets its cookie on the response.
    pub async fn start_session(state: &AppState, user_id: uuid::Uuid) -> Result<(), ServerFnError> {
        let headers = request_parts().map(|p| p.headers).unwrap_or_default();
        let cookie = auth::begin_session(state, user_id, &headers, client_ip().map(|ip| ip.to_string()).as_deref())
            .await
            .map_err(fail)?;
        if let (Some(res), Ok(value)) = (use_context::<ResponseOptions>(), http::HeaderValue::from_str(&cookie)) {
            res.append_header(http::header::SET_COOKIE, value);
        }
        Ok(())
    }

    /// The client's address: the connection's peer, or the client a trusted proxy forwarded for
    /// (resolved once per request by the server's middleware into [`ClientAddr`]).
    pub fn client_ip() -> Option<std::net::IpAddr> {
        request_parts().and_then(|p| ClientAddr::of(&p.extensions))
    }

    /// The client as the throttle counts it.
    fn client() -> Client {
        client_ip().map_or_else(Client::unknown, Client::from_ip)
    }

    pub async fn sign_in(email: String, password: String) -> Result<(), ServerFnError> {
        let state = app_state()?;
        // Nothing unvalidated reaches the throttle or the hash: a malformed address is refused as
        // such, and an over-long password cannot match any account.
        let email = mosaic_db::users::clean_email(&email).map_err(fail)?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(fail(AppError::Unauthorized(BAD_CREDENTIALS)));
        }
        let client = client();
        match state.store.reserve_sign_in(&email, &client).await.map_err(fail)? {
            Verdict::Wait(wait) => {
                tracing::info!(client = client.as_str(), "sign-in refused by the throttle");
                return Err(fail(AppError::slow_down("Too many failed sign-ins from here.", wait)));
            }
            Verdict::Go { delay } => tokio::time::sleep(delay).await,
        }
        let found = state.store.find_credentials(&email).await.map_err(fail)?;
        // Verify against a decoy when the email is unknown, so both cases take the same time.
        let (user, phc) = match found {
            Some((user, phc)) => (Some(user), phc),
            None => (None, password::decoy_hash().await),
        };
        let matches = password::verify(password, phc).await.map_err(fail)?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(fail(AppError::Unauthorized(BAD_CREDENTIALS)));
        };
        if user.banned {
            return Err(fail(AppError::Forbidden("This account is suspended. Contact your administrator.".into())));
        }
        state.store.clear_sign_in(&email, &client).await.map_err(fail)?;
        start_session(&state, user.id).await?;
        leptos_axum::redirect("/");
        Ok(())
    }

    pub async fn sign_up(name: String, email: String, password: String) -> Result<(), ServerFnError> {
        let state = app_state()?;
        if !state.auth.allow_signup && state.store.count_users().await.map_err(fail)? > 0 {
            return Err(fail(AppError::Forbidden(SIGN_UP_CLOSED.into())));
        }
        // Check the fields before spending time on the hash.
        password::check_new(&password).map_err(fail)?;
        mosaic_db::users::clean_email(&email).map_err(fail)?;
        mosaic_db::users::clean_name(&name).map_err(fail)?;
        let client = client();
        if let Verdict::Wait(wait) = state
            .store
            .reserve_for_client("sign-up", &client, state.auth.sign_ups_per_hour, SIGN_UP_WINDOW)
            .await
            .map_err(fail)?
        {
            tracing::info!(client = client.as_str(), "sign-up refused by the throttle");
            return Err(fail(AppError::slow_down("Too many accounts were created from here.", wait)));
        }
        let phc = password::hash(password).await.map_err(fail)?;
        // The closed-instance rule is checked again in the transaction that creates the user, so two
        // sign-ups racing on an empty, closed instance cannot both get in.
        let user = match state.store.create_user_with_password(&email, &name, &phc, state.auth.allow_signup).await {
            Ok(user) => user,
            Err(DbError::Conflict(_)) => {
                return Err(fail(AppError::Conflict(
                    "An account with this email already exists. Sign in instead.".into(),
                )))
            }
            Err(DbError::Closed) => return Err(fail(AppError::Forbidden(SIGN_UP_CLOSED.into()))),
            Err(e) => return Err(fail(e)),
        };
        start_session(&state, user.id).await?;
        leptos_axum::redirect("/");
        Ok(())
    }
}

/// Signs in with email and password; sets the session cookie and goes to the dashboard.
#[server(prefix = "/_fn", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), ServerFnError> {
    imp::sign_in(email, password).await
}

/// Creates an account (the first one becomes admin) and signs it in.
#[server(prefix = "/_fn", endpoint = "sign_up")]
pub async fn sign_up(name: String, email: String, password: String) -> Result<(), ServerFnError> {
    imp::sign_up(name, email, password).await
}

/// Ends the current session on the server and clears the cookie.
#[server(prefix = "/_fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    use crate::state::{app_state, request_parts};
    let state = app_state()?;
    let secure = state.auth.secure_cookies;
    if let Some(token) = request_parts().and_then(|p| crate::auth::token_from_headers(&p.headers, secure)) {
        state
            .store
            .revoke_session_by_token(&mosaic_db::token::hash(&token))
            .await
            .map_err(crate::api::respond::fail)?;
    }
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(value) = http::HeaderValue::from_str(&crate::auth::clear_cookie(secure)) {
            res.append_header(http::header::SET_COOKIE, value);
        }
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user's account, sessions, tokens and preferences, and the secret of a token just
/// created by the settings form (read from its one-time cookie, which is cleared here).
#[server(prefix = "/_fn", endpoint = "account")]
pub async fn account() -> Result<AccountView, ServerFnError> {
    use crate::api::respond::{fail, require_user};
    use crate::state::request_parts;
    let me = require_user()?;
    let state = crate::state::app_state()?;
    let sessions = state.store.list_sessions(me.user.id).await.map_err(fail)?;
    let tokens = state.store.list_api_tokens(me.user.id).await.map_err(fail)?;
    let preferences = state.store.effective_preferences(me.user.id).await.map_err(fail)?;
    let has_password = state.store.password_hash(me.user.id).await.map_err(fail)?.is_some();
    let imports = state.store.recent_imports(me.user.id, 5).await.map_err(fail)?;
    let new_secret = request_parts().and_then(|p| crate::auth::cookie(&p.headers, crate::auth::NEW_TOKEN_COOKIE));
    if new_secret.is_some() {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            let clear = crate::auth::clear_new_token_cookie(state.auth.secure_cookies);
            if let Ok(value) = http::HeaderValue::from_str(&clear) {
                res.append_header(http::header::SET_COOKIE, value);
            }
        }
    }
    let current_session = me.session_id().unwrap_or_default();
    Ok(AccountView {
        is_admin: me.is_admin(),
        name: me.user.name,
        email: me.user.email,
        role: me.user.role.as_str().to_string(),
        avatar: me.user.image,
        current_session,
        sessions,
        has_password,
        tokens,
        preferences,
        new_secret: new_secret.filter(|s| s.starts_with(mosaic_db::api_tokens::PREFIX)),
        imports,
    })
}

/// Revokes one of the user's sessions (revoking the current one signs this browser out).
#[server(prefix = "/_fn", endpoint = "revoke_session")]
pub async fn revoke_session(id: uuid::Uuid) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, redirect_plain_form, require_user};
    let me = require_user()?;
    let state = crate::state::app_state()?;
    state.store.revoke_session(me.user.id, id).await.map_err(fail)?;
    redirect_plain_form(if Some(id) == me.session_id() { "/login" } else { "/settings" });
    Ok(())
}

/// Turns "Enter sends" in the composer on or off (the `chat.sendOnEnter` preference). The settings
/// form sends `enter_sends=on` when its box is ticked and nothing when not, as HTML checkboxes do.
#[server(prefix = "/_fn", endpoint = "set_enter_sends")]
pub async fn set_enter_sends(enter_sends: Option<String>) -> Result<(), ServerFnError> {
    use crate::api::respond::{fail, redirect_plain_form, require_user};
    let me = require_user()?;
    let store = crate::state::app_state()?.store;
    let on = enter_sends.is_some_and(|v| v != "false");
    store
        .set_preference(me.user.id, mosaic_db::preferences::SEND_ON_ENTER, &serde_json::json!(on))
        .await
        .map_err(fail)?;
    redirect_plain_form("/settings");
    Ok(())
}
