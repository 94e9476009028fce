//! Sending a reply's pieces to the other instances, in batches.
//!
//! NOTIFY takes a global lock at commit, so the writer of a reply never sends one signal per token:
//! it gathers the text and sends it about every [`EVERY`], or as soon as it holds
//! [`MAX_DELTA_CHARS`] characters, each signal with the character offset where its text starts.

use std::time::Duration;

use mosaic_db::bus::{Bus, Signal, MAX_DELTA_CHARS};
use tokio::time::Instant;
use uuid::Uuid;

/// How long a piece may wait before it is sent to the other instances.
pub(crate) const EVERY: Duration = Duration::from_millis(100);

/// The pieces of one reply not yet sent to the other instances.
pub(crate) struct Relay {
    bus: Bus,
    conversation: Uuid,
    message: Uuid,
    /// Text gathered since the last send, and the character offset where it starts.
    pending: String,
    pending_chars: usize,
    offset: usize,
    /// When the oldest gathered text arrived.
    since: Option<Instant>,
}

impl Relay {
    /// The relay of a reply; it sends nothing when no other instance can listen.
    pub fn new(bus: Bus, conversation: Uuid, message: Uuid) -> Relay {
        Relay { bus, conversation, message, pending: String::new(), pending_chars: 0, offset: 0, since: None }
    }

    /// Gathers a piece, sending the batch when it is full.
    pub fn push(&mut self, text: &str) {
        if !self.bus.shared() {
            return;
        }
        self.since.get_or_insert_with(Instant::now);
        self.pending.push_str(text);
        self.pending_chars += text.chars().count();
        if self.pending_chars >= MAX_DELTA_CHARS {
            self.send();
        }
    }

    /// When the gathered text must be sent, if there is any.
    pub fn due(&self) -> Option<Instant> {
        self.since.map(|since| since + EVERY)
    }

    /// Sends what is gathered, split so no signal carries more than [`MAX_DELTA_CHARS`].
    pub fn send(&mut self) {
        self.since = None;
        if self.pending.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.pending);
        let mut chars = text.chars().peekable();
        while chars.peek().is_some() {
            let part: String = chars.by_ref().take(MAX_DELTA_CHARS).collect();
            let len = part.chars().count();
            self.bus.publish(Signal::Delta {
                conversation: self.conversation,
                message: self.message,
                offset: self.offset,
                text: part,
            });
            self.offset += len;
        }
        self.pending_chars = 0;
    }
}

/// Waits until `due`, or for ever when nothing waits to be sent.
pub(crate) async fn at(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}
