//! The Host check, against DNS rebinding: a page on another site can make its own name resolve to
//! this server's address (127.0.0.1 included) and then talk to it as a same-origin page, sign up
//! and chat on the owner's API keys. Such requests carry the attacker's name in `Host`, so only
//! names this server answers to are served: an IP literal, `localhost`, the public URL's host, and
//! MOSAIC_ALLOWED_HOSTS. Anything else gets 421 Misdirected Request.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ServerState;

/// The host name of a `Host` value, lower-cased, without its port or a trailing dot.
fn name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether this server answers to `host` (a `Host` header's value).
pub fn allowed(host: &str, names: &[String]) -> bool {
    let name = name(host);
    !name.is_empty()
        && (name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || names.contains(&name))
}

/// Refuses requests (and WebSocket handshakes) for a host this server does not answer to.
pub async fn check(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).or(req.uri().host()).unwrap_or("");
    if allowed(host, &state.allowed_hosts) {
        return next.run(req).await;
    }
    let message = format!(
        "This server does not answer to the host name {:?}. Its operator can add it to MOSAIC_ALLOWED_HOSTS.",
        name(host)
    );
    (StatusCode::MISDIRECTED_REQUEST, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn only_known_names_and_addresses_pass() {
        let names = vec!["chat.example.com".to_string()];
        for ok in ["127.0.0.1:3000", "[::1]:3000", "10.0.0.5", "localhost:3000", "app.localhost", "Chat.Example.com."] {
            assert!(allowed(ok, &names), "{ok}");
        }
        for refused in ["rebind.attacker.example", "attacker.example:3000", "", "chat.example.com.evil.net"] {
            assert!(!allowed(refused, &names), "{refused}");
        }
    }
}
