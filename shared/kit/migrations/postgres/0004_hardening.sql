-- Mirrors migrations/sqlite/0004_hardening.sql.

ALTER TABLE cases ADD COLUMN state_doc TEXT;

ALTER TABLE outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

CREATE TABLE dead_letters (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    direction   TEXT    NOT NULL CHECK (direction IN ('up', 'down')),
    event_id    TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    doc         TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    attempts    BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    resolved_at BIGINT,
    resolution  TEXT    CHECK (resolution IN ('retried', 'discarded')),
    note        TEXT
);
CREATE INDEX dead_letters_open ON dead_letters (resolved_at, id);
