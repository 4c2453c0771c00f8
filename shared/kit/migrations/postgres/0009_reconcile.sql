-- Reconciliation between a child and its parent by digests (kit::reconcile). Mirrors
-- migrations/sqlite/0009_reconcile.sql.
--
-- A digest is a count and the XOR of a 64-bit hash of each event id (the first 8 bytes of its
-- SHA-256), so it is kept up to date by each append without reading the log again. Every case
-- keeps the digest of its own log (ev_n, ev_x) and the day of its case number (case_day,
-- yyyymmdd); `sync_digests` keeps one row per scope, case origin and day:
--   scope 'all': every event stored here, by its case's origin (what a parent compares for a
--                child: the rows whose origin lies in the child's subtree);
--   scope 'up':  the events of cases shared with the parent (what a child compares).
-- Existing databases are filled by code when opened (store::fill_digests: ev_n = 0).
ALTER TABLE cases ADD COLUMN case_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN ev_n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN ev_x BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cases_day ON cases (case_day, origin);

CREATE TABLE sync_digests (
    scope  TEXT    NOT NULL,
    origin TEXT    NOT NULL,
    day    BIGINT NOT NULL,
    n      BIGINT NOT NULL,
    x      BIGINT NOT NULL,
    PRIMARY KEY (scope, origin, day)
);

-- One row per reconciliation: at a child the runs it made, at a parent the runs its children
-- reported. Counts of what was found and repaired.
CREATE TABLE reconcile_runs (
    id            BIGSERIAL PRIMARY KEY,
    peer          TEXT    NOT NULL,                 -- 'parent' at a child; the child's code at a parent
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT NOT NULL,
    ok            BIGINT NOT NULL,
    requests      BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,                 -- request and answer bodies, both ways
    cases_checked BIGINT NOT NULL,
    sent_up       BIGINT NOT NULL,                 -- events re-queued for the parent
    fetched_down  BIGINT NOT NULL,                 -- events stored from the parent
    unrepairable  BIGINT NOT NULL,
    detail        TEXT    NOT NULL
);
CREATE INDEX reconcile_runs_peer ON reconcile_runs (peer, id);

-- Every discrepancy found, one row per event (or per case when a whole case was missing).
CREATE TABLE reconcile_repairs (
    id        BIGSERIAL PRIMARY KEY,
    run_id    BIGINT NOT NULL,
    case_id   TEXT    NOT NULL,
    event_id  TEXT,
    direction TEXT    NOT NULL,                     -- 'up', 'down' or 'unrepairable'
    found_at  BIGINT NOT NULL
);
CREATE INDEX reconcile_repairs_run ON reconcile_repairs (run_id);

-- A parent's request that a child reconcile now (district-node reconcile --now): the child sees
-- it on its next pull, runs, and its report removes the row.
CREATE TABLE reconcile_requests (
    station      TEXT    PRIMARY KEY,
    requested_at BIGINT NOT NULL
);
