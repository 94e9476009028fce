-- Full-text search over the user's conversation titles and messages, with SQLite's FTS5.
--
-- Two contentless tables (the text stays in `messages` and `conversations`; the index holds only the
-- terms): `contentless_delete` lets a row be removed by its rowid alone, which matters because a
-- cascade from a deleted conversation runs after the conversation row is gone. Each document carries
-- its owner as one term (`u` and the user id in hex) in a column of its own, so a search is the
-- intersection of the user's documents and the query, inside the index. The unicode61 tokenizer with
-- `remove_diacritics 2` folds case and accents, so "cafe" finds "Café". Prefixes of 2, 3 and 4
-- characters have index entries of their own, so the word being typed is one lookup, read lazily
-- like any term (without them FTS5 merges the lists of every word with that prefix first: 60 ms for
-- a prefix of a word in half of two million messages).
--
-- The index follows the rows by triggers, in the writing transaction: a message is findable the
-- moment it is saved, a deleted conversation leaves the index with it, and nothing runs apart. A reply
-- still being written is indexed when it settles (its partial text is saved every second; indexing
-- every one of those saves would cost the writer and find half sentences).
--
-- The documents are keyed by the rows' rowids. A later migration that rebuilds `messages` or
-- `conversations` (a copy into a new table) must fill these tables again, as this one does below.

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
SELECT m.rowid, m.content, 'u' || lower(hex(c.user_id))
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.status <> 'streaming';

INSERT INTO conversation_search (rowid, words, owner)
SELECT rowid, title, 'u' || lower(hex(user_id)) FROM conversations;

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming'
BEGIN
    INSERT INTO message_search (rowid, words, owner)
    SELECT new.rowid, new.content, 'u' || lower(hex(user_id)) FROM conversations WHERE id = new.conversation_id;
END;

-- Streaming saves (old and new both streaming) do not touch the index.
CREATE TRIGGER messages_search_update AFTER UPDATE OF content, status ON messages
WHEN old.status <> 'streaming' OR new.status <> 'streaming'
BEGIN
    DELETE FROM message_search WHERE rowid = old.rowid AND old.status <> 'streaming';
    INSERT INTO message_search (rowid, words, owner)
    SELECT new.rowid, new.content, 'u' || lower(hex(user_id)) FROM conversations
    WHERE id = new.conversation_id AND new.status <> 'streaming';
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
WHEN old.status <> 'streaming'
BEGIN
    DELETE FROM message_search WHERE rowid = old.rowid;
END;

CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_search (rowid, words, owner) VALUES (new.rowid, new.title, 'u' || lower(hex(new.user_id)));
END;

CREATE TRIGGER conversations_search_update AFTER UPDATE OF title ON conversations
BEGIN
    DELETE FROM conversation_search WHERE rowid = old.rowid;
    INSERT INTO conversation_search (rowid, words, owner) VALUES (new.rowid, new.title, 'u' || lower(hex(new.user_id)));
END;

CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations
BEGIN
    DELETE FROM conversation_search WHERE rowid = old.rowid;
END;
