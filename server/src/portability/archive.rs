//! Mosaic's own archive: everything a user owns as JSON Lines, written as it is read and read back
//! as it is written. The format is documented in the README ("Export and import"):
//!
//! ```text
//! {"format":"mosaic-archive","version":1,"exportedAt":…,"user":{"email":…,"name":…}}
//! {"type":"preference","key":…,"value":…}                        one per preference the user set
//! {"type":"conversation","id":…,"title":…,"archived":…,"createdAt":…,"updatedAt":…,"sourceId":…}
//! {"type":"message","id":…,"conversationId":…,"role":…,"content":…,"metadata":…,"status":…,"createdAt":…}
//! …                                                              a conversation's messages follow it
//! {"type":"agentLog","id":…,"sessionId":…,"level":…,"category":…,"content":…,"metadata":…,"tier":…,"createdAt":…}
//! {"type":"end","conversations":…,"messages":…,"agentLogs":…}
//! ```
//!
//! Times are microseconds since the Unix epoch. The end line proves the archive is whole: one
//! without it (a cut download) is refused on import.

use std::io::{BufRead, BufReader, Read};

use axum::body::Bytes;
use mosaic_db::model::{AgentLog, Conversation, Message, User};
use mosaic_db::portability::{ImportedConversation, ImportedMessage};
use mosaic_db::{DbError, Store};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// The first line's `format`.
pub const FORMAT: &str = "mosaic-archive";
/// The version this build writes and reads.
pub const VERSION: u64 = 1;
/// Rows read per statement while exporting.
const BATCH: u32 = 500;
/// Bytes gathered before they are handed to the response.
const CHUNK: usize = 64 * 1024;

/// Writes lines into chunks for the response; stops when the client has gone.
struct Lines {
    buf: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
}

impl Lines {
    async fn line(&mut self, value: &Value) -> Result<(), DbError> {
        serde_json::to_writer(&mut self.buf, value).map_err(|e| DbError::Internal(e.to_string()))?;
        self.buf.push(b'\n');
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), DbError> {
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.send(chunk).await.map_err(|_| DbError::Internal("the client went away".into()))
    }
}

/// `value` (an object) with `"type"` set in front of its fields.
fn typed(kind: &str, value: impl serde::Serialize) -> Value {
    let mut line = serde_json::Map::new();
    line.insert("type".into(), json!(kind));
    if let Ok(Value::Object(fields)) = serde_json::to_value(value) {
        line.extend(fields);
    }
    Value::Object(line)
}

/// Streams `user`'s archive into `tx`, a batch of rows at a time: memory stays the same whatever
/// the account holds. On a failure the stream simply ends, without its end line.
pub async fn write(store: Store, user: User, tx: mpsc::Sender<Bytes>) {
    let mut out = Lines { buf: Vec::with_capacity(CHUNK * 2), tx };
    if let Err(e) = write_all(&store, &user, &mut out).await {
        tracing::warn!(error = %e, user = %user.id, "the archive export stopped");
    }
}

async fn write_all(store: &Store, user: &User, out: &mut Lines) -> Result<(), DbError> {
    let header = json!({
        "format": FORMAT,
        "version": VERSION,
        "exportedAt": mosaic_db::clock::now_micros(),
        "user": { "email": user.email, "name": user.name },
    });
    out.line(&header).await?;
    for p in store.effective_preferences(user.id).await? {
        if !p.is_default && p.mutable {
            out.line(&json!({ "type": "preference", "key": p.key, "value": p.value })).await?;
        }
    }
    let (mut conversations, mut messages, mut logs) = (0u64, 0u64, 0u64);
    for archived in [false, true] {
        let mut before = None;
        loop {
            let batch = store.export_conversations(user.id, archived, before, BATCH).await?;
            let Some((last, _)) = batch.last() else { break };
            before = Some((last.updated_at, last.id));
            for (conversation, source) in batch {
                out.line(&conversation_line(&conversation, source.as_deref())).await?;
                conversations += 1;
                let mut after = None;
                loop {
                    let page = store.export_messages(user.id, conversation.id, after, BATCH).await?;
                    let Some(last) = page.last() else { break };
                    after = Some((last.created_at, last.id));
                    for m in &page {
                        out.line(&typed("message", m)).await?;
                        messages += 1;
                    }
                }
            }
        }
    }
    let mut after = None;
    loop {
        let page = store.export_agent_logs(user.id, after, BATCH).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.session_id.clone(), last.created_at, last.id));
        for log in &page {
            out.line(&typed("agentLog", log)).await?;
            logs += 1;
        }
    }
    out.line(&json!({ "type": "end", "conversations": conversations, "messages": messages, "agentLogs": logs }))
        .await?;
    out.flush().await
}

/// A conversation's line: its row and where it was imported from, if it was.
pub fn conversation_line(c: &Conversation, source: Option<&str>) -> Value {
    let mut line = typed("conversation", c);
    line["sourceId"] = json!(source);
    line
}

/// An entry of an archive, as the importer takes it.
pub enum Entry {
    Preference {
        key: String,
        value: Value,
    },
    /// An agent log found at `line`, read as it is (its fields are checked by the importer).
    AgentLog {
        line: usize,
        read: Result<AgentLog, String>,
    },
    /// The `index`-th conversation (from 0), found at `line`.
    Conversation {
        index: usize,
        line: usize,
        read: Result<ImportedConversation, String>,
    },
}

/// Reads an archive line by line, handing each preference and each conversation (with its
/// messages) to `each` as soon as it is whole; `each` returns false to stop. Errors that make the
/// rest unreadable (not an archive, a line that is not JSON, no end line) are returned.
pub fn read(reader: impl Read, each: &mut dyn FnMut(Entry) -> bool) -> Result<(), String> {
    let mut lines = BufReader::with_capacity(256 * 1024, reader).lines();
    let first = lines.next().ok_or("the file is empty")?.map_err(|e| format!("line 1: {e}"))?;
    let header: Value = serde_json::from_str(&first).map_err(|_| "line 1: not a Mosaic archive header".to_string())?;
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err("line 1: not a Mosaic archive (its format is not \"mosaic-archive\")".into());
    }
    match header.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => return Err(format!("line 1: this archive is version {v}; this Mosaic reads version {VERSION}")),
        None => return Err("line 1: version: missing".into()),
    }
    let mut current = None;
    let mut index = 0usize;
    type Pending = Option<(usize, usize, Result<ImportedConversation, String>)>;
    let emit = |current: &mut Pending, each: &mut dyn FnMut(Entry) -> bool| {
        current.take().is_none_or(|(index, line, read)| each(Entry::Conversation { index, line, read }))
    };
    for (n, text) in lines.enumerate() {
        let line = n + 2;
        let text = text.map_err(|e| format!("line {line}: {e}"))?;
        if text.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("line {line}: not JSON ({e})"))?;
        match value.get("type").and_then(Value::as_str) {
            Some("preference") => {
                let key = value.get("key").and_then(Value::as_str).ok_or(format!("line {line}: key: missing"))?;
                let value = value.get("value").cloned().unwrap_or(Value::Null);
                if !emit(&mut current, each) || !each(Entry::Preference { key: key.to_string(), value }) {
                    return Ok(());
                }
            }
            Some("conversation") => {
                if !emit(&mut current, each) {
                    return Ok(());
                }
                current = Some((index, line, conversation(&value)));
                index += 1;
            }
            Some("message") => {
                let Some((_, _, read)) = current.as_mut() else {
                    return Err(format!("line {line}: a message before any conversation"));
                };
                if let Ok(c) = read {
                    if let Err(problem) = message(&value, c) {
                        *read = Err(format!("line {line}: {problem}"));
                    }
                }
            }
            Some("agentLog") => {
                let read = serde_json::from_value::<AgentLog>(value).map_err(|e| format!("agent log: {e}"));
                if !emit(&mut current, each) || !each(Entry::AgentLog { line, read }) {
                    return Ok(());
                }
            }
            Some("end") => {
                if !emit(&mut current, each) {
                    return Ok(());
                }
                let declared = value.get("conversations").and_then(Value::as_u64);
                if declared != Some(index as u64) {
                    return Err(format!(
                        "line {line}: the end line counts {} conversations, the archive holds {index}",
                        declared.map_or("no".to_string(), |d| d.to_string())
                    ));
                }
                return Ok(());
            }
            Some(other) => return Err(format!("line {line}: type: unknown entry type {other:?}")),
            None => return Err(format!("line {line}: type: missing")),
        }
    }
    Err("the archive ends before its end line: the download was cut short".into())
}

fn conversation(value: &Value) -> Result<ImportedConversation, String> {
    let c: Conversation = serde_json::from_value(value.clone()).map_err(|e| format!("conversation: {e}"))?;
    let source =
        value.get("sourceId").and_then(Value::as_str).map_or_else(|| format!("mosaic:{}", c.id), str::to_string);
    Ok(ImportedConversation {
        source_id: source,
        id: Some(c.id),
        title: c.title,
        archived: c.archived,
        created_at: c.created_at,
        updated_at: c.updated_at,
        messages: Vec::new(),
    })
}

fn message(value: &Value, into: &mut ImportedConversation) -> Result<(), String> {
    let m: Message = serde_json::from_value(value.clone()).map_err(|e| format!("message: {e}"))?;
    if Some(m.conversation_id) != into.id {
        return Err(format!("conversationId: {} is not the conversation before it", m.conversation_id));
    }
    into.messages.push(ImportedMessage {
        id: Some(m.id),
        role: m.role,
        content: m.content,
        metadata: m.metadata,
        state: m.state,
        created_at: m.created_at,
    });
    Ok(())
}

/// Whether a file starts like an archive (its first line is the header object).
pub fn looks_like(start: &[u8]) -> bool {
    let text = String::from_utf8_lossy(start);
    text.trim_start().starts_with('{') && text.contains(FORMAT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn lines(values: &[Value]) -> String {
        values.iter().map(|v| format!("{v}\n")).collect()
    }

    fn read_all(text: &str) -> Result<Vec<Result<ImportedConversation, String>>, String> {
        let mut found = Vec::new();
        read(text.as_bytes(), &mut |e| {
            if let Entry::Conversation { read, .. } = e {
                found.push(read);
            }
            true
        })?;
        Ok(found)
    }

    #[test]
    fn reads_what_it_writes_and_refuses_a_cut_archive() {
        let c = Conversation { id: Uuid::now_v7(), title: "T".into(), archived: true, created_at: 1, updated_at: 2 };
        let m = Message {
            id: Uuid::now_v7(),
            conversation_id: c.id,
            role: mosaic_db::model::MessageRole::Assistant,
            content: "hi".into(),
            metadata: json!({"model": "m"}),
            state: mosaic_db::model::ReplyState::Stopped { reason: Some("x".into()) },
            created_at: 3,
        };
        let header = json!({"format": FORMAT, "version": 1});
        let body = [header.clone(), conversation_line(&c, None), typed("message", &m)];
        let whole = lines(&[&body[..], &[json!({"type": "end", "conversations": 1})]].concat());
        let found = read_all(&whole).expect("reads");
        let got = found[0].as_ref().expect("a conversation");
        assert_eq!(
            (got.id, got.source_id.as_str(), got.archived),
            (Some(c.id), format!("mosaic:{}", c.id).as_str(), true)
        );
        assert_eq!((got.messages[0].id, &got.messages[0].state), (Some(m.id), &m.state));
        assert!(read_all(&lines(&body)).expect_err("refused").contains("cut short"));
        let v2 = lines(&[json!({"format": FORMAT, "version": 2})]);
        assert!(read_all(&v2).expect_err("refused").contains("version 2"));
        assert!(read_all("[]").expect_err("refused").contains("line 1"));
    }
}
