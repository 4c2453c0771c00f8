-- Mirrors migrations/sqlite/0003_sync.sql.

ALTER TABLE cases ADD COLUMN shared_up BIGINT NOT NULL DEFAULT 0;

CREATE TABLE outbox (
    seq         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    TEXT    NOT NULL UNIQUE REFERENCES case_events (event_id),
    enqueued_at BIGINT  NOT NULL
);

CREATE TABLE cursors (
    peer       TEXT    PRIMARY KEY,
    position   BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
