//! The security headers every response carries, among them a strict Content Security Policy: scripts
//! only from our origin or inline with this response's nonce (Leptos's hydration bootstrap carries
//! it), no inline styles, connections only to our own origin (`'self'` covers our `ws:`/`wss:`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::ServerState;

/// This response's CSP nonce: 128 random bits, fresh per response. The pages' render hands it to
/// Leptos (see [`crate::router`]), which puts it on every inline script it writes.
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    fn fresh() -> Option<CspNonce> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        Some(CspNonce(URL_SAFE_NO_PAD.encode(bytes).into()))
    }
}

/// The policy for a response whose inline scripts carry `nonce` (none: no inline script runs, and
/// the pages work as they do without JavaScript). `dev_reload` is `cargo leptos watch`'s socket.
fn policy(nonce: Option<&CspNonce>, dev_reload: Option<u32>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{}'", n.0)).unwrap_or_default();
    let reload = dev_reload.map(|port| format!(" ws://localhost:{port} ws://127.0.0.1:{port}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self'{reload}; frame-ancestors 'none'; base-uri 'self'; \
         form-action 'self'; object-src 'none'"
    )
}

/// HTTPS only, for a year, once a browser has seen the site over HTTPS (sent only when the public
/// URL is https, so a plain-http instance never locks itself out).
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the security headers.
pub async fn security(State(state): State<ServerState>, mut req: Request, next: Next) -> Response {
    let nonce = CspNonce::fresh();
    if let Some(nonce) = &nonce {
        req.extensions_mut().insert(nonce.clone());
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if state.public_origin.as_deref().is_some_and(|o| o.starts_with("https://")) {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    // Read once: the environment does not change while the server runs.
    static WATCHING: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let dev_reload =
        WATCHING.get_or_init(|| std::env::var_os("LEPTOS_WATCH").is_some()).then_some(state.leptos.reload_port);
    if let Ok(csp) = HeaderValue::from_str(&policy(nonce.as_ref(), dev_reload)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    res
}
