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

/// Why a reply was stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Its user pressed stop.
    User,
    /// The server is shutting down.
    Shutdown,
}

impl Stop {
    /// The reason saved with the stopped reply.
    pub fn reason(self) -> Option<String> {
        match self {
            Stop::User => None,
            Stop::Shutdown => Some("Server shutting down".into()),
        }
    }
}

/// A reply being written.
pub(crate) struct Live {
    pub user_id: Uuid,
    /// The sign-in session that asked for it (its agent logs carry it).
    pub auth_session: Option<Uuid>,
    /// When the send was accepted, and how much history the model was sent.
    pub started: std::time::Instant,
    pub started_at: i64,
    pub history_messages: usize,
    pub prompt_chars: usize,
    pub message_id: Uuid,
    pub title: String,
    pub model: String,
    pub provider: String,
    /// The text so far; held while broadcasting so a new subscriber's snapshot never misses a piece.
    pub text: Mutex<String>,
    pub events: broadcast::Sender<ServerEvent>,
    pub abort: watch::Sender<Option<Stop>>,
    /// Woken when a follower on another instance needs the text saved now (see `mirror`).
    pub flush: tokio::sync::Notify,
}

enum Slot {
    /// A send of this user holds the conversation and is saving its turn.
    Reserved(Uuid),
    Writing(Arc<Live>),
}

impl Slot {
    fn user(&self) -> Uuid {
        match self {
            Slot::Reserved(user) => *user,
            Slot::Writing(live) => live.user_id,
        }
    }
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

    /// Reserves `conversation_id` for a new reply of `user_id`'s, or says it is busy, or that the
    /// user has `per_user` replies being written already (one user cannot take every provider slot
    /// by starting replies in many conversations).
    pub fn reserve(
        self: &Arc<Self>,
        user_id: Uuid,
        conversation_id: Uuid,
        per_user: usize,
    ) -> Result<Reservation, ChatError> {
        let mut slots = self.slots();
        if slots.contains_key(&conversation_id) {
            return Err(ChatError::Busy);
        }
        if slots.values().filter(|s| s.user() == user_id).count() >= per_user {
            return Err(ChatError::TooManyReplies(per_user));
        }
        slots.insert(conversation_id, Slot::Reserved(user_id));
        Ok(Reservation { registry: self.clone(), conversation_id, filled: false })
    }

    /// The reply being written in a conversation of `user_id`'s, if any.
    pub fn get(&self, user_id: Uuid, conversation_id: Uuid) -> Option<Arc<Live>> {
        match self.slots().get(&conversation_id) {
            Some(Slot::Writing(live)) if live.user_id == user_id => Some(live.clone()),
            _ => None,
        }
    }

    /// The reply being written with message id `message_id`, if it is written here.
    pub fn by_message(&self, message_id: Uuid) -> Option<Arc<Live>> {
        self.slots().values().find_map(|s| match s {
            Slot::Writing(live) if live.message_id == message_id => Some(live.clone()),
            _ => None,
        })
    }

    /// Frees a conversation once its reply has ended.
    pub fn finish(&self, conversation_id: Uuid) {
        self.slots().remove(&conversation_id);
    }

    /// Every reply being written, for stopping them all at shutdown.
    pub fn all(&self) -> Vec<Arc<Live>> {
        self.slots()
            .values()
            .filter_map(|s| match s {
                Slot::Writing(live) => Some(live.clone()),
                Slot::Reserved(_) => None,
            })
            .collect()
    }

    /// How many conversations are held, by replies being written or sends saving their turn.
    pub fn busy(&self) -> usize {
        self.slots().len()
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
