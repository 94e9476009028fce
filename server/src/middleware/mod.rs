//! The middleware stack, assembled in one place ([`stack`]). In the order a request meets it:
//!
//! 0. the request's id, span and measurements ([`observe`]);
//! 0. who the client is, from the peer or a trusted proxy's forwarding headers ([`client`]);
//! 1. compression of the response (pages on the fly; static files are precompressed, events never);
//! 2. `Cache-Control` for pages ([`crate::site::cache_pages`]);
//! 3. the security headers every response carries ([`headers`]);
//! 4. the Host check against DNS rebinding ([`host`]);
//! 5. the origin check for state-changing requests and WebSocket handshakes ([`origin`]);
//! 6. the session: the signed-in user of the request, the signed-out redirect, and `no-store` on
//!    what it answers them ([`session`]);
//! 7. the request body limit (server functions' bodies read whole first, [`body`]), and the body timeout: a client that stops sending its body for
//!    [`crate::ServerState::client_timeout`] is answered 408 (the header-read timeout is the
//!    accept loop's, [`crate::listen`]).

pub mod body;
pub mod client;
pub mod headers;
pub mod host;
pub mod observe;
pub mod origin;
pub mod session;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::timeout::RequestBodyTimeoutLayer;

pub use session::{Admin, Authed, SessionUser};

use crate::ServerState;

/// The largest request body accepted (avatar uploads set their own, larger, limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Wraps `routes` in the whole middleware stack.
pub fn stack(routes: Router<ServerState>, state: &ServerState) -> Router<ServerState> {
    routes
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(body::buffer_server_fn_bodies))
        .layer(RequestBodyTimeoutLayer::new(state.client_timeout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::resolve))
        .layer(axum::middleware::from_fn_with_state(state.clone(), origin::check))
        .layer(axum::middleware::from_fn_with_state(state.clone(), host::check))
        .layer(axum::middleware::from_fn_with_state(state.clone(), headers::security))
        .layer(axum::middleware::from_fn(crate::site::cache_pages))
        // Level 5 on the fly (tower-http's default is 4): the dashboard's HTML comes out 7 % smaller
        // for about half a millisecond more CPU per page; static files are precompressed at 11.
        .layer(CompressionLayer::new().br(true).gzip(true).zstd(true).quality(CompressionLevel::Precise(5)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client::resolve))
        .layer(axum::middleware::from_fn(observe::observe))
}
