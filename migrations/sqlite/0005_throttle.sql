-- The sign-in and sign-up throttle, shared by every instance on this database. A row counts the
-- attempts of one key (a SHA-256 digest: the account, the account and client pair, or the client)
-- in a window that ends at expires_at; the sweep deletes rows past it.
CREATE TABLE attempts (
    key         BLOB PRIMARY KEY NOT NULL,
    hits        INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX attempts_expires_idx ON attempts (expires_at);
