//! `GET /metrics`: how the instance is doing, in the Prometheus text format, for operators running
//! several instances. It reveals load, so it is served only when `MOSAIC_METRICS_TOKEN` is set, and
//! only to a request bearing it (`Authorization: Bearer …`); otherwise the path is not found.
//!
//! What is recorded where: requests by route, method and status with latency histograms (the
//! [`observe`](crate::middleware::observe) middleware), job runs and their durations (the jobs
//! runner); read at each scrape: pool connections in use and idle, live replies, and the bus's
//! signals sent, received and dropped, its reconnects and its lag.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::ServerState;

/// Latency buckets, in seconds: a page in milliseconds up to a slow provider call.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The process's recorder (one per process, whatever number of servers a test starts in it).
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once); `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS);
            match builder.and_then(|b| b.install_recorder()) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are not recorded");
                    None
                }
            }
        })
        .as_ref()
}

/// The `/metrics` route.
pub fn routes() -> Router<ServerState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(s): State<ServerState>, headers: HeaderMap) -> Response {
    let Some(token) = &s.metrics_token else { return StatusCode::NOT_FOUND.into_response() };
    let offered =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !offered.is_some_and(|o| same(o.as_bytes(), token.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "A metrics token is required.\n")
            .into_response();
    }
    let Some(handle) = install() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "Metrics are not recorded in this process.\n").into_response();
    };
    read_gauges(&s);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Sets what is read rather than counted: the pool, the live replies, the bus.
fn read_gauges(s: &ServerState) {
    let (size, idle) = s.app.store.pool_usage();
    metrics::gauge!("mosaic_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("mosaic_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("mosaic_live_replies").set(s.app.chat.live_count() as f64);
    let stats = s.app.store.bus().stats();
    let read = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    metrics::counter!("mosaic_bus_signals_sent_total").absolute(read(&stats.sent));
    metrics::counter!("mosaic_bus_signals_received_total").absolute(read(&stats.received));
    metrics::counter!("mosaic_bus_signals_dropped_total").absolute(read(&stats.dropped));
    metrics::counter!("mosaic_bus_reconnects_total").absolute(read(&stats.reconnects));
    metrics::gauge!("mosaic_bus_signals_pending").set(read(&stats.pending) as f64);
}
