//! When jobs run: cron expressions (parsed by `croner`) evaluated in UTC, and the clock they are
//! evaluated against, injectable so tests can move time instead of waiting for it.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use croner::Cron;

/// A job's schedule: a cron expression of 5 fields (minute hour day month weekday) or 6 (with
/// seconds first), in UTC.
#[derive(Clone, Debug)]
pub struct Schedule {
    text: String,
    cron: Cron,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Schedule) -> bool {
        self.text == other.text
    }
}

impl Schedule {
    /// Parses a cron expression; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let cron = Cron::from_str(text).map_err(|e| format!("{text:?} is not a cron expression: {e}"))?;
        // An expression that never fires (30 February) is as wrong as one that does not parse.
        let schedule = Schedule { text: text.to_string(), cron };
        if schedule.next_after(mosaic_db::clock::now_micros()).is_none() {
            return Err(format!("{text:?} never fires"));
        }
        Ok(schedule)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first time the schedule fires strictly after `micros` (microseconds since the epoch).
    pub fn next_after(&self, micros: i64) -> Option<i64> {
        let at = DateTime::<Utc>::from_timestamp_micros(micros)?;
        self.cron.find_next_occurrence(&at, false).ok().map(|t| t.timestamp_micros())
    }
}

/// Where jobs read the time: the ages they compare against and the schedules they wait for.
pub trait Clock: Send + Sync + 'static {
    /// Now, in microseconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        mosaic_db::clock::now_micros()
    }
}

/// A clock that stands still until told to move, for tests of ages and schedules.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `micros`.
    pub fn at(micros: i64) -> ManualClock {
        ManualClock(AtomicI64::new(micros))
    }

    /// Moves the clock to `micros`.
    pub fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::SeqCst);
    }

    /// Moves the clock forward by `micros`.
    pub fn advance(&self, micros: i64) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    const SECOND: i64 = 1_000_000;

    #[test]
    fn the_originals_defaults_fire_when_expected() {
        // 2026-12-02T00:00:00Z
        let midnight = 1_796_169_600 * SECOND;
        let daily_four = Schedule::parse("0 4 * * *").expect("parses");
        assert_eq!(daily_four.next_after(midnight), Some(midnight + 4 * 3600 * SECOND));
        let six_hourly = Schedule::parse("0 */6 * * *").expect("parses");
        assert_eq!(six_hourly.next_after(midnight), Some(midnight + 6 * 3600 * SECOND));
        let every_second = Schedule::parse("* * * * * *").expect("six fields");
        assert_eq!(every_second.next_after(midnight), Some(midnight + SECOND));
    }

    #[test]
    fn malformed_expressions_are_refused_with_the_text() {
        for bad in ["", "every day", "61 * * * *", "0 25 * * *", "0 0 30 2 *"] {
            let err = Schedule::parse(bad).expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
