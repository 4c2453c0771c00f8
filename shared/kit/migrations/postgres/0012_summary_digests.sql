-- Reconciliation of case summaries; see migrations/sqlite/0012_summary_digests.sql.
ALTER TABLE case_summaries ADD COLUMN case_day BIGINT NOT NULL DEFAULT 0;
UPDATE case_summaries SET case_day = CAST(substr(case_no, 14, 8) AS BIGINT);
CREATE INDEX case_summaries_day ON case_summaries (case_day, origin);

ALTER TABLE reconcile_runs ADD COLUMN summaries_sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconcile_repairs ADD COLUMN lane TEXT NOT NULL DEFAULT 'events';
