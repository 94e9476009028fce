//! Search: each engine's candidate statement (its own full-text machinery, migrations 0009) and
//! the page built from what it returns. The rules (what a query means, scoring, ranking, snippets)
//! are in `crate::search`. One statement per search: the candidates come with their conversation
//! and their text, which the scoring and the snippets need.

use std::collections::HashMap;

use uuid::Uuid;

use super::Backend;
use crate::conversations::check_limit;
use crate::cursor::{CursorKind, RankCursor};
use crate::error::DbResult;
use crate::model::{Conversation, MatchedMessage, MessageRole, Page, SearchHit};
use crate::search::{rank, Candidate, SearchQuery, CUT_PREFIX_SCAN, MESSAGE_WINDOW, TITLE_WEIGHT, TITLE_WINDOW};

/// SQLite: the newest matching messages and titles of the user (the owner term is in the MATCH
/// expression `$2`, so FTS5 intersects inside the index). `ORDER BY rowid DESC` is the index's own
/// order, so `LIMIT` stops the scan. Reading a doclist backwards costs FTS5 far more than forwards
/// (a word in 200 of 2 M messages: 9 ms against 1.2), so the messages are first read forwards, at
/// most one more than the window: when that finds the window or fewer, it found every match and the
/// backward scan is skipped (its `LIMIT` is 0); otherwise the backward scan finds the newest. The joins check ownership again on the rows themselves; they are CROSS
/// JOINs because that fixes SQLite's join order: the few candidates first, each row looked up by
/// rowid (left to itself, the planner walked the user's conversations and all their messages, and
/// probed the candidates: 0.5 to 1 s at 2 M messages).
///
/// `$6` is a long prefix that `$2` matched by its cut (see `SearchQuery::fts5`), or empty: then up
/// to `$5` documents are read for the `$3` and `$4` that hold it: an ASCII text must contain it
/// (ignoring case), any other is kept for the exact check in Rust (`SearchQuery::holds_as_typed`), which
/// folds accents.
///
/// The messages still waiting in the queue for the index (migration 0011, at most 63) come last,
/// every one of the user's, marked `queued` for the check in Rust ([`SearchQuery::holds_all`]);
/// with their rowids, so the newest window is taken over both.
pub const FTS5_CANDIDATES: &str = "WITH forwards AS MATERIALIZED (
         SELECT rowid AS r FROM message_search WHERE message_search MATCH $2 ORDER BY rowid LIMIT $3 + 1)
     SELECT * FROM (
         SELECT c.id, c.title, c.archived, c.created_at, c.updated_at,
                m.id AS message_id, m.role, m.created_at AS message_at, m.content, m.rowid AS place, 0 AS queued
         FROM (SELECT r FROM forwards WHERE (SELECT count(*) FROM forwards) <= $3
               UNION ALL
               SELECT * FROM (SELECT rowid AS r FROM message_search WHERE message_search MATCH $2 ORDER BY rowid DESC
                              LIMIT CASE WHEN (SELECT count(*) FROM forwards) <= $3 THEN 0 ELSE $5 END)) h
         CROSS JOIN messages m ON m.rowid = h.r
         CROSS JOIN conversations c ON c.id = m.conversation_id AND c.user_id = $1
         WHERE $6 = '' OR octet_length(m.content) <> length(m.content) OR instr(lower(m.content), $6) > 0
         LIMIT $3)
     UNION ALL
     SELECT * FROM (
         SELECT c.id, c.title, c.archived, c.created_at, c.updated_at, NULL, NULL, NULL, NULL, NULL, 0
         FROM (SELECT rowid AS r FROM conversation_search WHERE conversation_search MATCH $2 ORDER BY rowid DESC LIMIT $5) t
         CROSS JOIN conversations c ON c.rowid = t.r AND c.user_id = $1
         WHERE $6 = '' OR octet_length(c.title) <> length(c.title) OR instr(lower(c.title), $6) > 0
         LIMIT $4)
     UNION ALL
     SELECT c.id, c.title, c.archived, c.created_at, c.updated_at, m.id, m.role, m.created_at, m.content, m.rowid, 1
     FROM message_search_queue q
     CROSS JOIN messages m ON m.rowid = q.message
     CROSS JOIN conversations c ON c.id = m.conversation_id AND c.user_id = $1";

/// PostgreSQL: the newest matching messages and titles of the user (GIN on the generated
/// `search` vectors).
pub const TSQUERY_CANDIDATES: &str = "SELECT * FROM (
         SELECT c.id, c.title, c.archived, c.created_at, c.updated_at,
                m.id AS message_id, m.role, m.created_at AS message_at, m.content, NULL::bigint AS place,
                false AS queued
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.user_id = $1 AND m.search @@ to_tsquery('mosaic_search', $2)
         ORDER BY m.created_at DESC LIMIT $3) hits
     UNION ALL
     SELECT * FROM (
         SELECT c.id, c.title, c.archived, c.created_at, c.updated_at, NULL::uuid, NULL::text, NULL::bigint, NULL::text,
                NULL::bigint, false
         FROM conversations c
         WHERE c.user_id = $1 AND c.search @@ to_tsquery('mosaic_search', $2)
         ORDER BY c.updated_at DESC LIMIT $4) titles";

/// A candidate row: the conversation, and the message when it is a message that matched (with, on
/// SQLite, its rowid and whether it still waits for the index, unchecked).
type Row = (Uuid, String, bool, i64, i64, Option<Uuid>, Option<String>, Option<i64>, Option<String>, Option<i64>, bool);

impl Backend {
    pub(crate) async fn search(
        &self,
        user_id: Uuid,
        query: &SearchQuery,
        cursor: Option<&str>,
        limit: u32,
    ) -> DbResult<Page<SearchHit>> {
        let limit = check_limit(limit)?;
        let scope = query.scope();
        let after =
            cursor.filter(|c| !c.is_empty()).map(|c| RankCursor::decode(c, CursorKind::Search, scope)).transpose()?;
        let mut candidates = sqlx::query_as::<_, Row>(Self::SEARCH_CANDIDATES)
            .bind(user_id)
            .bind(Self::search_text(query, user_id))
            .bind(MESSAGE_WINDOW)
            .bind(TITLE_WINDOW);
        if Self::SEARCH_CUTS_PREFIXES {
            let (scan, prefix) = match query.long_prefix() {
                Some(prefix) => (CUT_PREFIX_SCAN, prefix),
                None => (MESSAGE_WINDOW.max(TITLE_WINDOW), ""),
            };
            candidates = candidates.bind(scan).bind(prefix.to_string());
        }
        let rows = candidates.fetch_all(&self.pool).await?;
        let cut = Self::SEARCH_CUTS_PREFIXES && query.long_prefix().is_some();

        let mut conversations: HashMap<Uuid, Conversation> = HashMap::new();
        let mut messages: HashMap<Uuid, (MessageRole, i64, String)> = HashMap::new();
        let (mut found, mut titles) = (Vec::new(), Vec::new());
        let (mut tallies, mut title_tallies) = (Vec::new(), Vec::new());
        for (id, title, archived, created_at, updated_at, message, role, at, content, place, queued) in rows {
            // Each text is read once, for its score and, after a cut prefix, to leave out what
            // the cut found beyond the prefix as typed; a queued message is matched here.
            match (message, role, at, content) {
                (Some(message), Some(role), Some(at), Some(content)) => {
                    let tally = query.tally(&content);
                    let holds = if queued { query.holds_all(&tally) } else { !cut || query.holds_as_typed(&tally) };
                    if !holds {
                        continue;
                    }
                    let role = MessageRole::try_from(role).map_err(crate::DbError::Internal)?;
                    messages.insert(message, (role, at, content));
                    found.push((id, message, place));
                    tallies.push(tally);
                }
                _ => {
                    let tally = query.tally(&title);
                    if cut && !query.holds_as_typed(&tally) {
                        continue;
                    }
                    titles.push(id);
                    title_tallies.push(tally);
                }
            }
            conversations.entry(id).or_insert_with(|| Conversation { id, title, archived, created_at, updated_at });
        }
        // The index's window and the queue together can hold more than a window's worth (only
        // on SQLite, whose rows come with their rowids): the newest window of them.
        // The order of the candidates does not matter: scoring and ranking do not depend on it.
        if found.len() > MESSAGE_WINDOW as usize {
            let mut both: Vec<_> = found.into_iter().zip(tallies).collect();
            both.sort_unstable_by_key(|((_, _, place), _)| std::cmp::Reverse(*place));
            both.truncate(MESSAGE_WINDOW as usize);
            (found, tallies) = both.into_iter().unzip();
        }
        let scores = query.bm25(&tallies);
        let title_scores = query.bm25(&title_tallies);
        let updated = |c: &Uuid| conversations[c].updated_at;
        let candidates = found
            .iter()
            .zip(scores)
            .map(|(&(c, m, _), score)| Candidate {
                conversation_id: c,
                updated_at: updated(&c),
                message_id: Some(m),
                score,
            })
            .chain(titles.iter().zip(title_scores).map(|(&c, score)| Candidate {
                conversation_id: c,
                updated_at: updated(&c),
                message_id: None,
                score: score * TITLE_WEIGHT,
            }))
            .collect();
        let (ranked, next) = rank(candidates, after, limit as usize, scope);
        let items = ranked
            .into_iter()
            .filter_map(|r| {
                let conversation = conversations.remove(&r.conversation_id)?;
                let message = r.message_id.and_then(|id| {
                    let (role, created_at, content) = messages.get(&id)?;
                    Some(MatchedMessage { id, role: *role, created_at: *created_at, snippet: query.snippet(content) })
                });
                Some(SearchHit { title: query.highlight(&conversation.title), conversation, message })
            })
            .collect();
        Ok(Page { items, next })
    }
}
