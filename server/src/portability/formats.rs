//! Other products' exports, read into [`ImportedConversation`]s: ChatGPT's `conversations.json`
//! and Open WebUI's chat export. Both are one JSON array of conversations, read one element at a
//! time (a file of hundreds of MB never sits in memory whole).
//!
//! The fields read are those of the public exports as their open-source readers document them:
//! ChatGPT: `conversation_id`/`id`, `title`, `create_time`, `update_time`, `is_archived`,
//! `current_node`, and `mapping` (nodes of `parent`, `children` and `message`: `author.role`,
//! `create_time`, `content.content_type` and `content.parts`, `recipient`, `metadata.model_slug`,
//! `metadata.is_visually_hidden_from_conversation`). Open WebUI: `id`, `title`, `created_at`,
//! `updated_at`, `archived`, `chat.history.messages` (each `parentId`, `role`, `content`,
//! `timestamp`, `model`) with `chat.history.currentId`, or else `chat.messages`.

use std::io::Read;

use mosaic_db::model::{MessageRole, ReplyState};
use mosaic_db::portability::{ImportedConversation, ImportedMessage};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Which product an array element comes from, told by its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    ChatGpt,
    OpenWebUi,
}

impl Source {
    /// The format's name, as stored on the import.
    pub fn name(self) -> &'static str {
        match self {
            Source::ChatGpt => "chatgpt",
            Source::OpenWebUi => "openwebui",
        }
    }

    /// ChatGPT's conversations have a `mapping`, Open WebUI's chats a `chat`.
    pub fn of(entry: &Value) -> Option<Source> {
        if entry.get("mapping").is_some() {
            Some(Source::ChatGpt)
        } else if entry.get("chat").is_some() {
            Some(Source::OpenWebUi)
        } else {
            None
        }
    }

    /// Reads one element of the array.
    pub fn read(self, entry: &Value) -> Result<ImportedConversation, String> {
        match self {
            Source::ChatGpt => chatgpt(entry),
            Source::OpenWebUi => openwebui(entry),
        }
    }
}

/// Calls `each` with every element of the JSON array `reader` holds, in order, one at a time.
/// A file that is not a JSON array, or breaks off, is an error naming the line and column. When
/// `each` says stop (`false`) the rest is not read: the result is then an error the caller, who
/// asked to stop, has no use for.
pub fn for_each_element(reader: impl Read, each: &mut dyn FnMut(usize, Value) -> bool) -> Result<(), String> {
    struct Elements<'a>(&'a mut dyn FnMut(usize, Value) -> bool);
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of conversations")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut index = 0;
            while let Some(value) = seq.next_element::<Value>()? {
                if !(self.0)(index, value) {
                    return Ok(());
                }
                index += 1;
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Elements<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(256 * 1024, reader));
    Elements(each).deserialize(&mut de).map_err(|e| format!("the file is not valid JSON: {e}"))?;
    de.end().map_err(|e| format!("the file has more after its JSON array: {e}"))
}

/// A time in an export: seconds (ChatGPT's floats, Open WebUI's integers) or milliseconds (Open
/// WebUI's `chat.timestamp`), told apart by size, as microseconds. Absent or null is `None`.
pub fn epoch_micros(value: Option<&Value>, field: &str) -> Result<Option<i64>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
    let n = value.as_f64().ok_or_else(|| format!("{field}: not a number"))?;
    let micros = if n.abs() > 1e14 {
        n
    } else if n.abs() > 1e11 {
        n * 1e3
    } else {
        n * 1e6
    };
    // 1990 to 2200: anything else is not a time these products wrote.
    if !(631_152_000e6..7_258_118_400e6).contains(&micros) {
        return Err(format!("{field}: {n} is not a time between 1990 and 2200"));
    }
    Ok(Some(micros as i64))
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, String> {
    value.as_object().ok_or_else(|| format!("{field}: not an object"))
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// Fills missing message times from the one before (or the conversation's start), so the order
/// the export gives is the order shown.
fn settle_times(messages: &mut [ImportedMessage], start: i64) {
    let mut last = start;
    for m in messages {
        if m.created_at == i64::MIN {
            m.created_at = last;
        }
        last = m.created_at;
    }
}

/// Reads one ChatGPT conversation: the messages on the path from the root to `current_node` (the
/// branch the user last saw), user and assistant turns only. System prompts, tool calls and their
/// results, hidden messages and non-text parts (images, files) are left out.
pub fn chatgpt(entry: &Value) -> Result<ImportedConversation, String> {
    let obj = object(entry, "the conversation")?;
    let id = text(obj, "conversation_id").or_else(|| text(obj, "id")).ok_or("conversation_id: missing")?;
    let created_at = epoch_micros(obj.get("create_time"), "create_time")?.ok_or("create_time: missing")?;
    let updated_at = epoch_micros(obj.get("update_time"), "update_time")?.unwrap_or(created_at);
    let mapping = object(obj.get("mapping").unwrap_or(&Value::Null), "mapping")?;
    // The branch shown last; an export without one takes the last child at every turn.
    let current = match text(obj, "current_node") {
        Some(node) => node.to_string(),
        None => {
            let mut node = mapping
                .iter()
                .find(|(_, n)| n.get("parent").is_none_or(Value::is_null))
                .map(|(k, _)| k.clone())
                .ok_or("mapping: no root node")?;
            while let Some(next) = mapping
                .get(&node)
                .and_then(|n| n.get("children"))
                .and_then(Value::as_array)
                .and_then(|c| c.last())
                .and_then(Value::as_str)
            {
                node = next.to_string();
            }
            node
        }
    };
    let mut path = Vec::new();
    let mut at = Some(current);
    while let Some(node_id) = at {
        let node = mapping
            .get(&node_id)
            .ok_or_else(|| format!("mapping.{node_id}: missing (a parent or current_node names it)"))?;
        if path.len() > mapping.len() {
            return Err("mapping: the parents form a loop".into());
        }
        path.push((node_id.clone(), node));
        at = node.get("parent").and_then(Value::as_str).map(str::to_string);
    }
    path.reverse();
    let mut messages = Vec::new();
    for (node_id, node) in path {
        let Some(message) = node.get("message").filter(|m| !m.is_null()) else { continue };
        let field = |name: &str| format!("mapping.{node_id}.message.{name}");
        let message =
            object(message, &field("")).map_err(|_| format!("{}: not an object", field("").trim_end_matches('.')))?;
        let role = match message.get("author").and_then(|a| a.get("role")).and_then(Value::as_str) {
            Some("user") => MessageRole::User,
            Some("assistant") => MessageRole::Assistant,
            Some(_) => continue, // system prompts and tool results
            None => return Err(format!("{}: missing", field("author.role"))),
        };
        let meta = message.get("metadata");
        let hidden =
            meta.and_then(|m| m.get("is_visually_hidden_from_conversation")).and_then(Value::as_bool) == Some(true);
        let to_a_tool = text(message, "recipient").is_some_and(|r| r != "all");
        if hidden || to_a_tool {
            continue;
        }
        let content = message.get("content").ok_or_else(|| format!("{}: missing", field("content")))?;
        let kind = content.get("content_type").and_then(Value::as_str).unwrap_or("text");
        if kind != "text" && kind != "multimodal_text" {
            continue; // code for a tool, browsing output, reasoning notes
        }
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{}: not a list", field("content.parts")))?;
        let body = parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n\n");
        if body.trim().is_empty() {
            continue;
        }
        let created = epoch_micros(message.get("create_time"), &field("create_time"))?.unwrap_or(i64::MIN);
        let model = meta.and_then(|m| m.get("model_slug")).and_then(Value::as_str);
        let metadata = match (role, model) {
            (MessageRole::Assistant, Some(model)) => serde_json::json!({ "model": model, "source": "chatgpt" }),
            _ => serde_json::json!({ "source": "chatgpt" }),
        };
        messages.push(ImportedMessage {
            id: None,
            role,
            content: body,
            metadata,
            state: ReplyState::COMPLETE,
            created_at: created,
        });
    }
    settle_times(&mut messages, created_at);
    Ok(ImportedConversation {
        source_id: format!("chatgpt:{id}"),
        id: None,
        title: text(obj, "title").unwrap_or_default().to_string(),
        archived: obj.get("is_archived").and_then(Value::as_bool).unwrap_or(false),
        created_at,
        updated_at: updated_at.max(messages.last().map_or(created_at, |m| m.created_at)),
        messages,
    })
}

/// Reads one Open WebUI chat: the branch ending at `chat.history.currentId` (walking `parentId`),
/// or `chat.messages` in order when there is no history. User and assistant messages only.
pub fn openwebui(entry: &Value) -> Result<ImportedConversation, String> {
    let obj = object(entry, "the chat")?;
    let id = text(obj, "id").ok_or("id: missing")?;
    let chat = object(obj.get("chat").unwrap_or(&Value::Null), "chat")?;
    let created_at = match epoch_micros(obj.get("created_at"), "created_at")? {
        Some(t) => t,
        None => epoch_micros(chat.get("timestamp"), "chat.timestamp")?.ok_or("created_at: missing")?,
    };
    let updated_at = epoch_micros(obj.get("updated_at"), "updated_at")?.unwrap_or(created_at);
    let history = chat.get("history").and_then(Value::as_object);
    let branch: Vec<(String, &Value)> =
        match history.and_then(|h| Some((h.get("messages")?.as_object()?, text(h, "currentId")?))) {
            Some((all, current)) => {
                let mut path = Vec::new();
                let mut at = Some(current.to_string());
                while let Some(message_id) = at {
                    let m = all.get(&message_id).ok_or_else(|| {
                        format!("chat.history.messages.{message_id}: missing (a parentId or currentId names it)")
                    })?;
                    if path.len() > all.len() {
                        return Err("chat.history.messages: the parents form a loop".into());
                    }
                    at = m.get("parentId").and_then(Value::as_str).map(str::to_string);
                    path.push((format!("chat.history.messages.{message_id}"), m));
                }
                path.reverse();
                path
            }
            None => chat
                .get("messages")
                .map(|m| m.as_array().ok_or("chat.messages: not a list"))
                .transpose()?
                .map(|list| list.iter().enumerate().map(|(i, m)| (format!("chat.messages[{i}]"), m)).collect())
                .unwrap_or_default(),
        };
    let mut messages = Vec::new();
    for (field, m) in branch {
        let m = object(m, &field)?;
        let role = match text(m, "role") {
            Some("user") => MessageRole::User,
            Some("assistant") => MessageRole::Assistant,
            Some(_) => continue,
            None => return Err(format!("{field}.role: missing")),
        };
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            // Multimodal content: its text parts.
            Some(Value::Array(parts)) => {
                parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n\n")
            }
            Some(Value::Null) | None => String::new(),
            Some(_) => return Err(format!("{field}.content: not text")),
        };
        if content.trim().is_empty() {
            continue;
        }
        let created = epoch_micros(m.get("timestamp"), &format!("{field}.timestamp"))?.unwrap_or(i64::MIN);
        let metadata = match (role, text(m, "model")) {
            (MessageRole::Assistant, Some(model)) => serde_json::json!({ "model": model, "source": "openwebui" }),
            _ => serde_json::json!({ "source": "openwebui" }),
        };
        messages.push(ImportedMessage {
            id: None,
            role,
            content,
            metadata,
            state: ReplyState::COMPLETE,
            created_at: created,
        });
    }
    settle_times(&mut messages, created_at);
    let title = text(obj, "title").or_else(|| text(chat, "title")).unwrap_or_default();
    Ok(ImportedConversation {
        source_id: format!("openwebui:{id}"),
        id: None,
        title: title.to_string(),
        archived: obj.get("archived").and_then(Value::as_bool).unwrap_or(false),
        created_at,
        updated_at: updated_at.max(messages.last().map_or(created_at, |m| m.created_at)),
        messages,
    })
}
