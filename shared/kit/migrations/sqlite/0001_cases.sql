-- Cases as append-only event logs, with a projection for lists and a per-station daily counter
-- for human case numbers. Times are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE cases (
    case_id           TEXT    PRIMARY KEY,
    case_no           TEXT    NOT NULL UNIQUE,
    origin            TEXT    NOT NULL,
    holder            TEXT    NOT NULL,
    stage             TEXT    NOT NULL,
    item_code         TEXT,
    item_name         TEXT,
    applicant_display TEXT,            -- masked for persons
    suspended         INTEGER NOT NULL DEFAULT 0,
    opened_at         INTEGER NOT NULL,
    accepted_at       INTEGER,
    due_date          TEXT,            -- YYYY-MM-DD, NULL until accepted or while paused
    closed_at         INTEGER,
    visits            INTEGER NOT NULL DEFAULT 0,
    version           INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX cases_holder_stage ON cases (holder, stage);
CREATE INDEX cases_origin ON cases (origin);
CREATE INDEX cases_opened ON cases (opened_at);

CREATE TABLE case_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- local arrival order, the pull cursor
    event_id    TEXT    NOT NULL UNIQUE,
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    author      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    stored_at   INTEGER NOT NULL,
    doc         TEXT    NOT NULL                    -- the whole event as JSON
);
CREATE INDEX case_events_case ON case_events (case_id, seq);

CREATE TABLE case_numbers (
    station  TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (station, day)
);
