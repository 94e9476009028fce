-- Which instance writes each live reply, and until when each instance is known to be alive: an
-- instance renews its lease every few seconds; a reply still streaming whose instance's lease ran
-- out (the process died) is settled as failed ("interrupted") by a surviving instance, its text kept.
-- (SQLite serves one instance; the same rule settles what a killed process left.)
CREATE TABLE instances (
    id                BLOB PRIMARY KEY NOT NULL,
    started_at        INTEGER NOT NULL,
    lease_expires_at  INTEGER NOT NULL
);

-- The instance writing a streaming reply (NULL for rows written before leases, and for messages).
ALTER TABLE messages ADD COLUMN instance_id BLOB;
