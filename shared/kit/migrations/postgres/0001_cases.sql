-- Cases as append-only event logs, with a projection for lists and a per-station daily counter
-- for human case numbers. Times are BIGINT milliseconds since the Unix epoch (UTC); the schema
-- mirrors migrations/sqlite/0001_cases.sql column for column.

CREATE TABLE cases (
    case_id           TEXT    PRIMARY KEY,
    case_no           TEXT    NOT NULL UNIQUE,
    origin            TEXT    NOT NULL,
    holder            TEXT    NOT NULL,
    stage             TEXT    NOT NULL,
    item_code         TEXT,
    item_name         TEXT,
    applicant_display TEXT,
    suspended         BIGINT  NOT NULL DEFAULT 0,
    opened_at         BIGINT  NOT NULL,
    accepted_at       BIGINT,
    due_date          TEXT,
    closed_at         BIGINT,
    visits            BIGINT  NOT NULL DEFAULT 0,
    version           BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX cases_holder_stage ON cases (holder, stage);
CREATE INDEX cases_origin ON cases (origin);
CREATE INDEX cases_opened ON cases (opened_at);

CREATE TABLE case_events (
    seq         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    TEXT    NOT NULL UNIQUE,
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    author      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    occurred_at BIGINT  NOT NULL,
    stored_at   BIGINT  NOT NULL,
    doc         TEXT    NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, seq);

CREATE TABLE case_numbers (
    station  TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    last_seq BIGINT  NOT NULL,
    PRIMARY KEY (station, day)
);
