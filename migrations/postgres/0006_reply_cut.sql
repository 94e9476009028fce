-- A complete reply may carry a reason: 'length' when it was cut at the reply limit (Mosaic's own
-- MOSAIC_REPLY_MAX_CHARS, or the provider's max_tokens). Stopped and failed replies keep theirs;
-- streaming replies have none.

ALTER TABLE messages
    DROP CONSTRAINT messages_status_reason_check,
    ADD CONSTRAINT messages_status_reason_check CHECK (
        (status <> 'failed' OR status_reason IS NOT NULL)
        AND (status <> 'streaming' OR status_reason IS NULL)
        AND (status <> 'complete' OR status_reason IS NULL OR status_reason = 'length')
    );
