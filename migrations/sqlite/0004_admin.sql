-- Admin and identity: the admin console's user listing, personal API tokens, platform
-- preferences (defaults and enforced keys) and the audit trail of admin actions.

-- The admin console lists users newest first, by keyset, and counts admins (the last one cannot
-- be removed).
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);
CREATE INDEX users_admins_idx ON users (id) WHERE role = 'admin' AND NOT banned;

-- Personal API tokens: only the SHA-256 of the secret is kept. A token acts for its user with its
-- scope; deleting the user deletes them.
CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC, id DESC);

-- The platform's preference layer: a default every user starts from (enforced = FALSE) or a value
-- the platform enforces over any user's own (enforced = TRUE).
CREATE TABLE platform_preferences (
    key         TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL CHECK (json_valid(value)),
    enforced    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);

-- Who did what to whom, when: every admin action, written in the transaction of the change. The
-- actor and target are copied (id and email) so the record outlives deleted users.
CREATE TABLE audit_log (
    id            BLOB PRIMARY KEY NOT NULL,
    actor_id      BLOB,
    actor_email   TEXT NOT NULL,
    action        TEXT NOT NULL,
    target_id     BLOB,
    target_label  TEXT,
    detail        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);
