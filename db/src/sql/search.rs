//! Search: each engine's candidate statement (its own full-text machinery, migrations 0009), then
//! the rows of the page, read the same way on both. The rules (what a query means, ranking,
//! snippets) are in `crate::search`.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Backend, Db};
use crate::conversations::check_limit;
use crate::cursor::{CursorKind, RankCursor};
use crate::error::DbResult;
use crate::model::{Conversation, MatchedMessage, Message, Page, SearchHit};
use crate::search::{rank, Candidate, SearchQuery, MESSAGE_WINDOW, TITLE_WINDOW};

/// SQLite: the newest matching messages and titles of the user (the owner term is in the MATCH
/// expression `$2`, so FTS5 intersects inside the index), scored by bm25 (negated: higher is
/// better). `ORDER BY rowid DESC` is the index's own order, so `LIMIT` stops the scan and only the
/// rows kept are scored. The joins check ownership again on the rows themselves.
pub const FTS5_CANDIDATES: &str = "SELECT m.conversation_id, c.updated_at, m.id AS message_id, h.score
     FROM (SELECT rowid AS r, -bm25(message_search, 1.0, 0.0) AS score FROM message_search
           WHERE message_search MATCH $2 ORDER BY rowid DESC LIMIT $3) h
     JOIN messages m ON m.rowid = h.r
     JOIN conversations c ON c.id = m.conversation_id AND c.user_id = $1
     UNION ALL
     SELECT c.id, c.updated_at, NULL, t.score
     FROM (SELECT rowid AS r, -bm25(conversation_search, 1.0, 0.0) AS score FROM conversation_search
           WHERE conversation_search MATCH $2 ORDER BY rowid DESC LIMIT $4) t
     JOIN conversations c ON c.rowid = t.r AND c.user_id = $1";

/// PostgreSQL: the newest matching messages and titles of the user (GIN on the generated
/// `search` vectors), scored by `ts_rank`.
pub const TSQUERY_CANDIDATES: &str = "SELECT * FROM (
         SELECT m.conversation_id, c.updated_at, m.id AS message_id, ts_rank(m.search, q)::float8 AS score
         FROM messages m JOIN conversations c ON c.id = m.conversation_id,
              to_tsquery('mosaic_search', $2) q
         WHERE c.user_id = $1 AND m.search @@ q
         ORDER BY m.created_at DESC LIMIT $3) hits
     UNION ALL
     SELECT * FROM (
         SELECT c.id, c.updated_at, NULL::uuid, ts_rank(c.search, q)::float8
         FROM conversations c, to_tsquery('mosaic_search', $2) q
         WHERE c.user_id = $1 AND c.search @@ q
         ORDER BY c.updated_at DESC LIMIT $4) titles";

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
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<(Uuid, i64, Option<Uuid>, f64)> = sqlx::query_as(Self::SEARCH_CANDIDATES)
            .bind(user_id)
            .bind(Self::search_text(query, user_id))
            .bind(MESSAGE_WINDOW)
            .bind(TITLE_WINDOW)
            .fetch_all(&mut *conn)
            .await?;
        let candidates = rows
            .into_iter()
            .map(|(conversation_id, updated_at, message_id, score)| Candidate {
                conversation_id,
                updated_at,
                message_id,
                score,
            })
            .collect();
        let (ranked, next) = rank(candidates, after, limit as usize, scope);
        if ranked.is_empty() {
            return Ok(Page { items: Vec::new(), next });
        }

        let mut read = sqlx::QueryBuilder::<Db>::new(
            "SELECT id, title, archived, created_at, updated_at FROM conversations WHERE user_id = ",
        );
        read.push_bind(user_id).push(" AND id IN (");
        let mut ids = read.separated(", ");
        for r in &ranked {
            ids.push_bind(r.conversation_id);
        }
        read.push(")");
        let conversations: HashMap<Uuid, Conversation> =
            read.build_query_as::<Conversation>().fetch_all(&mut *conn).await?.into_iter().map(|c| (c.id, c)).collect();

        let mut messages: HashMap<Uuid, Message> = HashMap::new();
        if ranked.iter().any(|r| r.message_id.is_some()) {
            let mut read = sqlx::QueryBuilder::<Db>::new(
                "SELECT id, conversation_id, role, content, metadata, status, status_reason, created_at
                 FROM messages WHERE id IN (",
            );
            let mut ids = read.separated(", ");
            for id in ranked.iter().filter_map(|r| r.message_id) {
                ids.push_bind(id);
            }
            read.push(")");
            messages =
                read.build_query_as::<Message>().fetch_all(&mut *conn).await?.into_iter().map(|m| (m.id, m)).collect();
        }

        // A conversation deleted between the two reads is left out.
        let items = ranked
            .into_iter()
            .filter_map(|r| {
                let conversation = conversations.get(&r.conversation_id)?.clone();
                let message = r.message_id.and_then(|id| messages.get(&id)).map(|m| MatchedMessage {
                    id: m.id,
                    role: m.role,
                    created_at: m.created_at,
                    snippet: query.snippet(&m.content),
                });
                Some(SearchHit { title: query.highlight(&conversation.title), conversation, message })
            })
            .collect();
        Ok(Page { items, next })
    }
}
