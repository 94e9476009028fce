//! Sign-in through OpenID Connect providers (Keycloak, Authentik, Authelia, WorkOS AuthKit, Google,
//! Microsoft Entra, …), any number of them, from the environment (see [`crate::config`]).
//!
//! The round trip: `GET /auth/oidc/<id>` starts a sign-in (PKCE, `state`, `nonce`), keeps the
//! verifier and nonce in `verifications` under the hash of the state (so any instance can finish
//! it, once), binds the state to this browser with a short-lived cookie (so nobody can finish their
//! own sign-in in someone else's browser), and sends the browser to the provider. The provider
//! sends it back to `GET /auth/oidc/<id>/callback`, which checks the state against the cookie,
//! takes the kept values (a second use finds nothing), exchanges the code, verifies the ID token
//! ([`provider`]), finds or creates the user (`accounts` by provider and subject; an existing email
//! account is linked only when the provider verified the email and the operator allows linking),
//! refuses a banned user, and signs the browser in. Every failure returns to the sign-in page with
//! a sentence saying what happened, never a 500.

pub mod provider;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mosaic_db::accounts::{LinkPolicy, ProviderIdentity};
use mosaic_db::throttle::{Client, Verdict, PROVIDER_STARTS, WINDOW};
use mosaic_db::DbError;
use serde::{Deserialize, Serialize};

use app::state::ClientAddr;

use crate::ServerState;
use provider::{Provider, SignInError};

/// One provider as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProviderConfig {
    /// The id in URLs and in `accounts.provider_id` (MOSAIC_OIDC_PROVIDERS).
    pub id: String,
    /// The button's label (`_NAME`).
    pub name: String,
    /// The issuer, exactly as the provider writes it (`_ISSUER`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Whether an existing account with the same verified email is linked (`_LINK_EXISTING`).
    pub link_existing: bool,
    /// Where the provider sends the browser back: `<MOSAIC_PUBLIC_URL>/auth/oidc/<id>/callback`.
    pub redirect_url: String,
}

/// Providers, the time they get to answer, and who becomes admin through them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OidcSettings {
    pub providers: Vec<OidcProviderConfig>,
    /// MOSAIC_OIDC_TIMEOUT_SECS: each request to a provider gives up after this.
    pub timeout: Duration,
    /// MOSAIC_ADMIN_EMAIL, lower-cased: accounts created through a provider with one of these
    /// emails become admin.
    pub admin_emails: Vec<String>,
}

/// How long a started sign-in may take to come back.
pub const SIGN_IN_TTL: Duration = Duration::from_secs(10 * 60);
/// The cookie that binds a sign-in's `state` to the browser that started it.
const STATE_COOKIE: &str = "mosaic_oidc_state";

/// The configured providers.
pub struct Oidc {
    providers: Vec<Arc<Provider>>,
    admin_emails: Vec<String>,
}

impl Oidc {
    /// The providers of `settings` (nothing is fetched until someone signs in).
    pub fn new(settings: &OidcSettings) -> Result<Oidc, String> {
        let providers = settings
            .providers
            .iter()
            .map(|c| Provider::new(c.clone(), settings.timeout).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Oidc { providers, admin_emails: settings.admin_emails.clone() })
    }

    /// Each provider's id and button label, for the sign-in page.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.providers.iter().map(|p| (p.config.id.clone(), p.config.name.clone())).collect()
    }

    fn provider(&self, id: &str) -> Option<Arc<Provider>> {
        self.providers.iter().find(|p| p.config.id == id).cloned()
    }
}

/// The routes.
pub fn routes() -> Router<ServerState> {
    Router::new().route("/auth/oidc/{id}", get(start)).route("/auth/oidc/{id}/callback", get(callback))
}

/// What is kept between the start and the callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    pkce_verifier: String,
    nonce: String,
}

/// The `verifications` identifier of a sign-in's state: its hash, so the table holds nothing a
/// callback could be forged from.
fn identifier(state: &str) -> String {
    format!("oidc:{}", URL_SAFE_NO_PAD.encode(mosaic_db::token::hash(state)))
}

/// Back to the sign-in page with `message` shown.
fn fail(message: &str) -> Response {
    let mut response = app::auth::redirect_with_flash("/login", message);
    clear_state_cookie(&mut response);
    response
}

fn clear_state_cookie(response: &mut Response) {
    let cookie = format!("{STATE_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

const UNKNOWN: &str = "That sign-in provider is not configured here.";
const EXPIRED: &str = "This sign-in has expired, was already used, or was started in another browser. Start again.";

async fn start(State(s): State<ServerState>, Path(id): Path<String>, extensions: axum::http::Extensions) -> Response {
    let Some(provider) = s.oidc.provider(&id) else { return fail(UNKNOWN) };
    // Each start writes a pending state: a client may start only so many.
    let client = ClientAddr::of(&extensions).map_or_else(Client::unknown, Client::from_ip);
    match s.app.store.reserve_for_client("provider-start", &client, PROVIDER_STARTS, WINDOW).await {
        Ok(Verdict::Go { .. }) => {}
        Ok(Verdict::Wait(wait)) => {
            return fail(app::error::AppError::slow_down("Too many sign-ins were started from here.", wait).message());
        }
        Err(e) => return fail(app::error::AppError::from(e).message()),
    }
    let started = match provider.start().await {
        Ok(started) => started,
        Err(SignInError(message)) => return fail(&message),
    };
    let pending = Pending { provider: id, pkce_verifier: started.pkce_verifier, nonce: started.nonce };
    let Ok(value) = serde_json::to_string(&pending) else { return fail("Sign-in could not start. Try again.") };
    let expires_at = mosaic_db::clock::now_micros() + SIGN_IN_TTL.as_micros() as i64;
    if let Err(e) = s.app.store.put_verification(&identifier(&started.state), &value, expires_at).await {
        tracing::error!(error = %e, "cannot keep a sign-in's state");
        return fail(app::error::AppError::from(e).message());
    }
    let mut response = Redirect::to(&started.url).into_response();
    let secure = if s.app.auth.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        started.state,
        SIGN_IN_TTL.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The callback's parameters (read by hand, so a malformed query is the sign-in page's message too).
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(s): State<ServerState>,
    Path(id): Path<String>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(provider) = s.oidc.provider(&id) else { return fail(UNKNOWN) };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let peer = ClientAddr::of(&extensions).map(|ip| ip.to_string());
    let q = Callback {
        code: q.get("code").cloned(),
        state: q.get("state").cloned(),
        error: q.get("error").cloned(),
        error_description: q.get("error_description").cloned(),
    };
    if let Some(error) = q.error {
        // Anyone can send a browser here with any error text: log it, show a fixed sentence.
        let description: String = q.error_description.unwrap_or_default().chars().take(200).collect();
        tracing::info!(provider = %id, %error, %description, "the provider did not sign the user in");
        let why = match error.as_str() {
            "access_denied" => "access was denied or cancelled",
            "login_required" | "interaction_required" | "consent_required" => "you need to sign in there first",
            "temporarily_unavailable" | "server_error" => "it is having trouble; try again later",
            _ => "it answered with an error",
        };
        return fail(&format!("{} did not sign you in: {why}.", provider.config.name));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else { return fail(EXPIRED) };
    // The state must be the one this browser started with, and kept: once.
    if app::auth::cookie(&headers, STATE_COOKIE).as_deref() != Some(state.as_str()) {
        return fail(EXPIRED);
    }
    let pending = match s.app.store.take_verification(&identifier(&state)).await {
        Ok(Some(value)) => serde_json::from_str::<Pending>(&value).ok().filter(|p| p.provider == id),
        Ok(None) => None,
        Err(e) => return fail(app::error::AppError::from(e).message()),
    };
    let Some(pending) = pending else { return fail(EXPIRED) };
    let verified = match provider.finish(code, pending.pkce_verifier, pending.nonce).await {
        Ok(v) => v,
        Err(SignInError(message)) => return fail(&message),
    };
    let Some(email) = verified.email.filter(|e| !e.trim().is_empty()) else {
        return fail(&format!(
            "{} did not share your email address, which Mosaic needs. Allow the email scope and try again.",
            provider.config.name
        ));
    };
    let who = ProviderIdentity {
        provider: id.clone(),
        subject: verified.subject,
        name: verified.name.unwrap_or_default(),
        email_verified: verified.email_verified,
        email,
    };
    let policy = LinkPolicy {
        link_verified_email: provider.config.link_existing,
        make_admin: s.oidc.admin_emails.iter().any(|a| a.eq_ignore_ascii_case(who.email.trim())),
    };
    let user = match s.app.store.sign_in_with_provider(&who, policy).await {
        Ok((user, found)) => {
            tracing::info!(provider = %id, user = %user.id, ?found, "signed in through a provider");
            user
        }
        Err(DbError::Conflict(_)) => {
            return fail(&format!(
                "An account with the email {} already exists. Sign in with its password; it is not linked to {} \
                 because the provider did not confirm the email or linking is off.",
                who.email, provider.config.name
            ))
        }
        Err(e) => return fail(app::error::AppError::from(e).message()),
    };
    if user.banned {
        return fail("This account is suspended. Contact your administrator.");
    }
    sign_in(&s, user.id, peer.as_deref(), &headers).await
}

/// Starts a session for `user_id` and sends the browser to the dashboard with its cookie.
async fn sign_in(s: &ServerState, user_id: uuid::Uuid, ip: Option<&str>, headers: &HeaderMap) -> Response {
    let cookie = match app::auth::begin_session(&s.app, user_id, headers, ip).await {
        Ok(cookie) => cookie,
        Err(e) => return fail(app::error::AppError::from(e).message()),
    };
    let mut response = Redirect::to("/").into_response();
    clear_state_cookie(&mut response);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
