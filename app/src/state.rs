//! Server-side state the pages and server functions share, and the signed-in user of a request.

use std::sync::Arc;

use leptos::prelude::*;
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

/// A boxed future, for the chat hooks below.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What the pages need of the server's chat service, which lives in the server crate: the models
/// on offer, and sending a message (saving it and starting the reply) for forms posted without
/// JavaScript.
#[derive(Clone)]
pub struct ChatHooks {
    /// The models on offer now, as `provider/model` (never waits on a provider).
    pub models: Arc<dyn Fn() -> BoxFuture<Vec<String>> + Send + Sync>,
    /// Saves the user's message and starts a reply; `Err` carries the HTTP status and what to tell
    /// the user (the message is saved even then, unless the error says otherwise).
    #[allow(clippy::type_complexity)]
    pub send: Arc<
        dyn Fn(uuid::Uuid, uuid::Uuid, String, Option<String>) -> BoxFuture<Result<(), (http::StatusCode, String)>>
            + Send
            + Sync,
    >,
}

impl std::fmt::Debug for ChatHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChatHooks")
    }
}

/// Everything a request handler needs; provided to Leptos as context and held by the axum router.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<AuthSettings>,
    pub limiter: Arc<SignInLimiter>,
    pub chat: ChatHooks,
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
    use_context::<AppState>().ok_or_else(|| ServerFnError::new("server state is missing"))
}

/// The request being served, inside a server function or a server render.
pub fn request_parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// The signed-in user of the current request, if any.
pub fn current_user() -> Option<CurrentUser> {
    request_parts().and_then(|p| p.extensions.get::<CurrentUser>().cloned())
}
