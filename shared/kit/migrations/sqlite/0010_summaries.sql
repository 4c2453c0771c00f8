-- Case summaries for inspection (no personal data; see bangban_domain::summary): the summary of
-- every case this node is the origin of, written with each event of the case, and the
-- summaries its children send up (a town relays them to the district). One row per case, the
-- highest version seen; the list columns are copied out of `doc` for the `/summaries` page.
-- `summary_outbox` holds what waits for the parent: one row per case, the version queued (a
-- newer version replaces an older one still waiting; the row goes when the parent acknowledged
-- that version or a newer one). Mirrors migrations/postgres/0010_summaries.sql.
CREATE TABLE case_summaries (
    case_id       TEXT    PRIMARY KEY,
    case_no       TEXT    NOT NULL,
    origin        TEXT    NOT NULL,
    holder        TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    item_code     TEXT,
    item_name     TEXT,
    opened_at     INTEGER NOT NULL,                 -- unix milliseconds
    due_date      TEXT,                             -- YYYY-MM-DD, China time
    closed_at     INTEGER,
    last_event_at INTEGER NOT NULL,
    visits        INTEGER NOT NULL,
    version       INTEGER NOT NULL,                 -- events folded at the origin
    doc           TEXT    NOT NULL,                 -- the summary as JSON
    updated_at    INTEGER NOT NULL                  -- when this node stored it
);
CREATE INDEX case_summaries_opened ON case_summaries (opened_at, case_id);
CREATE INDEX case_summaries_origin ON case_summaries (origin, opened_at, case_id);
CREATE INDEX case_summaries_stage ON case_summaries (stage, opened_at, case_id);

CREATE TABLE summary_outbox (
    case_id     TEXT    PRIMARY KEY REFERENCES case_summaries (case_id),
    version     INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL                    -- unix milliseconds, first queued
);
