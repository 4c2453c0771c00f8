-- Reconciliation of case summaries (kit::reconcile, lane `summaries`), and what the runs record
-- of it. Mirrors migrations/postgres/0012_summary_digests.sql.
--
-- A summary's hash is the first 8 bytes of the SHA-256 of "<case_id>:<version>"; `sync_digests`
-- scope 'sum' keeps, per origin and day of the case number, the count of summaries and the XOR
-- of their hashes, kept by every summary upsert. SQL cannot hash, so the 'sum' rows of
-- summaries stored before this migration are written by code when the database is opened
-- (store::digests::fill_summaries). The case number is `<12-digit station>-<yyyymmdd>-<seq>`,
-- so its day starts at character 14.
ALTER TABLE case_summaries ADD COLUMN case_day INTEGER NOT NULL DEFAULT 0;
UPDATE case_summaries SET case_day = CAST(substr(case_no, 14, 8) AS INTEGER);
CREATE INDEX case_summaries_day ON case_summaries (case_day, origin);

-- Summaries the parent lacked or held in another version, queued for it again by a run.
ALTER TABLE reconcile_runs ADD COLUMN summaries_sent INTEGER NOT NULL DEFAULT 0;
-- Which comparison found a discrepancy: 'events' (event_id set) or 'summaries' (no event).
ALTER TABLE reconcile_repairs ADD COLUMN lane TEXT NOT NULL DEFAULT 'events';
