-- The case list at a million cases (issue 8): search terms, keyset-ordered indexes, indexes over
-- open cases only, and maintained per-stage counts. See the module doc of src/store/mod.rs for
-- why the search terms hold no personal data in plain.

-- What a case can be found by, one row per term (normalised: trimmed, ASCII upper case): the
-- case number, its short form, the item's code and name, the applicant's name as lists show it,
-- the last 4 characters of the applicant's identifier, and keyed digests (a leading U+0001,
-- which no typed search contains) of the full identifier and the full name of a person.
CREATE TABLE case_terms (
    term      TEXT    NOT NULL,
    opened_at INTEGER NOT NULL,             -- the case's, so that one term reads newest first
    case_id   TEXT    NOT NULL REFERENCES cases (case_id),
    PRIMARY KEY (term, opened_at, case_id)
) WITHOUT ROWID;
CREATE INDEX case_terms_case ON case_terms (case_id, term);

-- NULL until the case's terms are written (rows stored before this migration are filled when
-- the database is opened, see store::search::fill_pending).
ALTER TABLE cases ADD COLUMN search_version INTEGER;
CREATE INDEX cases_search_pending ON cases (case_id) WHERE search_version IS NULL;

-- Values this node generates once and keeps (the key of the search digests).
CREATE TABLE node_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Lists read newest first and page by (opened_at, case_id): no OFFSET to skip.
CREATE INDEX cases_opened_id ON cases (opened_at, case_id);
CREATE INDEX cases_holder_opened ON cases (holder, opened_at, case_id);
CREATE INDEX cases_stage_opened ON cases (stage, opened_at, case_id);
DROP INDEX cases_opened;

-- The start page's tiles and the due filter read open cases only, a small part of the table.
-- INVARIANT: queries that should use these repeat their WHERE terms word for word.
CREATE INDEX cases_open_due ON cases (holder, due_date)
    WHERE stage NOT IN ('completed', 'terminated') AND due_date IS NOT NULL;
CREATE INDEX cases_open_origin ON cases (origin, holder)
    WHERE stage NOT IN ('completed', 'terminated');

-- How many cases are at each stage, kept by every write of a case row.
CREATE TABLE case_stage_counts (
    stage TEXT    PRIMARY KEY,
    n     INTEGER NOT NULL
);
INSERT INTO case_stage_counts (stage, n) SELECT stage, COUNT(*) FROM cases GROUP BY stage;
