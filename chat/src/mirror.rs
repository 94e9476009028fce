//! Following a reply that another instance writes.
//!
//! A tab that opens a conversation on this instance while the reply is written on another one gets
//! a mirror: the reply's saved text as its `started` snapshot, then the pieces the writer sends on
//! the bus, then its end. Pieces carry their character offset, so a piece this mirror already has
//! is not shown twice, and a gap (the pieces sent between the last save and the join, or signals a
//! lagging or reconnecting listener missed) is noticed: the mirror keeps what arrived ahead, asks
//! the writer to save ([`Signal::Flush`](mosaic_db::bus::Signal::Flush)), and fills the gap from the
//! saved text when the writer says it is saved. Nothing is shown twice, nothing is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use mosaic_db::model::Message;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::events::ServerEvent;

/// Events buffered per mirror for slow subscribers.
const EVENT_BUFFER: usize = 1024;

/// One followed reply of another instance.
struct Mirror {
    user_id: Uuid,
    message_id: Uuid,
    title: String,
    model: String,
    provider: String,
    /// The text shown so far, and its length in characters.
    text: String,
    chars: usize,
    /// Pieces that arrived beyond a gap, by offset.
    ahead: BTreeMap<usize, String>,
    events: broadcast::Sender<ServerEvent>,
}

impl Mirror {
    fn snapshot(&self, conversation_id: Uuid) -> (ServerEvent, broadcast::Receiver<ServerEvent>) {
        let started = ServerEvent::Started {
            conversation_id,
            message_id: self.message_id,
            user_message_id: None,
            title: self.title.clone(),
            model: self.model.clone(),
            provider: self.provider.clone(),
            text: self.text.clone(),
        };
        (started, self.events.subscribe())
    }

    /// Shows the part of `text` (starting at character `offset`) not shown yet, if it joins on.
    /// Returns false when it starts beyond the text so far (a gap).
    fn extend(&mut self, conversation_id: Uuid, offset: usize, text: &str) -> bool {
        if offset > self.chars {
            return false;
        }
        let new: String = text.chars().skip(self.chars - offset).collect();
        if !new.is_empty() {
            self.chars += new.chars().count();
            self.text.push_str(&new);
            let _ = self.events.send(ServerEvent::Delta { conversation_id, message_id: self.message_id, text: new });
        }
        true
    }

    /// Shows the pieces kept beyond a gap that now join on; returns whether a gap remains.
    fn catch_up(&mut self, conversation_id: Uuid) -> bool {
        while let Some((&offset, _)) = self.ahead.first_key_value() {
            if offset > self.chars {
                return true;
            }
            if let Some((offset, text)) = self.ahead.pop_first() {
                self.extend(conversation_id, offset, &text);
            }
        }
        false
    }
}

/// What a piece did to its mirror.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Shown (or already shown), or no mirror follows that reply.
    Done,
    /// It starts beyond the text so far: the saved text must fill the gap.
    Gap,
}

/// The mirrors of this instance, by conversation.
#[derive(Default)]
pub(crate) struct Mirrors {
    map: Mutex<HashMap<Uuid, Mirror>>,
}

impl Mirrors {
    fn map(&self) -> MutexGuard<'_, HashMap<Uuid, Mirror>> {
        // Every change is whole under the lock, so a poisoned lock is still consistent.
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the mirror of a conversation of `user_id`'s, if one is followed here.
    pub fn join(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
    ) -> Option<(ServerEvent, broadcast::Receiver<ServerEvent>)> {
        self.map().get(&conversation_id).filter(|m| m.user_id == user_id).map(|m| m.snapshot(conversation_id))
    }

    /// Starts following `reply` (a streaming row another instance writes) from its saved text, or
    /// joins the mirror already following it.
    pub fn follow(
        &self,
        user_id: Uuid,
        title: String,
        reply: Message,
    ) -> (ServerEvent, broadcast::Receiver<ServerEvent>) {
        let conversation_id = reply.conversation_id;
        let mut map = self.map();
        let mirror = map.entry(conversation_id).or_insert_with(|| {
            let text_of = |key: &str| reply.metadata.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            Mirror {
                user_id,
                message_id: reply.id,
                title,
                model: text_of("model"),
                provider: text_of("provider"),
                chars: reply.content.chars().count(),
                text: reply.content.clone(),
                ahead: BTreeMap::new(),
                events: broadcast::channel(EVENT_BUFFER).0,
            }
        });
        mirror.snapshot(conversation_id)
    }

    /// A piece of a reply from the bus; [`Applied::Gap`] when it opened a gap.
    pub fn delta(&self, conversation_id: Uuid, message_id: Uuid, offset: usize, text: String) -> Applied {
        let mut map = self.map();
        let Some(mirror) = map.get_mut(&conversation_id).filter(|m| m.message_id == message_id) else {
            return Applied::Done;
        };
        if mirror.events.receiver_count() == 0 {
            // Nobody follows it any more.
            map.remove(&conversation_id);
            return Applied::Done;
        }
        let had_gap = !mirror.ahead.is_empty();
        if had_gap || !mirror.extend(conversation_id, offset, &text) {
            mirror.ahead.insert(offset, text);
            // Ask for the saved text once per gap, not at every piece while it lasts.
            if mirror.catch_up(conversation_id) && !had_gap {
                return Applied::Gap;
            }
        }
        Applied::Done
    }

    /// The saved text of a followed reply: shows what it has beyond the text so far, then the
    /// pieces kept beyond the gap. Returns whether a gap remains.
    pub fn fill(&self, conversation_id: Uuid, message_id: Uuid, saved: &str) -> bool {
        let mut map = self.map();
        let Some(mirror) = map.get_mut(&conversation_id).filter(|m| m.message_id == message_id) else {
            return false;
        };
        mirror.extend(conversation_id, 0, saved);
        mirror.catch_up(conversation_id)
    }

    /// How many characters a followed reply shows, if it is followed here.
    pub fn chars(&self, conversation_id: Uuid, message_id: Uuid) -> Option<usize> {
        self.map().get(&conversation_id).filter(|m| m.message_id == message_id).map(|m| m.chars)
    }

    /// The reply ended: its followers get `finished` (with this mirror's model and provider when
    /// the event has none: an instance settling a dead one's reply does not know them), and the
    /// mirror goes.
    pub fn finish(&self, conversation_id: Uuid, message_id: Uuid, mut event: ServerEvent) {
        let mut map = self.map();
        if map.get(&conversation_id).is_none_or(|m| m.message_id != message_id) {
            return;
        }
        let Some(mirror) = map.remove(&conversation_id) else { return };
        if let ServerEvent::Finished { model, provider, .. } = &mut event {
            if model.is_empty() {
                model.clone_from(&mirror.model);
            }
            if provider.is_empty() {
                provider.clone_from(&mirror.provider);
            }
        }
        let _ = mirror.events.send(event);
    }

    /// Every followed reply, as (conversation, message): what to rebuild after missed signals.
    pub fn all(&self) -> Vec<(Uuid, Uuid)> {
        self.map().iter().map(|(c, m)| (*c, m.message_id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_db::model::{MessageRole, ReplyState};
    use serde_json::json;

    fn reply(conversation_id: Uuid, text: &str) -> Message {
        Message {
            id: Uuid::now_v7(),
            conversation_id,
            role: MessageRole::Assistant,
            content: text.into(),
            metadata: json!({ "model": "m", "provider": "p" }),
            state: ReplyState::Streaming,
            created_at: 0,
        }
    }

    fn shown(rx: &mut broadcast::Receiver<ServerEvent>) -> String {
        let mut text = String::new();
        while let Ok(ServerEvent::Delta { text: t, .. }) = rx.try_recv() {
            text.push_str(&t);
        }
        text
    }

    #[test]
    fn pieces_already_shown_are_not_shown_twice() {
        let mirrors = Mirrors::default();
        let (c, user) = (Uuid::now_v7(), Uuid::now_v7());
        let r = reply(c, "héllo ");
        let (started, mut rx) = mirrors.follow(user, "t".into(), r.clone());
        assert!(matches!(started, ServerEvent::Started { ref text, .. } if text == "héllo "));
        // A piece overlapping the snapshot shows only its new part; one wholly inside shows nothing.
        assert_eq!(mirrors.delta(c, r.id, 3, "lo wor".into()), Applied::Done);
        assert_eq!(mirrors.delta(c, r.id, 0, "hé".into()), Applied::Done);
        assert_eq!(shown(&mut rx), "wor");
    }

    #[test]
    fn a_gap_is_filled_from_the_saved_text_then_the_pieces_kept_ahead() {
        let mirrors = Mirrors::default();
        let (c, user) = (Uuid::now_v7(), Uuid::now_v7());
        let r = reply(c, "one ");
        let (_, mut rx) = mirrors.follow(user, "t".into(), r.clone());
        // "two " (offset 4) was sent before the join and never seen; "three " arrives.
        assert_eq!(mirrors.delta(c, r.id, 8, "three ".into()), Applied::Gap);
        assert_eq!(mirrors.delta(c, r.id, 14, "four".into()), Applied::Done, "the same gap is asked about once");
        assert_eq!(shown(&mut rx), "", "nothing is shown out of order");
        // The writer saved "one two three" (part of the kept piece too).
        assert!(!mirrors.fill(c, r.id, "one two thr"));
        assert_eq!(shown(&mut rx), "two three four");
        assert_eq!(mirrors.chars(c, r.id), Some("one two three four".len()));
    }
}
