-- At most one reply is being written per conversation, whichever server instance writes it: of two
-- sends racing into one conversation (on one instance or on several sharing this database), the
-- second one's insert fails and nothing of it is saved.
--
-- Replies a dead process left streaming beside a newer one are settled first (as the start-up
-- recovery would), keeping each conversation's newest.
UPDATE messages SET status = 'failed', status_reason = 'interrupted'
WHERE status = 'streaming'
  AND EXISTS (
      SELECT 1 FROM messages newer
      WHERE newer.conversation_id = messages.conversation_id
        AND newer.status = 'streaming'
        AND (newer.created_at, newer.id) > (messages.created_at, messages.id)
  );

CREATE UNIQUE INDEX messages_one_streaming_idx ON messages (conversation_id) WHERE status = 'streaming';
