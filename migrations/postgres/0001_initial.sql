-- Mosaic schema for PostgreSQL.
-- Ids are UUIDv7 native UUIDs; timestamps are BIGINT microseconds since the Unix epoch (UTC),
-- the same representation as the SQLite schema so keyset cursors mean the same thing on both engines.

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    image           TEXT,
    role            TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    banned          BOOLEAN NOT NULL DEFAULT FALSE,
    ban_reason      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE sessions (
    id                  UUID PRIMARY KEY,
    user_id             UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash          BYTEA NOT NULL UNIQUE,
    ip_address          TEXT,
    user_agent          TEXT,
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    -- min(absolute_expires_at, last_seen_at + idle timeout): the one column validity and GC look at.
    expires_at          BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE accounts (
    id                       UUID PRIMARY KEY,
    user_id                  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id              TEXT NOT NULL,
    account_id               TEXT NOT NULL,
    -- argon2id PHC string for provider 'credential' (email + password); NULL for OAuth/OIDC accounts.
    password                 TEXT,
    access_token             TEXT,
    refresh_token            TEXT,
    id_token                 TEXT,
    access_token_expires_at  BIGINT,
    refresh_token_expires_at BIGINT,
    scope                    TEXT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_provider_account_idx ON accounts (provider_id, account_id);
CREATE INDEX accounts_user_id_idx ON accounts (user_id);

CREATE TABLE verifications (
    id          UUID PRIMARY KEY,
    identifier  TEXT NOT NULL,
    value       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX verifications_identifier_idx ON verifications (identifier);

CREATE TABLE conversations (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- The seed's (user_id, archived) index, extended with the keyset order so the sidebar query
-- (newest-updated first, by cursor) is one index range scan at any depth.
CREATE INDEX conversations_user_archived_idx
    ON conversations (user_id, archived, updated_at DESC, id DESC);

CREATE TABLE messages (
    id               UUID PRIMARY KEY,
    conversation_id  UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content          TEXT NOT NULL,
    metadata         JSONB NOT NULL DEFAULT '{}',
    -- 'complete', or 'incomplete' for a reply cut short (abort, provider failure).
    status           TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ('complete', 'incomplete')),
    created_at       BIGINT NOT NULL
);
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at, id);

CREATE TABLE preferences (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       JSONB NOT NULL,
    mutable     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX preferences_user_key_idx ON preferences (user_id, key);

CREATE TABLE agent_logs (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    category    TEXT NOT NULL,
    content     TEXT NOT NULL,
    metadata    JSONB NOT NULL DEFAULT '{}',
    tier        TEXT NOT NULL DEFAULT 'hot' CHECK (tier IN ('hot', 'warm', 'cold')),
    summary     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- The seed's two agent_logs indexes, each extended with the keyset order (created_at, id).
CREATE INDEX agent_logs_session_tier_idx ON agent_logs (session_id, tier, created_at, id);
CREATE INDEX agent_logs_tier_created_at_idx ON agent_logs (tier, created_at, id);
CREATE INDEX agent_logs_session_created_idx ON agent_logs (session_id, created_at, id);

-- One row per run of a background job (session GC, log tiering, ...), for admins and for tests.
CREATE TABLE job_runs (
    id           UUID PRIMARY KEY,
    job          TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    detail       JSONB NOT NULL DEFAULT '{}',
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX job_runs_job_started_idx ON job_runs (job, started_at DESC);
