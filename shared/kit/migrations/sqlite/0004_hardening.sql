-- Trust hardening: the case's whole state kept beside its log (an append applies one event
-- instead of folding the log again), retry bookkeeping of the outbox, and the dead letters:
-- events refused for good by the parent (up) or refused here when pulled (down), set aside with
-- their reason so that the events behind them flow on.

ALTER TABLE cases ADD COLUMN state_doc TEXT;            -- CaseState::to_stored; NULL: fold the log

ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;  -- refusals so far
ALTER TABLE outbox ADD COLUMN last_error TEXT;

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    direction   TEXT    NOT NULL CHECK (direction IN ('up', 'down')),
    event_id    TEXT    NOT NULL,
    case_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    doc         TEXT    NOT NULL,                       -- the whole event as JSON
    code        TEXT    NOT NULL,                       -- the refusal's stable code
    reason      TEXT    NOT NULL,                       -- the refusal, in English, for operators
    attempts    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,                                -- NULL while it waits for a decision
    resolution  TEXT    CHECK (resolution IN ('retried', 'discarded')),
    note        TEXT                                    -- why it was discarded
);
CREATE INDEX dead_letters_open ON dead_letters (resolved_at, id);
