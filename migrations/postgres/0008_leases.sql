-- Which instance writes each live reply, and until when each instance is known to be alive: an
-- instance renews its lease every few seconds; a reply still streaming whose instance's lease ran
-- out (the process died) is settled as failed ("interrupted") by a surviving instance, its text kept.
CREATE TABLE instances (
    id                UUID PRIMARY KEY,
    started_at        BIGINT NOT NULL,
    lease_expires_at  BIGINT NOT NULL
);

-- The instance writing a streaming reply (NULL for rows written before leases, and for messages).
ALTER TABLE messages ADD COLUMN instance_id UUID;
