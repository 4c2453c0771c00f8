-- Transfer between tiers: the outbox of events still to push to the parent, the cursors of what
-- was pulled from the parent, and whether a case's log is shared with the parent (it is from the
-- moment the case is escalated above this node).

ALTER TABLE cases ADD COLUMN shared_up INTEGER NOT NULL DEFAULT 0;

CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE REFERENCES case_events (event_id),
    enqueued_at INTEGER NOT NULL
);

CREATE TABLE cursors (
    peer       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
