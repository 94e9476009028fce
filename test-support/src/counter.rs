//! Counting the SQL statements an operation runs and the pool checkouts it makes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

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
/// data layer turns on at TRACE level), so the count is measured, not declared. `f` runs inside a
/// span of its own and only events inside that span count: other tests of the same binary run
/// their queries at the same time, and sqlx's SQLite worker thread enters the caller's span for
/// each command, so the attribution holds for both engines. A test binary that counts must not
/// install another global tracing subscriber.
pub async fn count_work<F, T>(f: F) -> (T, Work)
where
    F: std::future::Future<Output = T>,
{
    installed();
    let counters = Arc::new(Counters::default());
    let span = tracing::info_span!(SECTION);
    span.with_subscriber(|(id, dispatch)| {
        if let Some(span) = dispatch.downcast_ref::<tracing_subscriber::Registry>().and_then(|r| r.span(id)) {
            span.extensions_mut().insert(counters.clone());
        }
    });
    let out = f.instrument(span).await;
    (out, counters.read())
}

/// Counts every statement and checkout in the process while `f` runs, whichever task runs them:
/// for work `f` causes on other tasks, such as a request served by an in-process server. One such
/// section runs at a time, and a binary that uses it holds one test (other tests' queries would
/// count too).
pub async fn count_process_work<F, T>(f: F) -> (T, Work)
where
    F: std::future::Future<Output = T>,
{
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let process = installed();
    let _turn = TURN.lock().await;
    let before = process.read();
    let out = f.await;
    let after = process.read();
    (out, Work { statements: after.statements - before.statements, checkouts: after.checkouts - before.checkouts })
}

/// Installs the counting subscriber once per test binary; returns the process-wide counters.
fn installed() -> &'static Counters {
    static PROCESS: OnceLock<Arc<Counters>> = OnceLock::new();
    PROCESS.get_or_init(|| {
        let process = Arc::new(Counters::default());
        let subscriber = tracing_subscriber::registry().with(Counting(process.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this test binary");
        process
    })
}

/// The name of the span a counting section runs in.
const SECTION: &str = "mosaic_test_counting_section";

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

/// Adds each sqlx event to the process-wide counters and to those of the counting section it
/// happened in, if any.
struct Counting(Arc<Counters>);

impl<S> tracing_subscriber::Layer<S> for Counting
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let target = event.metadata().target();
        if target != "sqlx::pool::acquire" && target != "sqlx::query" {
            return;
        }
        let section = ctx
            .event_scope(event)
            .and_then(|mut scope| scope.find_map(|span| span.extensions().get::<Arc<Counters>>().cloned()));
        let add = |field: fn(&Counters) -> &AtomicUsize| {
            field(&self.0).fetch_add(1, Ordering::SeqCst);
            if let Some(section) = &section {
                field(section).fetch_add(1, Ordering::SeqCst);
            }
        };
        if target == "sqlx::pool::acquire" {
            add(|c| &c.checkouts);
            return;
        }
        // Connection set-up (SQLite's PRAGMAs when the pool opens a connection) is not the
        // operation's own work; everything else counts.
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if !summary.0.trim_start().to_ascii_uppercase().starts_with("PRAGMA") {
            add(|c| &c.statements);
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
