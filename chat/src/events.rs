//! The chat event format, defined once for the WebSocket gateway, the SSE endpoint and the
//! browser client that speaks to them.
//!
//! Every event is a JSON object with a `type` field. See the README's "Chat" section. A reply's
//! events are `started`, `delta`s and one `finished` that says how it ended (its [`ReplyState`]);
//! `error` events answer a request that was refused and never end a reply.

pub use mosaic_db::model::ReplyState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The largest client event accepted, in bytes; larger frames get an error event.
pub const MAX_CLIENT_EVENT_BYTES: usize = 96 * 1024;

/// The WebSocket close code for "your session ended": the page says so and stops reconnecting.
pub const CLOSE_SIGNED_OUT: u16 = 4401;
/// The close code for a client that broke the socket's limits (too many events, too slow to read).
pub const CLOSE_POLICY: u16 = 1008;

/// What a client asks of the gateway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientEvent {
    /// Post a message and start a reply. Without `conversationId` a new conversation is created,
    /// titled from the message.
    #[serde(rename_all = "camelCase")]
    Send { conversation_id: Option<Uuid>, content: String, model: Option<String> },
    /// Stop the reply being generated in a conversation; the text so far is kept, marked incomplete.
    #[serde(rename_all = "camelCase")]
    Abort { conversation_id: Uuid },
    /// Receive a conversation's events, joining a reply already in progress where it is.
    #[serde(rename_all = "camelCase")]
    Subscribe { conversation_id: Uuid },
}

/// Token counts a provider reported for one reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

/// What the gateway tells a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerEvent {
    /// A reply started (or, on subscribe, is already under way: `text` holds what came so far).
    #[serde(rename_all = "camelCase")]
    Started {
        conversation_id: Uuid,
        message_id: Uuid,
        /// The user's message this reply answers (absent when joining mid-way).
        user_message_id: Option<Uuid>,
        title: String,
        model: String,
        provider: String,
        text: String,
    },
    /// More text of the reply.
    #[serde(rename_all = "camelCase")]
    Delta { conversation_id: Uuid, message_id: Uuid, text: String },
    /// The reply ended and is saved, in the state given by `status` (and `reason`): complete,
    /// stopped, or failed with what went wrong.
    #[serde(rename_all = "camelCase")]
    Finished {
        conversation_id: Uuid,
        message_id: Uuid,
        model: String,
        provider: String,
        usage: Usage,
        #[serde(flatten)]
        state: ReplyState,
    },
    /// A request was refused (a send, a subscribe, an abort); `conversationId` names the
    /// conversation it was about, if any. It does not end a reply.
    #[serde(rename_all = "camelCase")]
    Error { conversation_id: Option<Uuid>, message: String },
}

impl ServerEvent {
    /// The conversation an event belongs to.
    pub fn conversation(&self) -> Option<Uuid> {
        match self {
            ServerEvent::Started { conversation_id, .. }
            | ServerEvent::Delta { conversation_id, .. }
            | ServerEvent::Finished { conversation_id, .. } => Some(*conversation_id),
            ServerEvent::Error { conversation_id, .. } => *conversation_id,
        }
    }

    /// True for the last event of a reply.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ServerEvent::Finished { .. })
    }
}

/// Parses one client frame, or says what is wrong with it.
pub fn parse_client_event(text: &str) -> Result<ClientEvent, String> {
    if text.len() > MAX_CLIENT_EVENT_BYTES {
        return Err(format!("event too large: at most {} KiB", MAX_CLIENT_EVENT_BYTES / 1024));
    }
    serde_json::from_str(text).map_err(|e| format!("malformed event: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any text a client sends is an event or a refusal with a message, never a panic.
        #[test]
        fn any_text_is_an_event_or_a_message(text in ".{0,400}") {
            if let Err(problem) = parse_client_event(&text) {
                proptest::prop_assert!(!problem.is_empty());
            }
        }

        /// Event-shaped JSON with any field values: the same.
        #[test]
        fn event_shaped_json_is_an_event_or_a_message(kind in "(send|subscribe|abort|x)", id in ".{0,40}", content in ".{0,100}", model in proptest::option::of(".{0,40}")) {
            let json = serde_json::json!({"type": kind, "conversationId": id, "content": content, "model": model}).to_string();
            if let Err(problem) = parse_client_event(&json) {
                proptest::prop_assert!(!problem.is_empty());
            }
        }
    }

    #[test]
    fn parses_and_refuses_events() {
        let id = Uuid::now_v7();
        let send = parse_client_event(&format!(r#"{{"type":"send","conversationId":"{id}","content":"hi"}}"#));
        assert_eq!(send, Ok(ClientEvent::Send { conversation_id: Some(id), content: "hi".into(), model: None }));
        assert!(parse_client_event(r#"{"type":"launch"}"#).is_err());
        assert!(parse_client_event("not json").is_err());
        assert!(parse_client_event(&"x".repeat(MAX_CLIENT_EVENT_BYTES + 1))
            .expect_err("refused")
            .contains("too large"));
        let json = serde_json::to_value(ServerEvent::Delta { conversation_id: id, message_id: id, text: "a".into() })
            .expect("json");
        assert_eq!(json["type"], "delta");
        assert_eq!(json["conversationId"], id.to_string());
    }

    #[test]
    fn a_finished_reply_says_how_it_ended_and_reads_back() {
        let id = Uuid::now_v7();
        let failed = ServerEvent::Finished {
            conversation_id: id,
            message_id: id,
            model: "m".into(),
            provider: "p".into(),
            usage: Usage { input: 1, output: 2 },
            state: ReplyState::Failed { reason: "The provider stopped responding.".into() },
        };
        let json = serde_json::to_value(&failed).expect("json");
        assert_eq!((json["type"].as_str(), json["status"].as_str()), (Some("finished"), Some("failed")));
        assert_eq!(json["reason"], "The provider stopped responding.");
        assert_eq!(serde_json::from_value::<ServerEvent>(json).expect("reads back"), failed);
        let stopped = serde_json::json!({"type": "finished", "conversationId": id, "messageId": id, "model": "m",
            "provider": "p", "usage": {"input": 0, "output": 0}, "status": "stopped"});
        let ServerEvent::Finished { state, .. } = serde_json::from_value(stopped).expect("stopped") else {
            panic!("finished")
        };
        assert_eq!(state, ReplyState::Stopped { reason: None });
    }
}
