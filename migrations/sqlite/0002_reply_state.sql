-- A reply's state becomes a type: 'streaming', 'complete', 'stopped' or 'failed', with the reason a
-- reply stopped or failed in its own column. Before, a reply was 'complete' or 'incomplete' and the
-- difference between stopped, failed and still running was a convention in metadata.error.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt. Existing rows map as:
-- complete -> complete; incomplete with error "stopped" -> stopped; incomplete with another error ->
-- failed with that error as the reason; incomplete without an error -> streaming (the reply of a
-- process that is gone; the next start settles it as failed, "interrupted", keeping its text).

CREATE TABLE messages_new (
    id               BLOB PRIMARY KEY NOT NULL,
    conversation_id  BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content          TEXT NOT NULL,
    metadata         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    status           TEXT NOT NULL DEFAULT 'complete'
                     CHECK (status IN ('streaming', 'complete', 'stopped', 'failed')),
    -- Why a reply stopped (optional) or failed (required); nothing else has a reason.
    status_reason    TEXT,
    created_at       INTEGER NOT NULL,
    CHECK (status <> 'failed' OR status_reason IS NOT NULL),
    CHECK (status IN ('stopped', 'failed') OR status_reason IS NULL)
);

INSERT INTO messages_new (id, conversation_id, role, content, metadata, status, status_reason, created_at)
SELECT id, conversation_id, role, content, json_remove(metadata, '$.error'),
       CASE
           WHEN status = 'complete' THEN 'complete'
           WHEN json_extract(metadata, '$.error') = 'stopped' THEN 'stopped'
           WHEN json_extract(metadata, '$.error') IS NOT NULL THEN 'failed'
           ELSE 'streaming'
       END,
       CASE
           WHEN status <> 'complete' AND json_extract(metadata, '$.error') <> 'stopped'
           THEN CAST(json_extract(metadata, '$.error') AS TEXT)
       END,
       created_at
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at, id);
-- Replies still being written: few at any time, found at startup without scanning every message.
CREATE INDEX messages_streaming_idx ON messages (created_at) WHERE status = 'streaming';
