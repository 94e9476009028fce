//! The session: resolved from the cookie once per request, stored in the request's extensions as
//! the [`CurrentUser`], and read back by handlers through the [`Authed`] extractor.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::error::AppError;
use app::state::{AppState, CurrentUser};

use crate::ServerState;

/// The signed-in user of a request, or a 401: what every authenticated handler takes.
pub struct Authed(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        parts.extensions.get::<CurrentUser>().cloned().map(Authed).ok_or(AppError::SIGNED_OUT)
    }
}

/// Paths that never need the signed-in user (static files, health).
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/img/")
        || path == "/robots.txt"
        || path == "/favicon.ico"
        || path == "/healthz"
}

/// Pages a signed-out visitor may see.
fn is_public_page(path: &str) -> bool {
    path == "/login" || path == "/signup"
}

/// Resolves the session cookie and stores the user in the request's extensions. Signed-out
/// visitors of a page are sent to /login; signed-in ones of /login or /signup to /.
pub async fn resolve(State(state): State<ServerState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_static(&path) {
        return next.run(req).await;
    }
    let app: &AppState = &state.app;
    if let Some(token) = app::auth::token_from_headers(req.headers(), app.auth.secure_cookies) {
        match app.store.resolve_session(&mosaic_db::token::hash(&token), app.auth.policy).await {
            Ok(Some(active)) => {
                req.extensions_mut().insert(CurrentUser { user: active.user, session_id: active.id });
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
    if is_page && signed_in && is_public_page(&path) {
        return Redirect::to("/").into_response();
    }
    next.run(req).await
}
