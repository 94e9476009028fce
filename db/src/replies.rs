//! Replies and the turns that start them.
//!
//! A turn is the user's message and, when a model can answer, the assistant's reply that starts with
//! it. Both are saved in one write transaction, so no reply ever exists without the message it
//! answers and no message is saved twice; the chat service reserves the conversation's live slot
//! before it writes, so a second send racing into the same conversation is refused before it saves
//! anything. The reply row is `Streaming` from its first moment, saved as it grows, and settles as
//! complete, stopped or failed (see [`ReplyState`](crate::model::ReplyState)).
//!
//! Each reply row names the instance writing it, and each instance renews a lease in `instances`
//! while it runs. A reply whose instance's lease ran out (the process died, on this machine or on
//! another one sharing the database) is settled as failed ("interrupted") by whichever instance
//! sweeps first, keeping its text; on SQLite, a starting process also settles at once what an
//! earlier one left.

use serde_json::Value;
use uuid::Uuid;

use crate::model::{Conversation, Message};

/// How many of the newest messages a turn reads as the model's history (the chat service cuts them
/// further to its character budget).
pub const HISTORY_MESSAGES: u32 = 100;

/// Why a turn with a reply was refused when its conversation already has one being written.
pub const REPLY_IN_PROGRESS: &str = "a reply is already being written in this conversation";

/// Why a turn with a reply was refused when its user has as many being written as allowed.
pub const TOO_MANY_REPLIES: &str = "too many replies are being written for this user";

/// Where a turn goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnTarget {
    /// One of the user's conversations.
    Existing(Uuid),
    /// A conversation to create, with the id the caller reserved for it and its title.
    New { id: Uuid, title: String },
}

impl TurnTarget {
    /// The target of a message sent to `conversation_id`, or, without one, to a new conversation
    /// titled from the message.
    pub fn for_message(conversation_id: Option<Uuid>, content: &str) -> TurnTarget {
        match conversation_id {
            Some(id) => TurnTarget::Existing(id),
            None => TurnTarget::New { id: Uuid::now_v7(), title: crate::conversations::title_from_message(content) },
        }
    }

    /// The conversation's id, existing or about to be.
    pub fn id(&self) -> Uuid {
        match self {
            TurnTarget::Existing(id) | TurnTarget::New { id, .. } => *id,
        }
    }
}

/// What a turn needs to know before it writes, read on one connection with one ownership check.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnContext {
    /// The conversation, when the turn goes into an existing one (reading it is the ownership check).
    pub conversation: Option<Conversation>,
    /// The user's remembered model pick (the `chat.model` preference), if any.
    pub remembered_model: Option<String>,
    /// The conversation's newest messages (at most [`HISTORY_MESSAGES`]), oldest first.
    pub history: Vec<Message>,
}

/// A turn to save.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTurn {
    pub target: TurnTarget,
    /// The user's message (checked with [`crate::messages::check_content`]).
    pub content: String,
    /// The reply's metadata (model, provider), or `None` when no reply can start: then only the
    /// user's message is saved.
    pub reply: Option<Value>,
    /// Replies the user may have being written at once, on every instance together (`None`: no
    /// limit); a turn past it is refused with [`DbError::Conflict`](crate::DbError::Conflict).
    pub replies_per_user: Option<usize>,
}

/// A reply settled as interrupted because the instance writing it is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Orphan {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    /// The characters of its text (kept).
    pub chars: usize,
}

/// What a turn saved.
#[derive(Clone, Debug, PartialEq)]
pub struct StartedTurn {
    pub conversation: Conversation,
    pub user_message: Message,
    /// The reply, saved `Streaming` and empty.
    pub reply: Option<Message>,
}
