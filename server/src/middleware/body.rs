//! Server function bodies, read before Leptos sees them. Leptos reads a server function's body
//! itself, past axum's `DefaultBodyLimit`, and answers any failure to read it with a 500; so the
//! body of a `/_fn/` request is read here, within [`super::BODY_LIMIT`] (413) and without stalling
//! longer than the client timeout (408), and handed on whole.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// Reads a server function's body in full, or refuses the request with a 4xx that says why.
pub async fn buffer_server_fn_bodies(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/_fn/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, super::BODY_LIMIT).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(e) => {
            let too_large = find::<http_body_util::LengthLimitError>(&e);
            let (status, message) = if too_large {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("The request is larger than {} KiB.", super::BODY_LIMIT / 1024))
            } else {
                (StatusCode::REQUEST_TIMEOUT, "The request body stopped arriving. Try again.".to_string())
            };
            (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
        }
    }
}

/// Whether `err` was caused by an `E`.
fn find<E: std::error::Error + 'static>(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<E>() {
            return true;
        }
        source = e.source();
    }
    false
}
