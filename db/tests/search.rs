//! Full-text search, on SQLite (FTS5) and PostgreSQL (tsvector + GIN): what matches, that the index
//! is in step with every write, ownership, bad queries, ranking and keyset pages.

use std::collections::HashSet;

use mosaic_db::conversations::ConversationChange;
use mosaic_db::messages::NewMessage;
use mosaic_db::model::{Fragment, MessageRole, Page, ReplyState, SearchHit, User};
use mosaic_db::replies::{NewTurn, TurnTarget};
use mosaic_db::{DbError, Engine, Store};
use serde_json::json;
use uuid::Uuid;

mosaic_test_support::both_engines!(
    finds_words_without_case_or_accents_prefixes_and_phrases,
    the_index_follows_every_write,
    another_users_messages_never_appear,
    bad_queries_are_refused_or_empty_never_an_error,
    results_rank_by_relevance_then_recency_and_page_by_cursor,
    a_result_points_at_its_best_message_with_a_highlighted_snippet,
    a_result_opens_on_the_page_around_its_message,
    a_long_prefix_finds_its_words_and_only_them_however_old,
    a_word_in_more_messages_than_the_window_ranks_its_newest,
);

async fn user(store: &Store, email: &str) -> User {
    store.create_user_with_password(email, "Test User", "$argon2id$fake", true).await.expect("create user")
}

fn text(content: &str) -> NewMessage {
    NewMessage { role: MessageRole::User, content: content.into(), metadata: json!({}) }
}

/// A conversation titled `title` holding `messages`.
async fn conversation(store: &Store, owner: Uuid, title: &str, messages: &[&str]) -> Uuid {
    let c = store.create_conversation(owner, title).await.expect("create");
    for m in messages {
        store.append_message(owner, c.id, text(m)).await.expect("append");
    }
    c.id
}

/// SQLite: appends another user's messages until the queue of messages waiting for FTS5 (migration
/// 0011) is moved into the index, so what was written before is read from the index itself.
async fn index_the_queue(store: &Store) {
    let Store::Sqlite(s) = store else { return };
    let filler = user(store, &format!("filler-{}@example.com", Uuid::now_v7())).await;
    let c = conversation(store, filler.id, "Filler", &[]).await;
    for _ in 0..QUEUE {
        store.append_message(filler.id, c, text("filler")).await.expect("append");
        if queued(s).await == 0 {
            return;
        }
    }
    panic!("{QUEUE} more messages did not move the queue into the index");
}

/// How many messages wait for SQLite's index (migration 0011 moves them in 64 at a time).
const QUEUE: i64 = 64;

async fn queued(s: &mosaic_db::sqlite::SqliteStore) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM message_search_queue").fetch_one(s.pool()).await.expect("queue");
    n
}

async fn search(store: &Store, owner: Uuid, q: &str) -> Page<SearchHit> {
    store.search(owner, q, None, 20).await.unwrap_or_else(|e| panic!("search {q:?}: {e}"))
}

/// The conversations a search finds, in order.
async fn found(store: &Store, owner: Uuid, q: &str) -> Vec<Uuid> {
    search(store, owner, q).await.items.iter().map(|h| h.conversation.id).collect()
}

fn marked(fragments: &[Fragment]) -> String {
    fragments.iter().map(|f| if f.hit { format!("[{}]", f.text) } else { f.text.clone() }).collect()
}

async fn finds_words_without_case_or_accents_prefixes_and_phrases(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "words@example.com").await;
    let cafe = conversation(store, u.id, "Plans", &["Meet at the Café Crème on Monday"]).await;
    let york = conversation(store, u.id, "Trips", &["A week in New York, then York itself"]).await;
    let reversed = conversation(store, u.id, "Other", &["york new is not the phrase"]).await;
    let titled = conversation(store, u.id, "Résumé tips", &["nothing else here"]).await;

    // On SQLite the messages are first read from the queue (checked in Rust), then from FTS5.
    for read_from in ["the queue", "the index"] {
        assert_eq!(found(store, u.id, "cafe creme").await, [cafe], "{read_from}: accents and case folded");
        assert_eq!(found(store, u.id, "CAFÉ").await, [cafe], "{read_from}");
        assert_eq!(found(store, u.id, "caf").await, [cafe], "{read_from}: the word being typed is a prefix");
        assert!(found(store, u.id, "caf ").await.is_empty(), "{read_from}: a finished word is whole");
        assert!(found(store, u.id, "caff").await.is_empty(), "{read_from}: a prefix is a prefix of a word");
        assert_eq!(found(store, u.id, "\"new york\"").await, [york], "{read_from}: a phrase keeps its order");
        let both: HashSet<Uuid> = found(store, u.id, "new york ").await.into_iter().collect();
        assert_eq!(both, HashSet::from([york, reversed]), "{read_from}: words in any order");
        assert_eq!(found(store, u.id, "resume").await, [titled], "{read_from}: titles are searched too");
        assert!(search(store, u.id, "resume").await.items[0].message.is_none(), "{read_from}: only the title");
        assert!(found(store, u.id, "monday york").await.is_empty(), "{read_from}: every word must match");
        index_the_queue(store).await;
    }
}

async fn the_index_follows_every_write(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "follow@example.com").await;
    // Findable the moment it is saved.
    let c = conversation(store, u.id, "Notes", &[]).await;
    assert!(found(store, u.id, "quokka").await.is_empty());
    store.append_message(u.id, c, text("a quokka smiled")).await.expect("append");
    assert_eq!(found(store, u.id, "quokka").await, [c]);

    // A reply is found once it settles, not from its partial saves.
    let turn = NewTurn {
        target: TurnTarget::Existing(c),
        content: "tell me about wombats".into(),
        reply: Some(json!({"model": "m", "provider": "p"})),
        replies_per_user: None,
    };
    let reply = store.start_turn(u.id, &turn).await.expect("turn").reply.expect("reply");
    assert_eq!(found(store, u.id, "wombats").await, [c], "the user's message is saved with the turn");
    let meta = json!({"model": "m", "provider": "p"});
    store.save_reply(c, reply.id, "burrowing marsupials", &ReplyState::Streaming, &meta, &[]).await.expect("save");
    assert!(found(store, u.id, "marsupials").await.is_empty(), "a reply being written is not indexed");
    store
        .save_reply(c, reply.id, "burrowing marsupials of Australia", &ReplyState::COMPLETE, &meta, &[])
        .await
        .expect("settle");
    assert_eq!(found(store, u.id, "marsupials australia").await, [c]);
    store
        .save_reply(c, reply.id, "rewritten entirely", &ReplyState::Stopped { reason: None }, &meta, &[])
        .await
        .expect("resave");
    assert!(found(store, u.id, "marsupials").await.is_empty(), "the old text left the index");
    assert_eq!(found(store, u.id, "rewritten").await, [c]);

    // A new title replaces the old one; archived conversations are found and marked.
    let change = ConversationChange { title: Some("Zoology"), archived: Some(true) };
    store.update_conversation(u.id, c, &change).await.expect("rename");
    assert!(found(store, u.id, "notes").await.is_empty());
    let hits = search(store, u.id, "zoology").await;
    assert_eq!(
        hits.items.iter().map(|h| (h.conversation.id, h.conversation.archived)).collect::<Vec<_>>(),
        [(c, true)]
    );

    // Deleted: gone at once, title and messages.
    store.delete_conversation(u.id, c).await.expect("delete");
    for q in ["quokka", "zoology", "rewritten", "wombats"] {
        assert!(found(store, u.id, q).await.is_empty(), "{q} still found after delete");
    }

    // SQLite keys its index by rowid: compacting the file (VACUUM) must not point it elsewhere.
    if let Store::Sqlite(s) = store {
        let keep = conversation(store, u.id, "Kept", &["platypus eggs"]).await;
        for i in 0..20 {
            let gone = conversation(store, u.id, "Filler", &[&format!("filler {i}")]).await;
            store.delete_conversation(u.id, gone).await.expect("delete");
        }
        let later = conversation(store, u.id, "Later", &["echidna spines"]).await;
        sqlx::query("VACUUM").execute(s.pool()).await.expect("vacuum");
        assert_eq!(found(store, u.id, "platypus").await, [keep]);
        let hit = &search(store, u.id, "echidna").await.items[0];
        assert_eq!(
            (hit.conversation.id, marked(&hit.message.as_ref().expect("a message").snippet)),
            (later, "[echidna] spines".into())
        );
    }
}

async fn another_users_messages_never_appear(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let alice = user(store, "alice@example.com").await;
    let mallory = user(store, "mallory@example.com").await;
    conversation(store, alice.id, "Secret plans", &["the vault code is 4711 zebra"]).await;
    let own = conversation(store, mallory.id, "Mine", &["zebra crossing"]).await;
    // Whatever Mallory types, including Alice's owner term and FTS operators, only her own rows:
    // on SQLite while both wait in the queue, then from the index.
    let alice_term = format!("u{}", alice.id.simple());
    for q in ["vault", "zebra", "\"vault code\"", "v*"] {
        let hits = search(store, mallory.id, q).await;
        assert!(hits.items.iter().all(|h| h.conversation.id == own), "queued, {q}: {hits:?}");
    }
    index_the_queue(store).await;
    for q in [
        "vault",
        "secret",
        "4711",
        "zebra",
        "zeb",
        "\"vault code\"",
        alice_term.as_str(),
        &format!("owner:{alice_term}"),
        &format!("{{owner}} : {alice_term} OR vault"),
        "vault OR zebra",
        "* OR vault",
        "NOT zebra",
        "' OR 1=1 --",
        "v*",
    ] {
        let hits = search(store, mallory.id, q).await;
        assert!(hits.items.iter().all(|h| h.conversation.id == own), "{q}: {hits:?}");
        // Not even as a rank: a page of one holds her one conversation or nothing, and no next page.
        let one = store.search(mallory.id, q, None, 1).await.expect("search");
        assert!(one.next.is_none() && one.items.len() <= 1, "{q}: {one:?}");
        assert!(
            hits.items.iter().all(|h| h.message.as_ref().is_none_or(|m| !marked(&m.snippet).contains("vault"))),
            "{q}"
        );
    }
}

async fn bad_queries_are_refused_or_empty_never_an_error(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "bad@example.com").await;
    let c = conversation(store, u.id, "Syntax", &["quotes \" and stars * and NEAR(x y) and col:on"]).await;
    for q in ["", "   ", "\"", "\"\"", "*", "()", "AND", "OR OR", "NEAR(", "col:", "^", "-", "'", "\\", "%", "a\0b"] {
        let r = store.search(u.id, q, None, 20).await;
        assert!(r.is_ok(), "{q:?}: {r:?}");
    }
    // Operators are words like any other.
    assert_eq!(found(store, u.id, "NEAR").await, [c]);
    assert_eq!(found(store, u.id, "col:on").await, [c]);
    assert!(matches!(store.search(u.id, &"word ".repeat(2000), None, 20).await, Err(DbError::Invalid(_))));
    assert!(matches!(store.search(u.id, &"x".repeat(10_000), None, 20).await, Err(DbError::Invalid(_))));
    assert!(matches!(store.search(u.id, "x", Some("not-a-cursor"), 20).await, Err(DbError::BadCursor)));
    assert!(matches!(store.search(u.id, "x", None, 0).await, Err(DbError::Invalid(_))));
}

async fn results_rank_by_relevance_then_recency_and_page_by_cursor(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "rank@example.com").await;
    // Twelve conversations saying "heron" once, in the same kind of sentence: ties, newest first.
    let mut plain = Vec::new();
    for i in 0..12 {
        plain.push(
            conversation(store, u.id, &format!("Walk {i}"), &["a grey heron stood by the river bank today"]).await,
        );
    }
    // One that is about herons, and one with heron in its title too.
    let about = conversation(store, u.id, "Birds", &["heron heron heron: heron"]).await;
    let titled = conversation(store, u.id, "Heron", &["a grey heron stood by the river bank today"]).await;
    let first = search(store, u.id, "heron").await;
    let order: Vec<Uuid> = first.items.iter().map(|h| h.conversation.id).collect();
    assert_eq!(order.len(), 14);
    let top: HashSet<Uuid> = order[..2].iter().copied().collect();
    assert_eq!(top, HashSet::from([about, titled]), "{order:?}");
    let mut newest_first = plain.clone();
    newest_first.reverse();
    assert_eq!(order[2..], newest_first[..], "equal scores: the most recently updated first");

    // Pages of five: every result once, in the same order, and the cursor belongs to this query.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.search(u.id, "heron", cursor.as_deref(), 5).await.expect("page");
        paged.extend(page.items.iter().map(|h| h.conversation.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(paged.len() <= 14);
    }
    assert_eq!(paged, order);
    let page = store.search(u.id, "heron", None, 5).await.expect("page");
    let other = store.search(u.id, "river", page.next.as_deref(), 5).await;
    assert!(matches!(other, Err(DbError::BadCursor)), "{other:?}");
}

async fn a_result_points_at_its_best_message_with_a_highlighted_snippet(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "snippet@example.com").await;
    let long = format!("{} <b>Kingfishers</b> dive for fish. {}", "Intro words. ".repeat(30), "More text. ".repeat(30));
    let c = conversation(store, u.id, "Rivers", &["nothing", long.as_str(), "kingfisher again"]).await;
    let hits = search(store, u.id, "kingfishers dive").await;
    let hit = &hits.items[0];
    assert_eq!(hit.conversation.id, c);
    let message = hit.message.as_ref().expect("a message matched");
    let page = store
        .list_messages(u.id, c, &mosaic_db::messages::MessageQuery { limit: 10, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(Some(message.id), page.items.iter().find(|m| m.content == long).map(|m| m.id));
    let snippet = marked(&message.snippet);
    assert!(snippet.starts_with('…') && snippet.ends_with('…'), "{snippet}");
    assert!(snippet.contains("<b>[Kingfishers]</b> [dive] for fish."), "markup stays text: {snippet}");
    assert!(snippet.len() < 300, "{snippet}");
}

/// Opening a result: the page around its message, with cursors to either side that page on from
/// there; a message of another conversation is not found.
async fn a_result_opens_on_the_page_around_its_message(engine: Engine) {
    use mosaic_db::messages::MessageQuery;
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "around@example.com").await;
    let bodies: Vec<String> = (0..30).map(|i| if i == 12 { "the needle".into() } else { format!("hay {i}") }).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let c = conversation(store, u.id, "Stack", &refs).await;
    let hit = search(store, u.id, "needle").await.items.remove(0);
    let anchor = hit.message.expect("matched message").id;
    let around = |limit| MessageQuery { around: Some(anchor), limit, ..Default::default() };
    let page = store.list_messages(u.id, c, &around(9)).await.expect("around");
    let contents: Vec<&str> = page.items.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["hay 8", "hay 9", "hay 10", "hay 11", "the needle", "hay 13", "hay 14", "hay 15", "hay 16"]);
    let earlier = store
        .list_messages(u.id, c, &MessageQuery { before: page.earlier.clone(), limit: 50, ..Default::default() })
        .await
        .expect("earlier");
    assert_eq!(earlier.items.len(), 8, "hay 0 to hay 7");
    assert!(earlier.earlier.is_none());
    let later = store
        .list_messages(u.id, c, &MessageQuery { after: page.later.clone(), limit: 50, ..Default::default() })
        .await
        .expect("later");
    assert_eq!(later.items.first().map(|m| m.content.as_str()), Some("hay 17"));
    assert_eq!(later.items.len(), 13);
    // Near the end: no later page.
    let whole = store.list_messages(u.id, c, &around(50)).await.expect("whole");
    assert_eq!((whole.items.len(), whole.earlier.is_none(), whole.later.is_none()), (30, true, true));
    // Another conversation's message, or another user's conversation: not found.
    let other = conversation(store, u.id, "Other", &["x"]).await;
    assert!(matches!(store.list_messages(u.id, other, &around(9)).await, Err(DbError::NotFound)));
    let mallory = user(store, "around-mallory@example.com").await;
    assert!(matches!(store.list_messages(mallory.id, c, &around(9)).await, Err(DbError::NotFound)));
}

/// SQLite reads the few candidates first and looks each row up (the CROSS JOINs fix that order):
/// the plan starts with the FTS5 scan forwards, has the backward one for a word in more messages
/// than the window, and scans no table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_the_candidates_first() {
    let db = mosaic_test_support::store(Engine::Sqlite).await;
    let Store::Sqlite(s) = &*db else { panic!("sqlite") };
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        mosaic_db::sqlite::sql::search::FTS5_CANDIDATES
    )))
    .bind(Uuid::nil())
    .bind("owner : \"u0\" AND words : (\"x\")")
    .bind(500i64)
    .bind(200i64)
    .bind(5000i64)
    .bind("latenc")
    .fetch_all(s.pool())
    .await
    .expect("plan");
    let plan: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    eprintln!("{plan:#?}");
    let steps: Vec<&str> = plan.iter().copied().filter(|l| l.starts_with("SCAN") || l.starts_with("SEARCH")).collect();
    assert!(steps[0].starts_with("SCAN message_search VIRTUAL TABLE"), "{plan:#?}");
    // The messages are read forwards (FTS5's plan 64) and, when there are more, backwards (192).
    let message_scans: Vec<&str> =
        steps.iter().copied().filter(|l| l.starts_with("SCAN message_search VIRTUAL TABLE")).collect();
    assert_eq!(
        message_scans,
        ["SCAN message_search VIRTUAL TABLE INDEX 64:M2", "SCAN message_search VIRTUAL TABLE INDEX 192:M2"],
        "{plan:#?}"
    );
    // Each message is looked up from a candidate (or from the queue waiting for the index, at most
    // 63 rows, read whole), then its conversation by its key.
    let lookups: Vec<usize> = (0..steps.len()).filter(|&i| steps[i].starts_with("SEARCH m ")).collect();
    assert_eq!(lookups.len(), 3, "{plan:#?}");
    for i in lookups {
        assert!(
            steps[i - 1] == "SCAN forwards" || steps[i - 1].starts_with("SCAN (subquery") || steps[i - 1] == "SCAN q",
            "{plan:#?}"
        );
        assert_eq!(steps[i], "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)", "{plan:#?}");
        assert_eq!(steps[i + 1], "SEARCH c USING INDEX sqlite_autoindex_conversations_1 (id=?)", "{plan:#?}");
    }
    assert!(
        !steps.iter().any(|l| l.starts_with("SCAN")
            && !l.contains("VIRTUAL TABLE")
            && !l.starts_with("SCAN (subquery")
            && *l != "SCAN forwards"
            && *l != "SCAN t"
            && *l != "SCAN q"),
        "no table is scanned: {plan:#?}"
    );
    assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "the index's own order, no sort: {plan:#?}");
}

/// SQLite keeps new and changed messages in a queue and moves them into FTS5 64 at a time (one
/// index segment for 64 messages, not one each): a queued message is found at once, only by its
/// owner, one deleted while queued leaves the queue, and the 64th moves them all into the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queues_messages_and_indexes_them_64_at_a_time() {
    let db = mosaic_test_support::store(Engine::Sqlite).await;
    let store: &Store = &db;
    let Store::Sqlite(s) = store else { panic!("sqlite") };
    let indexed = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM message_search WHERE message_search MATCH 'numbat'")
            .fetch_one(s.pool())
            .await
            .expect("index");
        n
    };
    let u = user(store, "queue@example.com").await;
    let other = user(store, "queue-other@example.com").await;
    let theirs = conversation(store, other.id, "Theirs", &["a numbat of theirs"]).await;
    let gone = conversation(store, u.id, "Gone", &["a numbat soon gone"]).await;
    assert_eq!(queued(s).await, 2);
    store.delete_conversation(u.id, gone).await.expect("delete");
    assert_eq!(queued(s).await, 1, "a deleted message leaves the queue");

    let mine = conversation(store, u.id, "Mine", &[]).await;
    for i in 0..QUEUE - 2 {
        store.append_message(u.id, mine, text(&format!("numbat number {i}"))).await.expect("append");
    }
    assert_eq!((queued(s).await, indexed().await), (QUEUE - 1, 0), "63 wait, none indexed yet");
    assert_eq!(found(store, u.id, "numbat").await, [mine], "queued messages are found at once, the owner's only");
    assert_eq!(found(store, other.id, "numbat").await, [theirs]);
    assert!(found(store, u.id, "soon").await.is_empty());

    store.append_message(u.id, mine, text("the last numbat")).await.expect("append");
    assert_eq!((queued(s).await, indexed().await), (0, QUEUE), "the 64th moves them all into the index");
    assert_eq!(found(store, u.id, "numbat").await, [mine]);
    assert_eq!(found(store, other.id, "numbat").await, [theirs]);
    assert_eq!(search(store, u.id, "last numbat").await.items.len(), 1);
}

/// A prefix longer than SQLite's prefix index (which FTS5 would answer by merging the lists of
/// every word that starts with it) is read through its cut, then checked: words that only share
/// the cut are not found, and an old match of the whole word is not crowded out by hundreds of
/// newer messages that share the cut.
async fn a_long_prefix_finds_its_words_and_only_them_however_old(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "long-prefix@example.com").await;
    let old = conversation(store, u.id, "Old", &["measured the Latency of the disk"]).await;
    let plural = conversation(store, u.id, "Plural", &["two latencies compared"]).await;
    let titled = conversation(store, u.id, "Latency budget", &["nothing else"]).await;
    let accented = conversation(store, u.id, "Accents", &["RÉSUMÉS sent"]).await;
    let newer = store.create_conversation(u.id, "Newer").await.expect("create");
    let crowd: Vec<NewMessage> = (0..mosaic_db::search::MESSAGE_WINDOW + 20)
        .map(|i| text(&format!("later today {i}, lateral thinking")))
        .collect();
    for m in crowd {
        store.append_message(u.id, newer.id, m).await.expect("append");
    }
    let got: HashSet<Uuid> = found(store, u.id, "latenc").await.into_iter().collect();
    assert_eq!(got, HashSet::from([old, plural, titled]), "every word starting with the prefix, nothing else");
    let got: HashSet<Uuid> = found(store, u.id, "latency").await.into_iter().collect();
    assert_eq!(got, HashSet::from([old, titled]));
    let hit = search(store, u.id, "measured latency").await;
    assert_eq!(hit.items.iter().map(|h| h.conversation.id).collect::<Vec<_>>(), [old]);
    assert_eq!(
        marked(&hit.items[0].message.as_ref().expect("message").snippet),
        "[measured] the [Latency] of the disk"
    );
    assert_eq!(found(store, u.id, "later").await, [newer.id], "a prefix as long as the index's is as it was");
    assert_eq!(found(store, u.id, "resumé").await, [accented], "accents and case folded in a long prefix too");
}

/// The candidates are every match when there are a window's worth or fewer (SQLite reads them
/// forwards, its fast direction), otherwise the newest window: a word in more messages than the
/// window finds the newest conversation that holds it, not the oldest ones.
async fn a_word_in_more_messages_than_the_window_ranks_its_newest(engine: Engine) {
    let db = mosaic_test_support::store(engine).await;
    let store: &Store = &db;
    let u = user(store, "window@example.com").await;
    let oldest = conversation(store, u.id, "Oldest", &["a wombat in the garden"]).await;
    let crowd = store.create_conversation(u.id, "Crowd").await.expect("create");
    let window = mosaic_db::search::MESSAGE_WINDOW as usize;
    for i in 0..window - 1 {
        store.append_message(u.id, crowd.id, text(&format!("wombat sighting {i}"))).await.expect("append");
    }
    let got: HashSet<Uuid> = found(store, u.id, "wombat").await.into_iter().collect();
    assert_eq!(got, HashSet::from([oldest, crowd.id]), "the window's worth of matches: every one of them");

    let newest = conversation(store, u.id, "Newest", &["the wombat came back"]).await;
    let got: HashSet<Uuid> = found(store, u.id, "wombat").await.into_iter().collect();
    assert_eq!(got, HashSet::from([crowd.id, newest]), "one more: the newest window, the oldest left out");
}
