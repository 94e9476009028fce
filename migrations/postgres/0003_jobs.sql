-- Background jobs: which sign-in session wrote each agent log (ending it demotes them), summaries of
-- hot logs, claimed and retried job runs, and the indexes the sweeps and listings read.

-- The sign-in session that wrote a log (chat replies, POST /api/logs); NULL for older rows. Ending
-- that session, or its expiry, demotes its hot logs to warm.
ALTER TABLE agent_logs ADD COLUMN auth_session_id UUID;
CREATE INDEX agent_logs_auth_session_hot_idx ON agent_logs (auth_session_id) WHERE tier = 'hot';
-- GET /api/logs: the caller's own logs of one agent session, oldest first, by keyset (the
-- session-only index read other users' rows of the same session name too), and the cascade when a
-- user is deleted.
DROP INDEX agent_logs_session_created_idx;
CREATE INDEX agent_logs_user_session_created_idx ON agent_logs (user_id, session_id, created_at, id);

-- One summary per group of hot logs of one agent session, written in the same transaction that
-- moves the group to warm.
CREATE TABLE agent_log_summaries (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id    TEXT NOT NULL,
    first_log_at  BIGINT NOT NULL,
    last_log_at   BIGINT NOT NULL,
    log_count     INTEGER NOT NULL CHECK (log_count > 0),
    summary       TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('model', 'extractive')),
    model         TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX agent_log_summaries_session_idx ON agent_log_summaries (user_id, session_id, created_at, id);

-- A scheduled run is claimed by inserting its (job, scheduled time, attempt): with several
-- instances on one database exactly one insert wins, so a schedule runs once. Unscheduled runs
-- (the cold-start collect, a session's collect) have no scheduled time and never conflict.
ALTER TABLE job_runs ADD COLUMN scheduled_for BIGINT;
ALTER TABLE job_runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt > 0);
CREATE UNIQUE INDEX job_runs_claim_idx ON job_runs (job, scheduled_for, attempt);
-- The sweep deletes runs older than the retention window.
CREATE INDEX job_runs_started_at_idx ON job_runs (started_at);

-- The sweep deletes verifications past their expiry.
CREATE INDEX verifications_expires_at_idx ON verifications (expires_at);
