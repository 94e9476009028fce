//! Export and import over HTTP: one conversation as Markdown or JSON, the whole-account archive
//! (streamed: a real server process exports 10 000 conversations while its memory is watched),
//! the round trip (export, delete, import, the same rows back), ChatGPT's and Open WebUI's exports,
//! idempotence, and malformed files refused with where they are wrong. Runs on SQLite, and on
//! PostgreSQL when `MOSAIC_TEST_POSTGRES_URL` names a server.

mod support;

use std::time::Duration;

use mosaic_db::messages::MessageQuery;
use mosaic_db::model::{Conversation, Message};
use mosaic_db::Store;
use mosaic_test_support::Engine;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use support::{start, TestServer};
use uuid::Uuid;

mosaic_test_support::both_engines!(
    one_conversation_exports_as_markdown_and_json,
    an_archive_round_trips_through_delete_and_import,
    a_chatgpt_export_imports_the_current_branch_with_its_times,
    an_open_webui_export_imports_its_current_branch,
    a_malformed_file_is_refused_whole_unless_bad_entries_are_skipped,
);

const CHATGPT: &str = include_str!("../../end2end/fixtures/chatgpt-conversations.json");
const OPEN_WEBUI: &str = include_str!("../../end2end/fixtures/openwebui-export.json");

async fn user_id(s: &TestServer, email: &str) -> Uuid {
    s.store.find_credentials(email).await.expect("read").expect("a user").0.id
}

/// Uploads `body` as the import form does; returns the import's row once it finished.
async fn import(s: &TestServer, c: &Client, name: &str, body: &str, skip_bad: bool) -> Value {
    let mut form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::text(body.to_string()).file_name(name.to_string()));
    if skip_bad {
        form = form.text("skip_bad", "on");
    }
    let res = c.post(s.url("/api/import")).multipart(form).send().await.expect("import");
    assert_eq!(res.status(), StatusCode::ACCEPTED, "{:?}", res.text().await);
    let job: Value = res.json().await.expect("job");
    let id = job["id"].as_str().expect("id").to_string();
    for _ in 0..400 {
        let (_, job) = s.json(c, Method::GET, &format!("/api/imports/{id}"), None).await;
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the import never finished");
}

/// Every conversation of the user (both lists) with all its messages, as the data layer reads them.
async fn everything(store: &Store, user: Uuid) -> Vec<(Conversation, Vec<Message>)> {
    let mut out = Vec::new();
    for archived in [false, true] {
        let page = store.list_conversations(user, archived, None, 200).await.expect("list");
        for c in page.items {
            let messages = store
                .list_messages(user, c.id, &MessageQuery { limit: 200, ..Default::default() })
                .await
                .expect("messages")
                .items;
            out.push((c, messages));
        }
    }
    out
}

async fn one_conversation_exports_as_markdown_and_json(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("export@example.com").await;
    let (_, conv) = s.json(&c, Method::POST, "/api/conversations", Some(json!({"title": "Trip: Zürich"}))).await;
    let id = conv["id"].as_str().expect("id").to_string();
    for content in ["First *question*", "Second line\nwith a break"] {
        s.json(&c, Method::POST, &format!("/api/conversations/{id}/messages"), Some(json!({ "content": content })))
            .await;
    }
    let res = c.get(s.url(&format!("/api/conversations/{id}/export?format=markdown"))).send().await.expect("md");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/markdown; charset=utf-8");
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"trip-z-rich.md\"");
    let md = res.text().await.expect("text");
    assert!(md.starts_with("# Trip: Zürich\n"), "{md}");
    assert!(
        md.contains("## You · ") && md.contains("First *question*") && md.contains("Second line\nwith a break"),
        "{md}"
    );
    let (st, doc) = s.json(&c, Method::GET, &format!("/api/conversations/{id}/export?format=json"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (doc["format"].as_str(), doc["conversation"]["title"].as_str()),
        (Some("mosaic-conversation"), Some("Trip: Zürich"))
    );
    assert_eq!(doc["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["messages"][1]["content"], "Second line\nwith a break");
    // Someone else's: not found; a format that is not offered: 400.
    let mallory = s.user("export-mallory@example.com").await;
    let (st, _) = s.json(&mallory, Method::GET, &format!("/api/conversations/{id}/export?format=json"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body) = s.json(&c, Method::GET, &format!("/api/conversations/{id}/export?format=pdf"), None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
}

async fn an_archive_round_trips_through_delete_and_import(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("archive@example.com").await;
    let user = user_id(&s, "archive@example.com").await;
    let store = &s.store;
    // Conversations in both lists, messages of every state, a preference and agent logs.
    for (title, archived) in [("Kept", false), ("Put away", true), ("Empty", false)] {
        let (_, conv) = s.json(&c, Method::POST, "/api/conversations", Some(json!({ "title": title }))).await;
        let id = conv["id"].as_str().expect("id").to_string();
        if title != "Empty" {
            for i in 0..3 {
                let content = format!("{title} message {i} with ünïcode and \"quotes\"");
                s.json(
                    &c,
                    Method::POST,
                    &format!("/api/conversations/{id}/messages"),
                    Some(json!({ "content": content })),
                )
                .await;
            }
        }
        if archived {
            s.json(&c, Method::PATCH, &format!("/api/conversations/{id}"), Some(json!({"archived": true}))).await;
        }
    }
    let turn = mosaic_db::replies::NewTurn {
        target: mosaic_db::replies::TurnTarget::New { id: Uuid::now_v7(), title: "With a reply".into() },
        content: "question".into(),
        reply: Some(json!({"model": "m", "provider": "p"})),
        replies_per_user: None,
    };
    let started = store.start_turn(user, &turn).await.expect("turn");
    let reply = started.reply.expect("reply");
    let state = mosaic_db::model::ReplyState::Stopped { reason: Some("user".into()) };
    store
        .save_reply(started.conversation.id, reply.id, "partial answer", &state, &json!({"model": "m"}), &[])
        .await
        .expect("save");
    let (st, _) = s.json(&c, Method::PUT, "/api/preferences/ui.density", Some(json!("compact"))).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .json(
            &c,
            Method::POST,
            "/api/logs",
            Some(json!({"logs": [{"sessionId": "agent-1", "level": "info", "category": "tool", "content": "ran"}]})),
        )
        .await;
    assert!(st.is_success(), "{st}");
    let before = everything(store, user).await;
    assert_eq!(before.len(), 4);

    let res = c.get(s.url("/api/export")).send().await.expect("export");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let archive = res.text().await.expect("archive");
    let lines: Vec<Value> = archive.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!((lines[0]["format"].as_str(), lines[0]["version"].as_u64()), (Some("mosaic-archive"), Some(1)));
    assert!(lines.iter().any(|l| l["type"] == "preference" && l["key"] == "ui.density" && l["value"] == "compact"));
    assert!(lines.iter().any(|l| l["type"] == "agentLog" && l["content"] == "ran"));
    let end = lines.last().expect("end");
    assert_eq!(
        (end["type"].as_str(), end["conversations"].as_u64(), end["messages"].as_u64()),
        (Some("end"), Some(4), Some(8))
    );

    // Delete everything, then import the archive: the same conversations and messages, ids and times.
    for (conversation, _) in &before {
        store.delete_conversation(user, conversation.id).await.expect("delete");
    }
    store.delete_preference(user, "ui.density").await.expect("reset");
    let job = import(&s, &c, "mosaic.jsonl", &archive, false).await;
    assert_eq!(
        (job["status"].as_str(), job["imported"].as_i64(), job["messages"].as_i64()),
        (Some("done"), Some(4), Some(8)),
        "{job}"
    );
    let mut after = everything(store, user).await;
    let mut want = before.clone();
    let key = |x: &(Conversation, Vec<Message>)| x.0.id;
    after.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(after, want);
    let prefs = store.effective_preferences(user).await.expect("prefs");
    assert!(prefs.iter().any(|p| p.key == "ui.density" && p.value == json!("compact")));
    // Again: nothing is added twice.
    let again = import(&s, &c, "mosaic.jsonl", &archive, false).await;
    assert_eq!((again["imported"].as_i64(), again["skipped"].as_i64()), (Some(0), Some(4)), "{again}");
    assert_eq!(everything(store, user).await.len(), 4);
    // The agent logs: still there after the deletes, so not added again; in another account
    // (where the archive's ids are taken) they come in under new ids, once.
    let logs = |user| async move { store.export_agent_logs(user, None, 100).await.expect("logs") };
    assert_eq!(logs(user).await.len(), 1);
    let copy = s.user("archive-copy@example.com").await;
    let copy_id = user_id(&s, "archive-copy@example.com").await;
    for _ in 0..2 {
        let job = import(&s, &copy, "mosaic.jsonl", &archive, false).await;
        assert_eq!(job["status"], "done", "{job}");
    }
    let copied = logs(copy_id).await;
    let original = logs(user).await;
    assert_eq!(copied.len(), 1, "{copied:?}");
    assert_eq!(
        (copied[0].session_id.as_str(), copied[0].content.as_str(), copied[0].created_at, copied[0].tier),
        ("agent-1", "ran", original[0].created_at, original[0].tier)
    );
    assert_ne!(copied[0].id, original[0].id);
    // A bad agent log refuses the archive, naming its line.
    let bad: String = archive
        .lines()
        .map(|l| {
            if l.contains("\"agentLog\"") {
                l.replace("\"sessionId\":\"agent-1\"", "\"sessionId\":\"\"")
            } else {
                l.to_string()
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let other = s.user("archive-bad-log@example.com").await;
    let job = import(&s, &other, "bad.jsonl", &bad, false).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["problem"].as_str().unwrap_or_default().contains("agent log (line"), "{job}");
    assert_eq!(everything(store, user_id(&s, "archive-bad-log@example.com").await).await.len(), 0);
    // A cut archive (no end line) is refused whole.
    let cut: String = archive.lines().take(5).map(|l| format!("{l}\n")).collect();
    let other = s.user("archive-cut@example.com").await;
    let job = import(&s, &other, "cut.jsonl", &cut, false).await;
    assert_eq!(job["status"], "failed");
    assert!(job["problem"].as_str().unwrap_or_default().contains("cut short"), "{job}");
    assert_eq!(everything(store, user_id(&s, "archive-cut@example.com").await).await.len(), 0);
}

async fn a_chatgpt_export_imports_the_current_branch_with_its_times(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("chatgpt@example.com").await;
    let user = user_id(&s, "chatgpt@example.com").await;
    let job = import(&s, &c, "conversations.json", CHATGPT, false).await;
    assert_eq!(
        (job["status"].as_str(), job["format"].as_str(), job["imported"].as_i64()),
        (Some("done"), Some("chatgpt"), Some(2)),
        "{job}"
    );
    let all = everything(&s.store, user).await;
    let (animals, messages) = all.iter().find(|(c, _)| c.title == "Australian animals").expect("imported");
    assert_eq!(
        (animals.created_at, animals.updated_at, animals.archived),
        (1_700_000_000_123_456, 1_700_000_600_500_000, false)
    );
    let shown: Vec<(&str, &str)> = messages.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect();
    assert_eq!(
        shown,
        [
            ("user", "Which animal smiles in every photo?"),
            ("assistant", "The **quokka** of Rottnest Island is famous for its smile."),
            ("user", "How many live there?"),
            ("assistant", "About 10,000 quokkas live on Rottnest Island."),
        ],
        "the current branch only; no system prompt, tool call or tool output; text parts of a multimodal message"
    );
    assert_eq!(messages[1].metadata["model"], "gpt-4o");
    assert_eq!(messages[0].created_at, 1_700_000_010_000_000);
    let (old, _) = all.iter().find(|(c, _)| c.title == "Old sourdough notes").expect("imported");
    assert!(old.archived);
    // Found by search where it belongs, and the sidebar orders by the original times.
    let (_, found) = s.json(&c, Method::GET, "/api/search?q=quokka", None).await;
    assert_eq!(found["items"][0]["conversation"]["title"], "Australian animals");
    let (_, list) = s.json(&c, Method::GET, "/api/conversations", None).await;
    assert_eq!(list["items"][0]["updatedAt"], 1_700_000_600_500_000i64);
    // Twice: nothing doubled.
    let again = import(&s, &c, "conversations.json", CHATGPT, false).await;
    assert_eq!((again["imported"].as_i64(), again["skipped"].as_i64()), (Some(0), Some(2)), "{again}");
    assert_eq!(everything(&s.store, user).await.len(), 2);
}

async fn an_open_webui_export_imports_its_current_branch(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("owui@example.com").await;
    let user = user_id(&s, "owui@example.com").await;
    let job = import(&s, &c, "chat-export.json", OPEN_WEBUI, false).await;
    assert_eq!(
        (job["status"].as_str(), job["format"].as_str(), job["imported"].as_i64()),
        (Some("done"), Some("openwebui"), Some(1)),
        "{job}"
    );
    let all = everything(&s.store, user).await;
    let (chat, messages) = &all[0];
    assert_eq!(
        (chat.title.as_str(), chat.created_at, chat.updated_at),
        ("Kayak route planning", 1_710_000_000_000_000, 1_710_000_110_000_000)
    );
    let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents.len(), 4, "{contents:?}");
    assert!(!contents.iter().any(|c| c.contains("abandoned draft")));
    assert_eq!(messages[3].metadata["model"], "mistral:7b");
    assert_eq!(messages[3].created_at, 1_710_000_110_000_000);
}

async fn a_malformed_file_is_refused_whole_unless_bad_entries_are_skipped(engine: Engine) {
    let s = start(engine, &[]).await;
    let c = s.user("malformed@example.com").await;
    let user = user_id(&s, "malformed@example.com").await;
    let mut entries: Vec<Value> = serde_json::from_str(CHATGPT).expect("fixture");
    let mut broken = entries[1].clone();
    broken["conversation_id"] = json!("broken-one");
    broken["id"] = json!("broken-one");
    broken["mapping"]["c"]["parent"] = json!("nowhere");
    entries.push(broken);
    let file = serde_json::to_string(&entries).expect("json");
    let job = import(&s, &c, "conversations.json", &file, false).await;
    assert_eq!(job["status"], "failed");
    let problem = job["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("conversation 3") && problem.contains("mapping.nowhere"), "{problem}");
    assert_eq!(everything(&s.store, user).await.len(), 0, "nothing half-imported");
    // Asked to skip bad entries: the good ones, and the bad one named.
    let job = import(&s, &c, "conversations.json", &file, true).await;
    assert_eq!((job["status"].as_str(), job["imported"].as_i64()), (Some("done"), Some(2)), "{job}");
    assert!(job["problem"].as_str().unwrap_or_default().contains("conversation 3"), "{job}");
    // Not JSON, not an export, empty, no file: refused at once with a reason, nothing started.
    for (body, want) in [
        ("[{\"title\": \"cut", "not valid JSON"),
        ("hello", "not a Mosaic archive, a ChatGPT"),
        ("[{\"foo\": 1}]", "not a Mosaic archive, a ChatGPT"),
    ] {
        let form =
            reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::text(body).file_name("x.json"));
        let res = c.post(s.url("/api/import")).multipart(form).send().await.expect("import");
        let status = res.status();
        let text = res.text().await.expect("body");
        if status == StatusCode::ACCEPTED {
            let id: Value = serde_json::from_str(&text).expect("job");
            let id = id["id"].as_str().expect("id");
            let mut job = Value::Null;
            for _ in 0..200 {
                job = s.json(&c, Method::GET, &format!("/api/imports/{id}"), None).await.1;
                if job["status"] == "failed" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            assert!(job["problem"].as_str().unwrap_or_default().contains(want), "{body}: {job}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
            assert!(text.contains(want), "{body}: {text}");
        }
    }
    let res = c
        .post(s.url("/api/import"))
        .multipart(reqwest::multipart::Form::new().text("skip_bad", "on"))
        .send()
        .await
        .expect("import");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(everything(&s.store, user).await.len(), 2);
    // Another user cannot read this user's import.
    let mallory = s.user("malformed-mallory@example.com").await;
    let (st, _) =
        s.json(&mallory, Method::GET, &format!("/api/imports/{}", job["id"].as_str().expect("id")), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmRSS")
}

/// A child process killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Downloads the archive slowly, sampling the server's memory: its size, its lines, its last
/// bytes, and how far the server's resident memory rose above where it was when the download began.
async fn download(c: &Client, base: &str, pid: u32) -> (usize, usize, String, u64) {
    use futures_util::StreamExt;
    let start = rss_kib(pid);
    let res = c.get(format!("{base}/api/export")).send().await.expect("export");
    assert_eq!(res.status(), StatusCode::OK);
    let (mut bytes, mut lines, mut peak, mut tail) = (0usize, 0usize, start, Vec::new());
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        tail.extend_from_slice(&chunk);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 4096);
        }
        peak = peak.max(rss_kib(pid));
        // A slow reader: the server must wait for it rather than gather the archive in memory.
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    (bytes, lines, String::from_utf8_lossy(&tail).into_owned(), peak.saturating_sub(start))
}

/// A real server process streams an archive of 10 000 conversations (100 000 messages) while its
/// resident memory is sampled: it stays within a few MB of where it started, whatever the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_of_ten_thousand_conversations_streams_in_constant_memory() {
    let dir = support::scratch_dir("export-memory");
    let url = format!("sqlite:{}", dir.join("mosaic.db").display());
    let store = Store::connect(&mosaic_db::PoolSettings::new(url.clone())).await.expect("open");
    let plan = server::seed::SeedPlan {
        users: 0,
        conversations: 10_000,
        messages: 10,
        open_messages: 10,
        logs: 1_000,
        email: "memory@example.com".into(),
        password: "memory-password-1".into(),
    };
    server::seed::seed(&store, &plan).await.expect("seed");
    store.close().await;
    let port = support::free_port();
    let child = Killed(support::server_process(&url, &dir, port, &[]));
    let base = format!("http://127.0.0.1:{port}");
    support::wait_healthy(&base).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let c = Client::builder().cookie_provider(jar).build().expect("client");
    let res = c
        .post(format!("{base}/_fn/sign_in"))
        .form(&[("email", "memory@example.com"), ("password", "memory-password-1")])
        .send()
        .await
        .expect("sign in");
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    // The first export fills what any export uses (the connections' page caches, the allocator's
    // pools); the second must not grow past it: memory does not follow the archive's size.
    let (bytes, lines, tail, first_growth) = download(&c, &base, child.0.id()).await;
    let (_, _, _, second_growth) = download(&c, &base, child.0.id()).await;
    let end: Value = serde_json::from_str(tail.trim_end().rsplit('\n').next().expect("last line")).expect("end line");
    assert_eq!(
        (end["type"].as_str(), end["conversations"].as_u64(), end["messages"].as_u64()),
        (Some("end"), Some(10_000), Some(100_000))
    );
    assert_eq!(lines, 1 + 10_000 + 100_000 + 1_000 + 1, "header, conversations, messages, logs, end");
    eprintln!(
        "archive {} MB; server RSS grew {first_growth} KiB on the first export, {second_growth} KiB on the second",
        bytes / 1_000_000
    );
    assert!(bytes > 50_000_000, "the archive is many times the allowed growth ({bytes} bytes)");
    assert!(first_growth < 64 * 1024, "the first export grew the server by {first_growth} KiB");
    assert!(
        second_growth < 8 * 1024,
        "the second export grew the server by {second_growth} KiB ({bytes}-byte archive)"
    );
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes a ChatGPT `conversations.json` of `conversations` conversations, each `turns` pairs of
/// a question and a `reply_bytes`-long answer; returns its size in bytes.
fn write_chatgpt_export(path: &std::path::Path, conversations: usize, turns: usize, reply_bytes: usize) -> u64 {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let words = ["marsupial", "eucalyptus", "burrow", "island", "photograph", "nocturnal", "wallaby", "grin"];
    let text = |seed: usize, len: usize| {
        let mut s = String::with_capacity(len + 16);
        let mut k = seed;
        while s.len() < len {
            k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            s.push_str(words[(k >> 33) % words.len()]);
            s.push(' ');
        }
        s
    };
    let node = |id: String, role: &str, at: f64, body: String, parent: &str, child: Option<String>| {
        json!({
            "id": id,
            "message": {
                "id": id,
                "author": { "role": role, "name": null, "metadata": {} },
                "create_time": at,
                "update_time": null,
                "content": { "content_type": "text", "parts": [body] },
                "status": "finished_successfully",
                "end_turn": role == "assistant",
                "weight": 1.0,
                "metadata": if role == "assistant" { json!({"model_slug": "gpt-4o"}) } else { json!({}) },
                "recipient": "all"
            },
            "parent": parent,
            "children": child.into_iter().collect::<Vec<_>>(),
        })
    };
    out.write_all(b"[").expect("write");
    for c in 0..conversations {
        let start = 1_700_000_000.0 + c as f64 * 600.0;
        let mut mapping = serde_json::Map::new();
        let ids: Vec<String> = (0..turns * 2).map(|m| format!("c{c}-m{m}")).collect();
        mapping.insert(
            format!("c{c}-root"),
            json!({"id": format!("c{c}-root"), "message": null, "parent": null, "children": [ids[0]]}),
        );
        for (m, id) in ids.iter().enumerate() {
            let (role, body) = if m % 2 == 0 {
                ("user", text(c * 1000 + m, 200))
            } else {
                ("assistant", text(c * 1000 + m, reply_bytes))
            };
            let parent = if m == 0 { format!("c{c}-root") } else { ids[m - 1].clone() };
            let child = ids.get(m + 1).cloned();
            mapping.insert(id.clone(), node(id.clone(), role, start + m as f64, body, &parent, child));
        }
        let conversation = json!({
            "title": format!("Imported conversation {c}"),
            "create_time": start,
            "update_time": start + (turns * 2) as f64,
            "mapping": mapping,
            "current_node": ids.last(),
            "conversation_id": format!("big-{c}"),
            "id": format!("big-{c}"),
        });
        if c > 0 {
            out.write_all(b",").expect("write");
        }
        serde_json::to_writer(&mut out, &conversation).expect("write");
    }
    out.write_all(b"]").expect("write");
    out.flush().expect("flush");
    std::fs::metadata(path).expect("size").len()
}

/// A real server process imports a ChatGPT export of hundreds of MB, uploaded as a stream, while
/// its resident memory is sampled: the upload is spooled to disk and read back one conversation at
/// a time, written a batch at a time, so memory stays far below the file's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatgpt_export_of_hundreds_of_megabytes_imports_in_constant_memory() {
    let dir = support::scratch_dir("import-memory");
    let file = dir.join("conversations.json");
    let (conversations, turns) = (2_000, 5);
    let size = write_chatgpt_export(&file, conversations, turns, 20_000);
    assert!(size > 200_000_000, "the export is {size} bytes");
    let url = format!("sqlite:{}", dir.join("mosaic.db").display());
    let port = support::free_port();
    let child = Killed(support::server_process(&url, &dir, port, &[]));
    let pid = child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    support::wait_healthy(&base).await;
    let cookie = support::sign_up_at(&base, "Importer", "big-import@example.com").await;
    let c = Client::new();
    let start = rss_kib(pid);

    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(start));
    let peak = sampling.clone();
    let sampler = tokio::spawn(async move {
        loop {
            peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let body = reqwest::Body::from(tokio::fs::File::open(&file).await.expect("open"));
    let part = reqwest::multipart::Part::stream_with_length(body, size).file_name("conversations.json");
    let res = c
        .post(format!("{base}/api/import"))
        .header("cookie", &cookie)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let job: Value = res.json().await.expect("job");
    let id = job["id"].as_str().expect("id").to_string();
    let mut job = Value::Null;
    let mut seen_progress = false;
    for _ in 0..6_000 {
        job = c
            .get(format!("{base}/api/imports/{id}"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("progress")
            .json()
            .await
            .expect("job");
        seen_progress |= job["status"] == "importing" && job["done"].as_i64().is_some_and(|d| d > 0);
        if job["status"] == "done" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sampler.abort();
    let growth = sampling.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(start);
    eprintln!("a {} MB export imported; server RSS grew {growth} KiB at most: {job}", size / 1_000_000);
    assert_eq!(
        (job["status"].as_str(), job["imported"].as_i64(), job["messages"].as_i64()),
        (Some("done"), Some(conversations as i64), Some((conversations * turns * 2) as i64)),
        "{job}"
    );
    assert!(seen_progress, "the progress was never seen between the start and the end");
    assert!(growth < 96 * 1024, "importing a {size}-byte file grew the server by {growth} KiB");
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
