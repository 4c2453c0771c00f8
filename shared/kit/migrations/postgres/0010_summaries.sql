-- Case summaries for inspection; see migrations/sqlite/0010_summaries.sql. Station codes
-- compare byte by byte (COLLATE "C") so that a subtree's prefix is a range of the index.
CREATE TABLE case_summaries (
    case_id       TEXT    PRIMARY KEY,
    case_no       TEXT    NOT NULL,
    origin        TEXT    COLLATE "C" NOT NULL,
    holder        TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    item_code     TEXT,
    item_name     TEXT,
    opened_at     BIGINT  NOT NULL,
    due_date      TEXT,
    closed_at     BIGINT,
    last_event_at BIGINT  NOT NULL,
    visits        BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    doc           TEXT    NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX case_summaries_opened ON case_summaries (opened_at, case_id);
CREATE INDEX case_summaries_origin ON case_summaries (origin, opened_at, case_id);
CREATE INDEX case_summaries_stage ON case_summaries (stage, opened_at, case_id);

CREATE TABLE summary_outbox (
    case_id     TEXT    PRIMARY KEY REFERENCES case_summaries (case_id),
    version     BIGINT  NOT NULL,
    enqueued_at BIGINT  NOT NULL
);
