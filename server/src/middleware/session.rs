//! Who is asking: resolved once per request, from the session cookie or from a personal API token
//! (`Authorization: Bearer …`), stored in the request's extensions as the [`CurrentUser`], and read
//! back by handlers through the [`Authed`] and [`Admin`] extractors.
//!
//! A request that carries an `Authorization` header is judged by it alone, never by a cookie it may
//! also carry: the origin check lets bearer requests through (they are not a browser's), so a
//! forged header must not fall back on the browser's ambient session. Tokens work on the JSON API
//! and the WebSocket; the pages and their server functions are the browser's, cookie only.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::error::AppError;
use app::state::{AppState, Credential, CurrentUser};

use crate::ServerState;

/// The signed-in user of a request, or a 401: what every authenticated handler takes.
pub struct Authed(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts.extensions.get::<CurrentUser>().cloned().map(Authed).ok_or(AppError::SIGNED_OUT)
    }
}

/// A signed-in browser session, not an API token: what managing one's own credentials takes
/// (creating tokens, changing the password, ending other sessions), so a token can never mint a
/// token that outlives it or end the sessions it did not open.
pub struct SessionUser(pub CurrentUser, pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for SessionUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let me = parts.extensions.get::<CurrentUser>().cloned().ok_or(AppError::SIGNED_OUT)?;
        let Some(session) = me.session_id() else {
            return Err(AppError::Forbidden(
                "API tokens cannot manage tokens, the password or sessions; do it from a signed-in browser.".into(),
            ));
        };
        Ok(SessionUser(me, session))
    }
}

/// An admin (signed in, or with an admin-scoped token): what every admin handler takes. Anyone else
/// gets a 404, so the admin area does not reveal that it exists.
pub struct Admin(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts.extensions.get::<CurrentUser>().filter(|me| me.is_admin()).cloned().map(Admin).ok_or(AppError::NotFound)
    }
}

/// Paths that never need the signed-in user (static files, health).
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/img/")
        || path == "/robots.txt"
        || path == "/favicon.ico"
        || path == "/healthz"
        || path == "/metrics"
}

/// Pages a signed-out visitor may see (sign-in, sign-up, and the provider sign-in round trip).
fn is_public_page(path: &str) -> bool {
    path == "/login" || path == "/signup" || path.starts_with("/auth/oidc/")
}

/// Where API tokens are accepted.
fn takes_tokens(path: &str) -> bool {
    path.starts_with("/api/") || path == "/ws"
}

/// The secret of an `Authorization: Bearer <secret>` header.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, secret) = value.split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty() && secret.len() <= 200).then_some(secret)
}

/// Resolves the request's credential and stores the user in the request's extensions. Signed-out
/// visitors of a page are sent to /login; signed-in ones of /login or /signup to /.
pub async fn resolve(State(state): State<ServerState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_static(&path) {
        return next.run(req).await;
    }
    let app: &AppState = &state.app;
    let authorization = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or_default().to_string());
    if let Some(authorization) = authorization {
        match by_token(app, &path, req.method(), &authorization).await {
            Ok(me) => {
                req.extensions_mut().insert(me);
            }
            Err(err) => return err.into_response(),
        }
        return personal(next.run(req).await);
    }
    if let Some(token) = app::auth::token_from_headers(req.headers(), app.auth.secure_cookies) {
        match app.store.resolve_session(&mosaic_db::token::hash(&token), app.auth.policy).await {
            Ok(Some(active)) => {
                req.extensions_mut()
                    .insert(CurrentUser { user: active.user, credential: Credential::Session(active.id) });
            }
            Ok(None) => {}
            Err(err) => return AppError::from(err).into_response(),
        }
    }
    let signed_in = req.extensions().get::<CurrentUser>().is_some();
    let is_page =
        req.method() == Method::GET && !path.starts_with("/api/") && !path.starts_with("/_fn/") && path != "/ws";
    if is_page && !signed_in && !is_public_page(&path) {
        return Redirect::to("/login").into_response();
    }
    if is_page && signed_in && (path == "/login" || path == "/signup") {
        return Redirect::to("/").into_response();
    }
    let res = next.run(req).await;
    if signed_in {
        personal(res)
    } else {
        res
    }
}

/// Marks an answer to a signed-in request `no-store` (it carries personal data no cache should
/// keep), unless the handler chose its own caching (content-addressed avatars, for instance).
fn personal(mut res: Response) -> Response {
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    }
    res
}

/// The user behind a bearer token, or why the request is refused: a 401 for a header that is not a
/// live token (revoked and expired tokens included), a 403 for a write with a read-only token.
async fn by_token(app: &AppState, path: &str, method: &Method, authorization: &str) -> Result<CurrentUser, AppError> {
    if !takes_tokens(path) {
        return Err(AppError::Unauthorized("API tokens work on /api/… and /ws only; pages take the session cookie."));
    }
    let secret =
        bearer(authorization).ok_or(AppError::Unauthorized("The Authorization header must be \"Bearer <token>\"."))?;
    let auth =
        app.store.resolve_api_token(&mosaic_db::token::hash(secret)).await?.ok_or(AppError::Unauthorized(
            "This API token is not valid: it was revoked, has expired, or never existed.",
        ))?;
    let credential = Credential::Token { id: auth.token.id, scope: auth.scope() };
    let me = CurrentUser { credential, user: auth.user };
    let reads_only = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !reads_only && !me.can_write() {
        return Err(AppError::Forbidden(
            "This token can only read; create a read-and-write token to change things.".into(),
        ));
    }
    Ok(me)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_bearer_header() {
        assert_eq!(super::bearer("Bearer abc"), Some("abc"));
        assert_eq!(super::bearer("bearer  abc "), Some("abc"));
        assert_eq!(super::bearer("Basic abc"), None);
        assert_eq!(super::bearer("Bearer "), None);
    }
}
