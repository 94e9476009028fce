//! Every request gets an id and is measured.
//!
//! The id is taken from `X-Request-Id` when the client (or a proxy in front) sent a sane one (1 to
//! 128 letters, digits, `-`, `_`, `.`), made otherwise; it names the request's span, so every log
//! line written while serving it carries it, and it is sent back in the response's
//! `X-Request-Id`. An operator can follow one request through a proxy and several instances.
//!
//! The request is counted by route (the matched path, never the raw one: ids in paths would make
//! a series per conversation), method and status, and its latency recorded (see [`crate::telemetry`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request id header, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The client's id if it is sane, else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

/// Gives the request its id and span, and records its count and latency.
pub async fn observe(req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = req.method().as_str().to_string();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let started = Instant::now();
    let mut res = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let status = res.status().as_u16().to_string();
    let seconds = started.elapsed().as_secs_f64();
    metrics::counter!("mosaic_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("mosaic_http_request_duration_seconds", "route" => route, "method" => method).record(seconds);
    res
}
