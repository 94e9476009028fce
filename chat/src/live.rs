//! The replies being written right now, one slot per conversation.
//!
//! A send reserves its conversation's slot before it writes anything, so of two sends racing into
//! one conversation exactly one gets to save its message and start a reply; the other is told the
//! conversation is busy and nothing of it is saved. A reservation that is never filled (the write
//! failed) is released when its guard is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::events::ServerEvent;
use crate::ChatError;

/// A reply being written.
pub(crate) struct Live {
    pub user_id: Uuid,
    pub message_id: Uuid,
    pub title: String,
    pub model: String,
    pub provider: String,
    /// The text so far; held while broadcasting so a new subscriber's snapshot never misses a piece.
    pub text: Mutex<String>,
    pub events: broadcast::Sender<ServerEvent>,
    pub abort: watch::Sender<bool>,
}

enum Slot {
    /// A send holds the conversation and is saving its turn.
    Reserved,
    Writing(Arc<Live>),
}

/// The registry of live replies, by conversation.
#[derive(Default)]
pub(crate) struct LiveReplies {
    slots: Mutex<HashMap<Uuid, Slot>>,
}

impl LiveReplies {
    fn slots(&self) -> MutexGuard<'_, HashMap<Uuid, Slot>> {
        // A panic while the lock was held cannot leave the map half-changed (every change is one
        // insert or remove), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves `conversation_id` for a new reply, or says it is busy.
    pub fn reserve(self: &Arc<Self>, conversation_id: Uuid) -> Result<Reservation, ChatError> {
        let mut slots = self.slots();
        if slots.contains_key(&conversation_id) {
            return Err(ChatError::Busy);
        }
        slots.insert(conversation_id, Slot::Reserved);
        Ok(Reservation { registry: self.clone(), conversation_id, filled: false })
    }

    /// The reply being written in a conversation of `user_id`'s, if any.
    pub fn get(&self, user_id: Uuid, conversation_id: Uuid) -> Option<Arc<Live>> {
        match self.slots().get(&conversation_id) {
            Some(Slot::Writing(live)) if live.user_id == user_id => Some(live.clone()),
            _ => None,
        }
    }

    /// Frees a conversation once its reply has ended.
    pub fn finish(&self, conversation_id: Uuid) {
        self.slots().remove(&conversation_id);
    }

    /// How many replies are being written (reservations not counted).
    pub fn writing(&self) -> usize {
        self.slots().values().filter(|s| matches!(s, Slot::Writing(_))).count()
    }
}

/// A conversation held for a reply that is about to start; released on drop unless filled.
pub(crate) struct Reservation {
    registry: Arc<LiveReplies>,
    conversation_id: Uuid,
    filled: bool,
}

impl Reservation {
    /// The reply started: the slot now holds it until [`LiveReplies::finish`].
    pub fn fill(mut self, live: Arc<Live>) {
        self.registry.slots().insert(self.conversation_id, Slot::Writing(live));
        self.filled = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.filled {
            self.registry.slots().remove(&self.conversation_id);
        }
    }
}
