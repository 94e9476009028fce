-- Full-text search over the user's conversation titles and messages, with PostgreSQL's own text
-- search: a generated tsvector per row, indexed with GIN, so the index is always in step with the
-- row (written in the same statement), with nothing to rebuild and nothing running apart.
--
-- The `mosaic_search` configuration is `simple` (no stemming, no stop words: the same terms SQLite's
-- FTS5 finds) with `unaccent` in front for words with non-ASCII letters, so "cafe" finds "Café";
-- `simple` lowercases. `unaccent` ships with PostgreSQL (contrib) and is a trusted extension: the
-- database owner may create it.
--
-- A reply still being written has no vector (NULL): it is indexed when it settles, not at every
-- partial save.

CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH CONFIGURATION mosaic_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION mosaic_search
    ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple;

ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN status = 'streaming' THEN NULL ELSE to_tsvector('mosaic_search', content) END
) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search);

ALTER TABLE conversations ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('mosaic_search', title)) STORED;
CREATE INDEX conversations_search_idx ON conversations USING gin (search);
