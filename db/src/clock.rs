//! Wall-clock time in the unit the schema stores: microseconds since the Unix epoch, UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds in one second, for readable duration arithmetic.
pub const SECOND: i64 = 1_000_000;

/// Now, in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)).unwrap_or(0)
}
