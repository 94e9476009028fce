//! Server-side state the pages and server functions share, and the signed-in user of a request.

use std::sync::Arc;

use leptos::prelude::*;
use mosaic_chat::Chat;
use mosaic_db::model::User;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::Store;

use crate::auth::SignInLimiter;

/// How sign-in and sessions behave, from the server's configuration.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Whether anyone may create an account (the very first account is always allowed).
    pub allow_signup: bool,
    /// Whether the session cookie carries `Secure` (HTTPS deployments).
    pub secure_cookies: bool,
    /// Idle and absolute session lifetimes.
    pub policy: SessionPolicy,
}

/// Everything a request handler needs; provided to Leptos as context and held by the axum router.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The chat service (providers and the replies being written).
    pub chat: Arc<Chat>,
    pub auth: Arc<AuthSettings>,
    pub limiter: Arc<SignInLimiter>,
}

/// The user a request is signed in as, resolved once per request by the server's middleware and
/// stored in the request's extensions.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub session_id: uuid::Uuid,
}

/// The shared state, inside a server function or a server render.
pub fn app_state() -> Result<AppState, ServerFnError> {
    use_context::<AppState>()
        .ok_or_else(|| crate::api::respond::fail(crate::error::AppError::internal("server state is missing")))
}

/// The request being served, inside a server function or a server render.
pub fn request_parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// The signed-in user of the current request, if any.
pub fn current_user() -> Option<CurrentUser> {
    request_parts().and_then(|p| p.extensions.get::<CurrentUser>().cloned())
}
