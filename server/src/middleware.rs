//! The middleware stack, in the order a request meets it: security headers, the cross-origin check
//! for state-changing requests, and the session lookup with the signed-out redirect.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::state::{AppState, CurrentUser};

use crate::ServerState;

/// Content Security Policy: only our own origin; inline scripts are Leptos's hydration bootstrap.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
                   style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; \
                   frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

/// Adds the security headers every response carries.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    res
}

/// Refuses state-changing requests (anything but GET, HEAD, OPTIONS) that a browser sent from
/// another site. Browsers label such requests with `Sec-Fetch-Site` or `Origin`; requests without
/// either come from non-browser clients, which carry no ambient cookies to abuse.
pub async fn cross_origin_check(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let allowed = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(origin) => {
                let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                (!host.is_empty() && origin_host == host) || state.public_origin.as_deref() == Some(origin)
            }
        },
    };
    if allowed {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": "cross-origin request refused" })))
            .into_response()
    }
}

/// Paths that never need the signed-in user (static files).
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

/// Resolves the session cookie once per request and stores the user in the request's extensions.
/// Signed-out visitors of a page are sent to /login; signed-in ones of /login or /signup to /.
pub async fn session(State(state): State<ServerState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_static(&path) {
        return next.run(req).await;
    }
    let app: &AppState = &state.app;
    let secure = app.auth.secure_cookies;
    if let Some(token) = app::auth::token_from_headers(req.headers(), secure) {
        match app.store.resolve_session(&mosaic_db::token::hash(&token), app.auth.policy).await {
            Ok(Some(active)) => {
                req.extensions_mut().insert(CurrentUser { user: active.user, session_id: active.id });
            }
            Ok(None) => {}
            Err(err) => return crate::error::ApiError::from(err).into_response(),
        }
    }
    let signed_in = req.extensions().get::<CurrentUser>().is_some();
    let is_page = req.method() == Method::GET && !path.starts_with("/api/") && !path.starts_with("/_fn/");
    if is_page && !signed_in && !is_public_page(&path) {
        return Redirect::to("/login").into_response();
    }
    if is_page && signed_in && is_public_page(&path) {
        return Redirect::to("/").into_response();
    }
    next.run(req).await
}
