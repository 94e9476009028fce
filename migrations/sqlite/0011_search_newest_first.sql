-- The search documents keyed by the negated rowids of their rows, so that the index's own order
-- (ascending: FTS5 reads a document list front to back, and seeks forward through it with its
-- doclist index) is newest first. Keyed by the rowids themselves, the newest matches had to be read
-- backwards (`ORDER BY rowid DESC`), and intersecting a rare word with the user's owner term (a
-- document list as long as the user's history) took 9 ms at 2 M messages instead of 1 ms.
--
-- The tables are rebuilt with everything else as 0009 made them (this reads every message once:
-- about a minute per million messages).

DROP TRIGGER messages_search_insert;
DROP TRIGGER messages_search_update;
DROP TRIGGER messages_search_delete;
DROP TRIGGER conversations_search_insert;
DROP TRIGGER conversations_search_update;
DROP TRIGGER conversations_search_delete;
DROP TABLE message_search;
DROP TABLE conversation_search;

CREATE VIRTUAL TABLE message_search USING fts5 (
    words, owner,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);

CREATE VIRTUAL TABLE conversation_search USING fts5 (
    words, owner,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);

INSERT INTO message_search (rowid, words, owner)
SELECT -m.rowid, m.content, 'u' || lower(hex(c.user_id))
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.status <> 'streaming';

INSERT INTO conversation_search (rowid, words, owner)
SELECT -rowid, title, 'u' || lower(hex(user_id)) FROM conversations;

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming'
BEGIN
    INSERT INTO message_search (rowid, words, owner)
    SELECT -new.rowid, new.content, 'u' || lower(hex(user_id)) FROM conversations WHERE id = new.conversation_id;
END;

-- Streaming saves (old and new both streaming) do not touch the index.
CREATE TRIGGER messages_search_update AFTER UPDATE OF content, status ON messages
WHEN old.status <> 'streaming' OR new.status <> 'streaming'
BEGIN
    DELETE FROM message_search WHERE rowid = -old.rowid AND old.status <> 'streaming';
    INSERT INTO message_search (rowid, words, owner)
    SELECT -new.rowid, new.content, 'u' || lower(hex(user_id)) FROM conversations
    WHERE id = new.conversation_id AND new.status <> 'streaming';
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
WHEN old.status <> 'streaming'
BEGIN
    DELETE FROM message_search WHERE rowid = -old.rowid;
END;

CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_search (rowid, words, owner) VALUES (-new.rowid, new.title, 'u' || lower(hex(new.user_id)));
END;

CREATE TRIGGER conversations_search_update AFTER UPDATE OF title ON conversations
BEGIN
    DELETE FROM conversation_search WHERE rowid = -old.rowid;
    INSERT INTO conversation_search (rowid, words, owner) VALUES (-new.rowid, new.title, 'u' || lower(hex(new.user_id)));
END;

CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations
BEGIN
    DELETE FROM conversation_search WHERE rowid = -old.rowid;
END;
