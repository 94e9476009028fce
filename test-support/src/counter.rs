//! Counting the SQL statements an operation runs and the pool checkouts it makes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tracing_subscriber::layer::SubscriberExt;

/// What an operation cost the database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// SQL statements executed. sqlx logs no event for a transaction's `BEGIN` and `COMMIT`, nor
    /// for connection set-up, so those are not counted.
    pub statements: usize,
    /// Connections taken from the pool.
    pub checkouts: usize,
}

/// Counts the SQL statements sqlx executes while `f` runs (see [`count_work`]).
pub async fn count_statements<F, T>(f: F) -> (T, usize)
where
    F: std::future::Future<Output = T>,
{
    let (out, work) = count_work(f).await;
    (out, work.statements)
}

/// Counts the statements sqlx executes and the pool checkouts it makes while `f` runs, from sqlx's
/// own events (target `sqlx::query` per statement, `sqlx::pool::acquire` per checkout, which the
/// data layer turns on at TRACE level), so the count is measured, not declared. The counters are
/// global (SQLite runs statements on its own worker thread), so one counting section runs at a time,
/// and a test binary that counts must not install another global tracing subscriber.
pub async fn count_work<F, T>(f: F) -> (T, Work)
where
    F: std::future::Future<Output = T>,
{
    static COUNTERS: OnceLock<Arc<Counters>> = OnceLock::new();
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let counters = COUNTERS.get_or_init(|| {
        let counters = Arc::new(Counters::default());
        let subscriber = tracing_subscriber::registry().with(Counting(counters.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this test binary");
        counters
    });
    let _turn = TURN.lock().await;
    let before = counters.read();
    let out = f.await;
    let after = counters.read();
    (out, Work { statements: after.statements - before.statements, checkouts: after.checkouts - before.checkouts })
}

#[derive(Default)]
struct Counters {
    statements: AtomicUsize,
    checkouts: AtomicUsize,
}

impl Counters {
    fn read(&self) -> Work {
        Work { statements: self.statements.load(Ordering::SeqCst), checkouts: self.checkouts.load(Ordering::SeqCst) }
    }
}

struct Counting(Arc<Counters>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Counting {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        match event.metadata().target() {
            "sqlx::pool::acquire" => {
                self.0.checkouts.fetch_add(1, Ordering::SeqCst);
            }
            "sqlx::query" => {
                // Connection set-up (SQLite's PRAGMAs when the pool opens a connection) is not the
                // operation's own work; everything else counts.
                let mut summary = Summary(String::new());
                event.record(&mut summary);
                if !summary.0.trim_start().to_ascii_uppercase().starts_with("PRAGMA") {
                    self.0.statements.fetch_add(1, Ordering::SeqCst);
                }
            }
            _ => {}
        }
    }
}

struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}").trim_matches('"').to_string();
        }
    }
}
