-- Mirrors migrations/sqlite/0005_case_lists.sql. Terms compare byte by byte (COLLATE "C"), as
-- SQLite's do, so that a prefix is a range of the index whatever the database's locale.

CREATE TABLE case_terms (
    term      TEXT    COLLATE "C" NOT NULL,
    opened_at BIGINT  NOT NULL,
    case_id   TEXT    NOT NULL REFERENCES cases (case_id),
    PRIMARY KEY (term, opened_at, case_id)
);
CREATE INDEX case_terms_case ON case_terms (case_id, term);

ALTER TABLE cases ADD COLUMN search_version BIGINT;
CREATE INDEX cases_search_pending ON cases (case_id) WHERE search_version IS NULL;

CREATE TABLE node_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE INDEX cases_opened_id ON cases (opened_at, case_id);
CREATE INDEX cases_holder_opened ON cases (holder, opened_at, case_id);
CREATE INDEX cases_stage_opened ON cases (stage, opened_at, case_id);
DROP INDEX cases_opened;

CREATE INDEX cases_open_due ON cases (holder, due_date)
    WHERE stage NOT IN ('completed', 'terminated') AND due_date IS NOT NULL;
CREATE INDEX cases_open_origin ON cases (origin, holder)
    WHERE stage NOT IN ('completed', 'terminated');

CREATE TABLE case_stage_counts (
    stage TEXT   PRIMARY KEY,
    n     BIGINT NOT NULL
);
INSERT INTO case_stage_counts (stage, n) SELECT stage, COUNT(*) FROM cases GROUP BY stage;
