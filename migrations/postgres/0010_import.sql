-- Importing history from elsewhere (a Mosaic archive, ChatGPT's or Open WebUI's export).
--
-- An imported conversation remembers where it came from (`source_id`: the source's own id, such
-- as `chatgpt:<conversation id>`), one per user: importing the same file twice finds them and adds
-- nothing.
ALTER TABLE conversations ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX conversations_user_source_idx ON conversations (user_id, source_id) WHERE source_id IS NOT NULL;

-- One row per import the user started, for its progress page (read by whichever instance serves
-- the page) and its outcome.
CREATE TABLE imports (
    id          UUID PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    format      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('checking', 'importing', 'done', 'failed')),
    -- Conversations read so far (checking) or written so far (importing), of `total`.
    done        BIGINT NOT NULL DEFAULT 0,
    total       BIGINT,
    imported    BIGINT NOT NULL DEFAULT 0,
    skipped     BIGINT NOT NULL DEFAULT 0,
    messages    BIGINT NOT NULL DEFAULT 0,
    -- Why it failed, or the entries skipped as bad (when the user asked to skip them).
    problem     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX imports_user_created_idx ON imports (user_id, created_at);
