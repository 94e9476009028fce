-- New and changed messages wait in a short queue before they enter the FTS5 index.
--
-- FTS5 writes what a transaction added as a new segment of the index at every commit, whatever
-- its options (`tools/fts-write-cost.py` measures it apart from Mosaic): kept in step one message
-- at a time, the index made appending a message 38 to 65 % slower (`server append-cost`, 400 000
-- messages). So a saved message is written to `message_search_queue` (its rowid), in the same
-- transaction, and the transaction that brings the queue to 64 messages moves them all into the
-- index at once: one segment for 64 messages (9 to 15 % slower than no index at all). Nothing
-- runs apart and nothing is rebuilt.
--
-- A queued message is still found at once: the search reads the user's queued messages too and
-- matches them with the same rules in Rust (`db/src/sql/search.rs`). A deleted message leaves the
-- queue or the index with its row; a changed one leaves the index and waits in the queue again.

CREATE TABLE message_search_queue (message INTEGER PRIMARY KEY);

DROP TRIGGER messages_search_insert;
DROP TRIGGER messages_search_update;
DROP TRIGGER messages_search_delete;

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming'
BEGIN
    INSERT INTO message_search_queue (message) VALUES (new.rowid);
END;

-- Streaming saves (old and new both streaming) touch neither the queue nor the index. A settled
-- message that changes leaves the index (if it was there) and waits in the queue again.
CREATE TRIGGER messages_search_update AFTER UPDATE OF content, status ON messages
WHEN old.status <> 'streaming' OR new.status <> 'streaming'
BEGIN
    DELETE FROM message_search WHERE rowid = old.rowid AND old.status <> 'streaming'
        AND NOT EXISTS (SELECT 1 FROM message_search_queue WHERE message = old.rowid);
    DELETE FROM message_search_queue WHERE message = old.rowid AND new.status = 'streaming';
    INSERT OR IGNORE INTO message_search_queue (message) SELECT new.rowid WHERE new.status <> 'streaming';
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
WHEN old.status <> 'streaming'
BEGIN
    DELETE FROM message_search WHERE rowid = old.rowid
        AND NOT EXISTS (SELECT 1 FROM message_search_queue WHERE message = old.rowid);
    DELETE FROM message_search_queue WHERE message = old.rowid;
END;

-- The 64th queued message moves the queue into the index (64: the write cost per message falls
-- little beyond it, and a search reads at most 63 queued texts). The CROSS JOINs fix the order:
-- the queue first, each message looked up by rowid (left to itself, the planner scanned every
-- message and probed the queue: 3 ms an append at 400 000 messages).
CREATE TRIGGER message_search_queue_full AFTER INSERT ON message_search_queue
WHEN (SELECT count(*) FROM message_search_queue) >= 64
BEGIN
    INSERT INTO message_search (rowid, words, owner)
    SELECT m.rowid, m.content, 'u' || lower(hex(c.user_id))
    FROM message_search_queue q
    CROSS JOIN messages m ON m.rowid = q.message
    CROSS JOIN conversations c ON c.id = m.conversation_id;
    DELETE FROM message_search_queue;
END;
