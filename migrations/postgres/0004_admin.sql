-- Admin and identity: the admin console's user listing, personal API tokens, platform
-- preferences (defaults and enforced keys) and the audit trail of admin actions.

-- The admin console lists users newest first, by keyset, and counts admins (the last one cannot
-- be removed).
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);
CREATE INDEX users_admins_idx ON users (id) WHERE role = 'admin' AND NOT banned;

-- Personal API tokens: only the SHA-256 of the secret is kept. A token acts for its user with its
-- scope; deleting the user deletes them.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC, id DESC);

-- The platform's preference layer: a default every user starts from (enforced = FALSE) or a value
-- the platform enforces over any user's own (enforced = TRUE).
CREATE TABLE platform_preferences (
    key         TEXT PRIMARY KEY,
    value       JSONB NOT NULL,
    enforced    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at  BIGINT NOT NULL
);

-- Who did what to whom, when: every admin action, written in the transaction of the change. The
-- actor and target are copied (id and email) so the record outlives deleted users.
CREATE TABLE audit_log (
    id            UUID PRIMARY KEY,
    actor_id      UUID,
    actor_email   TEXT NOT NULL,
    action        TEXT NOT NULL,
    target_id     UUID,
    target_label  TEXT,
    detail        JSONB NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);
