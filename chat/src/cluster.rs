//! The chat's side of running several instances on one database: what it does with the signals
//! of the [bus](mosaic_db::bus), and the lease that tells the others this instance is alive.
//!
//! - A reply starting anywhere is announced to this instance's sockets ([`Chat::starts`]).
//! - Pieces and ends of replies written elsewhere feed the [mirrors](crate::mirror) tabs here follow;
//!   a gap asks the writer to save, and its answer fills the gap from the saved text.
//! - Stop pressed elsewhere stops the reply written here; a follower's request to save is passed to
//!   the reply's task.
//! - Every third of [`ChatSettings::lease`](crate::ChatSettings) the instance renews its lease and
//!   settles the replies of instances whose lease ran out (they died), telling their followers.

use std::sync::{Arc, Weak};

use mosaic_db::bus::Signal;
use mosaic_db::model::ReplyState;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::events::{ServerEvent, Usage};
use crate::live::Stop;
use crate::mirror::Applied;
use crate::Chat;

/// Starts following the bus and, when other instances may share the database, keeping the lease.
/// Outside a runtime (some unit tests) there is nothing to start.
pub(crate) fn start(chat: &Arc<Chat>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(follow_bus(Arc::downgrade(chat), chat.bus.replies()));
    if chat.bus.shared() {
        tokio::spawn(keep_lease(Arc::downgrade(chat)));
    }
}

/// Acts on the reply signals of every instance, in order, until the chat service is gone.
async fn follow_bus(chat: Weak<Chat>, mut signals: broadcast::Receiver<Signal>) {
    loop {
        let signal = match signals.recv().await {
            Ok(signal) => signal,
            // Fell behind: the pieces missed are rebuilt like after a lost connection.
            Err(broadcast::error::RecvError::Lagged(_)) => Signal::Missed,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(chat) = chat.upgrade() else { return };
        match signal {
            Signal::Started { conversation, owner } => {
                let _ = chat.starts.send((conversation, owner));
            }
            Signal::Delta { conversation, message, offset, text } => {
                if chat.mirrors.delta(conversation, message, offset, text) == Applied::Gap {
                    chat.bus.publish(Signal::Flush { message });
                }
            }
            Signal::Saved { conversation, message } => {
                if chat.mirrors.chars(conversation, message).is_some() {
                    fill(&chat, conversation, message).await;
                }
            }
            Signal::Finished { conversation, message, chars, event } => {
                if chat.mirrors.chars(conversation, message).is_some_and(|shown| shown < chars) {
                    fill(&chat, conversation, message).await;
                }
                match serde_json::from_value::<ServerEvent>(event) {
                    Ok(event) => chat.mirrors.finish(conversation, message, event),
                    Err(e) => tracing::warn!(error = %e, "an unreadable end of a reply on the bus"),
                }
            }
            Signal::Abort { conversation, user } => {
                if let Some(live) = chat.live.get(user, conversation) {
                    let _ = live.abort.send(Some(Stop::User));
                }
            }
            Signal::Flush { message } => {
                if let Some(live) = chat.live.by_message(message) {
                    live.flush.notify_one();
                }
            }
            Signal::Missed => {
                for (conversation, message) in chat.mirrors.all() {
                    fill(&chat, conversation, message).await;
                    chat.bus.publish(Signal::Flush { message });
                }
            }
            Signal::Revoked { .. } => {}
        }
    }
}

/// Fills a mirror's gap from the reply's saved text; asks again while a gap remains.
async fn fill(chat: &Chat, conversation: Uuid, message: Uuid) {
    match chat.store.reply_text(conversation, message).await {
        Ok(Some(saved)) => {
            if chat.mirrors.fill(conversation, message, &saved) {
                chat.bus.publish(Signal::Flush { message });
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, %conversation, "cannot read a followed reply's saved text"),
    }
}

/// Renews this instance's lease every third of its length, and settles the replies of instances
/// whose lease ran out, until the chat service is gone.
async fn keep_lease(chat: Weak<Chat>) {
    let started_at = mosaic_db::clock::now_micros();
    let Some(lease) = chat.upgrade().map(|c| c.settings.lease) else { return };
    let lease_micros = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    let mut every = tokio::time::interval(lease / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(chat) = chat.upgrade() else { return };
        let now = mosaic_db::clock::now_micros();
        if let Err(e) = chat.store.renew_lease(started_at, now.saturating_add(lease_micros)).await {
            tracing::warn!(error = %e, "cannot renew this instance's lease");
        }
        match chat.store.settle_orphaned_replies(now, lease_micros).await {
            Ok(orphans) => {
                for orphan in orphans {
                    tracing::info!(conversation = %orphan.conversation_id, "a reply whose instance is gone was settled as interrupted");
                    let event = ServerEvent::Finished {
                        conversation_id: orphan.conversation_id,
                        message_id: orphan.message_id,
                        model: String::new(),
                        provider: String::new(),
                        usage: Usage::default(),
                        state: ReplyState::Failed { reason: ReplyState::INTERRUPTED.into() },
                    };
                    chat.bus.publish(Signal::Finished {
                        conversation: orphan.conversation_id,
                        message: orphan.message_id,
                        chars: orphan.chars,
                        event: serde_json::to_value(&event).unwrap_or_default(),
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot settle the replies of instances that are gone"),
        }
    }
}
