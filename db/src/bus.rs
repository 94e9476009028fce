//! The bus: what one instance must tell the others that share its database, with no other server to
//! run. A reply's pieces and its end (so a tab on another instance can follow it), Stop pressed on
//! another instance, a reply starting, a credential ending (so every instance closes its sockets).
//!
//! One small trait, [`Transport`], carries the signals between instances; the in-process broadcast
//! is the whole bus of a single instance (SQLite), [`PgNotify`] carries them over PostgreSQL's
//! `LISTEN/NOTIFY` (with sqlx's listener, which reconnects), and [`RedisPubSub`] over Redis or
//! Valkey pub/sub when `MOSAIC_BUS_URL` names one. Signals are delivered in this process at
//! once and sent to the others in the order they were published. NOTIFY takes a global lock at
//! commit and caps a payload under 8 000 bytes, so the chat batches a reply's pieces (about every
//! 100 ms, at most [`MAX_DELTA_CHARS`] characters a signal), never one NOTIFY per token.
//!
//! A listener that lost its connection may have missed signals: it says so in the logs, reconnects
//! with backoff, and delivers [`Signal::Missed`], upon which followers rebuild from the saved text
//! and sockets ask the database whether their credential still holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::revocations::Revoked;

/// The PostgreSQL channel every instance listens on.
pub const CHANNEL: &str = "mosaic_bus";
/// The most characters of reply text one [`Signal::Delta`] carries: even escaped as `\u00XX` (six
/// bytes a character) it stays far under NOTIFY's 8 000-byte payload.
pub const MAX_DELTA_CHARS: usize = 1000;
/// NOTIFY refuses payloads of 8 000 bytes or more; a larger signal is dropped with an error.
const MAX_PAYLOAD_BYTES: usize = 7900;
/// Signals sent in one statement at most.
const MAX_BATCH: usize = 256;
/// NOTIFY for each payload of the array, in its order, in one transaction.
const SEND_BATCH: &str = "SELECT pg_notify($1, payload)
     FROM (SELECT payload FROM unnest($2::text[]) WITH ORDINALITY AS queued (payload, n) ORDER BY n) ordered";
/// Signals kept for local listeners that fall behind (a listener that lags treats it as missed).
const CAPACITY: usize = 4096;

/// What instances tell each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub enum Signal {
    /// A credential ended: sockets opened with it close.
    Revoked { revoked: Revoked },
    /// A reply started in `conversation`, owned by `owner`: that user's tabs following the
    /// conversation join it.
    Started { conversation: Uuid, owner: Uuid },
    /// Reply text from character `offset` on (characters, not bytes, of the reply's text).
    Delta { conversation: Uuid, message: Uuid, offset: usize, text: String },
    /// The reply ended and is saved, `chars` characters long; `event` is the `finished` event.
    Finished { conversation: Uuid, message: Uuid, chars: usize, event: serde_json::Value },
    /// `user` pressed Stop on the reply of `conversation`; the instance writing it stops it.
    Abort { conversation: Uuid, user: Uuid },
    /// A follower needs the reply's text saved now (it joined, or missed a piece); the writer
    /// saves it and answers [`Signal::Saved`].
    Flush { message: Uuid },
    /// The reply's text is saved as far as the pieces sent so far.
    Saved { conversation: Uuid, message: Uuid },
    /// Local only: this instance's listener was cut off and signals may have been missed.
    Missed,
}

impl Signal {
    /// Which local listeners a signal is for: sockets hear about credentials, the chat about
    /// replies, so a socket is not woken by every piece of every reply on the cluster.
    fn topic(&self) -> Topic {
        match self {
            Signal::Revoked { .. } => Topic::Sessions,
            Signal::Missed => Topic::Both,
            _ => Topic::Replies,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Topic {
    Sessions,
    Replies,
    Both,
}

/// A signal as it travels, with the instance that sent it.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The sending instance (it has delivered the signal to itself already).
    o: Uuid,
    /// When it was published (microseconds since the epoch), for the lag histogram.
    a: i64,
    s: Signal,
}

/// Carries signals to the other instances. Implementations: [`PgNotify`]; none for one instance.
pub trait Transport: Send + Sync + 'static {
    /// Starts sending what `outgoing` yields to the other instances, in order, and delivering what
    /// they send to `local` (with [`Local::deliver`]). Called once, inside the runtime.
    fn start(&self, outgoing: mpsc::UnboundedReceiver<String>, local: Local);
}

/// Counters for operators: how the bus is doing (the lag of received signals is the
/// `mosaic_bus_lag_seconds` histogram).
#[derive(Debug, Default)]
pub struct BusStats {
    /// Signals sent to other instances.
    pub sent: AtomicU64,
    /// Signals received from other instances.
    pub received: AtomicU64,
    /// Times the listener lost its connection.
    pub reconnects: AtomicU64,
    /// Signals that could not be sent (too large, or the database refused).
    pub dropped: AtomicU64,
    /// Signals queued but not sent yet.
    pub pending: AtomicU64,
}

/// This instance's end of the bus: local delivery, by topic.
#[derive(Clone, Debug)]
pub struct Local {
    instance: Uuid,
    sessions: broadcast::Sender<Signal>,
    replies: broadcast::Sender<Signal>,
    stats: Arc<BusStats>,
}

impl Local {
    /// Delivers a signal to this instance's listeners.
    fn send(&self, signal: &Signal) {
        let topic = signal.topic();
        if matches!(topic, Topic::Sessions | Topic::Both) {
            let _ = self.sessions.send(signal.clone());
        }
        if matches!(topic, Topic::Replies | Topic::Both) {
            let _ = self.replies.send(signal.clone());
        }
    }

    /// Delivers a payload another instance sent; this instance's own (already delivered when
    /// published) and unreadable ones are skipped.
    pub fn deliver(&self, payload: &str) {
        match serde_json::from_str::<Envelope>(payload) {
            Ok(envelope) if envelope.o == self.instance => {}
            Ok(envelope) => {
                self.stats.received.fetch_add(1, Ordering::Relaxed);
                let lag = crate::clock::now_micros().saturating_sub(envelope.a).max(0);
                metrics::histogram!("mosaic_bus_lag_seconds").record(lag as f64 / 1e6);
                self.send(&envelope.s);
            }
            Err(e) => tracing::warn!(error = %e, "an unreadable signal on the bus was skipped"),
        }
    }

    /// Tells listeners that signals may have been missed.
    pub fn missed(&self) {
        self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
        self.send(&Signal::Missed);
    }
}

/// The bus of one instance; cheap to clone.
#[derive(Clone)]
pub struct Bus(Arc<Inner>);

struct Inner {
    local: Local,
    transport: Option<Box<dyn Transport>>,
    /// The queue to the transport, made when the bus is first used (inside the runtime).
    outgoing: OnceLock<mpsc::UnboundedSender<String>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("instance", &self.0.local.instance).field("shared", &self.shared()).finish()
    }
}

impl Bus {
    /// The bus of a single instance: signals stay in this process.
    pub fn local() -> Bus {
        Bus::with(None)
    }

    /// A bus whose signals also travel over `transport` to the other instances.
    pub fn over(transport: impl Transport) -> Bus {
        Bus::with(Some(Box::new(transport)))
    }

    fn with(transport: Option<Box<dyn Transport>>) -> Bus {
        let local = Local {
            instance: Uuid::now_v7(),
            sessions: broadcast::channel(CAPACITY).0,
            replies: broadcast::channel(CAPACITY).0,
            stats: Arc::default(),
        };
        Bus(Arc::new(Inner { local, transport, outgoing: OnceLock::new() }))
    }

    /// This instance's id: random per process, recorded with the replies it writes.
    pub fn instance(&self) -> Uuid {
        self.0.local.instance
    }

    /// Whether other instances may be listening (so replies must be announced and followed over
    /// the bus).
    pub fn shared(&self) -> bool {
        self.0.transport.is_some()
    }

    /// How the bus is doing.
    pub fn stats(&self) -> &BusStats {
        &self.0.local.stats
    }

    /// Starts the transport on first use, so a store that never uses the bus holds no listener.
    fn outgoing(&self) -> Option<&mpsc::UnboundedSender<String>> {
        let transport = self.0.transport.as_ref()?;
        Some(self.0.outgoing.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            transport.start(rx, self.0.local.clone());
            tx
        }))
    }

    /// Delivers `signal` here at once and sends it to every other instance.
    pub fn publish(&self, signal: Signal) {
        self.0.local.send(&signal);
        let Some(outgoing) = self.outgoing() else { return };
        let payload =
            match serde_json::to_string(&Envelope { o: self.instance(), a: crate::clock::now_micros(), s: signal }) {
                Ok(p) if p.len() <= MAX_PAYLOAD_BYTES => p,
                Ok(p) => {
                    self.stats().dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(bytes = p.len(), "a signal too large for the bus was not sent");
                    return;
                }
                Err(_) => return,
            };
        self.stats().pending.fetch_add(1, Ordering::Relaxed);
        if outgoing.send(payload).is_err() {
            self.stats().pending.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Signals about credentials, from every instance, from now on.
    pub fn sessions(&self) -> broadcast::Receiver<Signal> {
        self.outgoing();
        self.0.local.sessions.subscribe()
    }

    /// Signals about replies, from every instance, from now on.
    pub fn replies(&self) -> broadcast::Receiver<Signal> {
        self.outgoing();
        self.0.local.replies.subscribe()
    }

    /// Waits until what was published has been handed to the database (at shutdown), at most
    /// `within`.
    pub async fn drained(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.stats().pending.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The PostgreSQL transport: `pg_notify` on the pool to send, one listening connection to receive.
pub struct PgNotify {
    pool: sqlx::PgPool,
}

impl PgNotify {
    /// A transport over the store's pool (the listener takes one connection of its own).
    pub fn new(pool: sqlx::PgPool) -> PgNotify {
        PgNotify { pool }
    }
}

impl Transport for PgNotify {
    fn start(&self, mut outgoing: mpsc::UnboundedReceiver<String>, local: Local) {
        let pool = self.pool.clone();
        let stats = local.stats.clone();
        // Sending, in order: what waits in the queue goes in one statement (PostgreSQL delivers a
        // transaction's notifications in the order they were made, and transactions in commit
        // order), so a burst costs one round trip, not one per signal.
        tokio::spawn(async move {
            while let Some(first) = outgoing.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match outgoing.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                let mut wait = Duration::from_millis(50);
                loop {
                    let sent = sqlx::query(SEND_BATCH).bind(CHANNEL).bind(&batch).execute(&pool).await;
                    match sent {
                        Ok(_) => {
                            stats.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                            break;
                        }
                        Err(sqlx::Error::PoolClosed) => return,
                        Err(e) if wait > Duration::from_secs(2) => {
                            stats.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                            tracing::error!(error = %e, signals = batch.len(), "signals could not be sent on the bus");
                            break;
                        }
                        Err(_) => {
                            tokio::time::sleep(wait).await;
                            wait *= 2;
                        }
                    }
                }
                stats.pending.fetch_sub(batch.len() as u64, Ordering::Relaxed);
            }
        });
        let pool = self.pool.clone();
        tokio::spawn(listen(pool, local));
    }
}

/// Receives other instances' signals until the pool closes, reconnecting with backoff.
async fn listen(pool: sqlx::PgPool, local: Local) {
    let mut backoff = Duration::from_millis(100);
    let mut listener = loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => break l,
                Err(e) => tracing::warn!(error = %e, "the bus cannot listen yet; retrying"),
            },
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::warn!(error = %e, "the bus cannot connect yet; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    };
    let mut down = false;
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if down {
                    down = false;
                    backoff = Duration::from_millis(100);
                    tracing::info!("the bus is back; followers rebuild from the saved text");
                    local.missed();
                }
                local.deliver(notification.payload());
            }
            Ok(None) => {
                // The connection was lost (sqlx reconnects on the next call): whatever was sent
                // meanwhile is gone.
                tracing::warn!("the bus lost its connection to PostgreSQL; reconnecting");
                down = true;
                local.missed();
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                if !down {
                    tracing::warn!(error = %e, "the bus is down; reconnecting");
                }
                down = true;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The Redis (or Valkey) transport, for deployments that run one already
/// (`MOSAIC_BUS_URL=redis://…`): `PUBLISH` on a multiplexed connection to send, one subscribed
/// connection to receive, each reconnected with backoff.
pub struct RedisPubSub {
    client: redis::Client,
}

impl RedisPubSub {
    /// A transport to the server at `url` (connected when the bus is first used).
    pub fn new(url: &str) -> crate::DbResult<RedisPubSub> {
        let client = redis::Client::open(url)
            .map_err(|e| crate::DbError::Invalid(format!("MOSAIC_BUS_URL is not a Redis URL: {e}")))?;
        Ok(RedisPubSub { client })
    }
}

impl Transport for RedisPubSub {
    fn start(&self, mut outgoing: mpsc::UnboundedReceiver<String>, local: Local) {
        let client = self.client.clone();
        let stats = local.stats.clone();
        tokio::spawn(async move {
            let mut connection: Option<redis::aio::MultiplexedConnection> = None;
            while let Some(payload) = outgoing.recv().await {
                let mut wait = Duration::from_millis(50);
                loop {
                    if connection.is_none() {
                        connection = client.get_multiplexed_async_connection().await.ok();
                    }
                    let sent = match connection.as_mut() {
                        Some(c) => redis::cmd("PUBLISH").arg(CHANNEL).arg(&payload).query_async::<i64>(c).await.is_ok(),
                        None => false,
                    };
                    if sent {
                        stats.sent.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    connection = None;
                    if wait > Duration::from_secs(2) {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::error!("a signal could not be sent on the bus (Redis)");
                        break;
                    }
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                stats.pending.fetch_sub(1, Ordering::Relaxed);
            }
        });
        let client = self.client.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            let mut first = true;
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                        Ok(()) => {
                            if !first {
                                tracing::info!("the bus is back; followers rebuild from the saved text");
                                local.missed();
                            }
                            first = false;
                            backoff = Duration::from_millis(100);
                            let mut messages = pubsub.on_message();
                            while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
                                if let Ok(payload) = message.get_payload::<String>() {
                                    local.deliver(&payload);
                                }
                            }
                            tracing::warn!("the bus lost its connection to Redis; reconnecting");
                            local.missed();
                        }
                        Err(e) => tracing::warn!(error = %e, "the bus cannot subscribe yet; retrying"),
                    },
                    Err(e) => tracing::warn!(error = %e, "the bus cannot reach Redis; retrying"),
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
    }
}
