//! The one origin check, for state-changing HTTP requests and for WebSocket handshakes.
//!
//! Leptos does no CSRF protection of its own, and a WebSocket handshake is a GET that carries the
//! session cookie, so both are checked here. Browsers label a request with `Sec-Fetch-Site` or
//! `Origin` (always `Origin` on a WebSocket handshake); it must be this site, or the configured public
//! origin behind a proxy. Requests with neither come from non-browser clients, which carry no
//! ambient cookies to abuse. Requests with an `Authorization` header are not checked either: they
//! carry their own credential, and the session middleware then ignores any cookie they carry.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ServerState;

/// Whether a request with these headers may change state (or open a socket).
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    (!host.is_empty() && origin_host == host) || public_origin == Some(origin)
}

/// True for a WebSocket handshake, which is checked although it is a GET.
fn is_websocket_handshake(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Refuses state-changing requests and WebSocket handshakes from another site.
pub async fn check(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let reads_only = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let own_credential = req.headers().contains_key(header::AUTHORIZATION);
    if (reads_only && !is_websocket_handshake(&req))
        || own_credential
        || same_origin(req.headers(), state.public_origin.as_deref())
    {
        return next.run(req).await;
    }
    (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": "cross-origin request refused" }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn only_this_site_or_the_public_origin_passes() {
        assert!(same_origin(&headers(&[]), None), "no browser headers: not a browser");
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), None));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")]), None));
        let from = |origin| headers(&[("origin", origin), ("host", "chat.local:3000")]);
        assert!(same_origin(&from("http://chat.local:3000"), None));
        assert!(!same_origin(&from("http://evil.example"), None));
        assert!(same_origin(&from("https://chat.example.com"), Some("https://chat.example.com")));
    }
}
