-- A reply's state becomes a type: 'streaming', 'complete', 'stopped' or 'failed', with the reason a
-- reply stopped or failed in its own column. Before, a reply was 'complete' or 'incomplete' and the
-- difference between stopped, failed and still running was a convention in metadata.error.
--
-- Existing rows map as: complete -> complete; incomplete with error "stopped" -> stopped; incomplete
-- with another error -> failed with that error as the reason; incomplete without an error ->
-- streaming (the reply of a process that is gone; the next start settles it as failed,
-- "interrupted", keeping its text).

ALTER TABLE messages DROP CONSTRAINT messages_status_check;
-- Why a reply stopped (optional) or failed (required); nothing else has a reason.
ALTER TABLE messages ADD COLUMN status_reason TEXT;

UPDATE messages SET
    status = CASE
        WHEN metadata->>'error' = 'stopped' THEN 'stopped'
        WHEN metadata->>'error' IS NOT NULL THEN 'failed'
        ELSE 'streaming'
    END,
    status_reason = CASE
        WHEN metadata->>'error' IS NOT NULL AND metadata->>'error' <> 'stopped' THEN metadata->>'error'
    END
WHERE status = 'incomplete';
UPDATE messages SET metadata = metadata - 'error' WHERE metadata ? 'error';

ALTER TABLE messages
    ADD CONSTRAINT messages_status_check CHECK (status IN ('streaming', 'complete', 'stopped', 'failed')),
    ADD CONSTRAINT messages_status_reason_check CHECK (
        (status <> 'failed' OR status_reason IS NOT NULL)
        AND (status IN ('stopped', 'failed') OR status_reason IS NULL)
    );

-- Replies still being written: few at any time, found at startup without scanning every message.
CREATE INDEX messages_streaming_idx ON messages (created_at) WHERE status = 'streaming';
