-- A complete reply may carry a reason: 'length' when it was cut at the reply limit (Mosaic's own
-- MOSAIC_REPLY_MAX_CHARS, or the provider's max_tokens). Stopped and failed replies keep theirs;
-- streaming replies have none.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt; every row is copied as it is.

CREATE TABLE messages_new (
    id               BLOB PRIMARY KEY NOT NULL,
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content          TEXT NOT NULL,
    metadata         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    status           TEXT NOT NULL DEFAULT 'complete'
                     CHECK (status IN ('streaming', 'complete', 'stopped', 'failed')),
    -- Why a reply stopped (optional), failed (required) or was cut ('length'); nothing else has one.
    status_reason    TEXT,
    created_at       INTEGER NOT NULL,
    CHECK (status <> 'failed' OR status_reason IS NOT NULL),
    CHECK (status <> 'streaming' OR status_reason IS NULL),
    CHECK (status <> 'complete' OR status_reason IS NULL OR status_reason = 'length')
);

INSERT INTO messages_new (id, conversation_id, role, content, metadata, status, status_reason, created_at)
SELECT id, conversation_id, role, content, metadata, status, status_reason, created_at FROM messages;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at, id);
-- Replies still being written: few at any time, found at startup without scanning every message.
CREATE INDEX messages_streaming_idx ON messages (created_at) WHERE status = 'streaming';
