//! Server-side state the pages and server functions share, and the signed-in user of a request.

use std::sync::Arc;

use leptos::prelude::*;
use mosaic_chat::Chat;
use mosaic_db::model::{Role, TokenScope, User};
use mosaic_db::revocations::Revoked;
use mosaic_db::sessions::SessionPolicy;
use mosaic_db::Store;

/// How sign-in and sessions behave, from the server's configuration.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Whether anyone may create an account (the very first account is always allowed).
    pub allow_signup: bool,
    /// Whether the session cookie carries `Secure` (HTTPS deployments).
    pub secure_cookies: bool,
    /// Idle and absolute session lifetimes.
    pub policy: SessionPolicy,
    /// The OpenID Connect providers people can sign in with: (id, button label).
    pub providers: Vec<(String, String)>,
    /// Accounts one client may create per hour (`MOSAIC_SIGN_UPS_PER_HOUR`).
    pub sign_ups_per_hour: i64,
}

/// The client a request came from: the connection's peer, or the address a trusted reverse proxy
/// forwarded for. The server's middleware puts it in every request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

impl ClientAddr {
    /// The client of a request, from its extensions (none outside a served request).
    pub fn of(extensions: &http::Extensions) -> Option<std::net::IpAddr> {
        extensions.get::<ClientAddr>().map(|c| c.0)
    }
}

/// Everything a request handler needs; provided to Leptos as context and held by the axum router.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The chat service (providers and the replies being written).
    pub chat: Arc<Chat>,
    pub auth: Arc<AuthSettings>,
}

/// What a request was authenticated by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The session cookie of a signed-in browser.
    Session(uuid::Uuid),
    /// A personal API token (`Authorization: Bearer …`) with the scope in effect (its expiry is the
    /// database's to say: see `Store::credential_ends_at`).
    Token { id: uuid::Uuid, scope: TokenScope },
}

/// The user a request is signed in as, resolved once per request by the server's middleware and
/// stored in the request's extensions.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub credential: Credential,
}

impl CurrentUser {
    /// The sign-in session, when the request came with the cookie (agent logs are filed under it).
    pub fn session_id(&self) -> Option<uuid::Uuid> {
        match self.credential {
            Credential::Session(id) => Some(id),
            Credential::Token { .. } => None,
        }
    }

    /// Whether the request may change things (a read-scoped token may not).
    pub fn can_write(&self) -> bool {
        match self.credential {
            Credential::Session(_) => true,
            Credential::Token { scope, .. } => scope.can_write(),
        }
    }

    /// Whether the request may use the admin area: an admin, signed in or with an admin-scoped token.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
            && match self.credential {
                Credential::Session(_) => true,
                Credential::Token { scope, .. } => scope == TokenScope::Admin,
            }
    }

    /// The id of the session or token the request was authenticated by.
    pub fn credential_id(&self) -> uuid::Uuid {
        match self.credential {
            Credential::Session(id) | Credential::Token { id, .. } => id,
        }
    }

    /// Whether `revoked` ends the credential this request (or socket) was authenticated by.
    pub fn ended_by(&self, revoked: &Revoked) -> bool {
        match (*revoked, self.credential) {
            (Revoked::User(id), _) => id == self.user.id,
            (Revoked::Session(id), Credential::Session(mine)) => id == mine,
            (Revoked::Token(id), Credential::Token { id: mine, .. }) => id == mine,
            _ => false,
        }
    }
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
