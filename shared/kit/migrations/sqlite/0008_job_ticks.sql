-- One row per scheduled tick a job has run (or is running): `(job, scheduled_for)` is unique,
-- so a tick is run once even when several processes share the database (district replicas on
-- PostgreSQL), and a tick that has already finished is not run again after a restart. Rows
-- older than a week are removed by the claims themselves. Mirrors
-- migrations/postgres/0008_job_ticks.sql.
CREATE TABLE job_ticks (
    job           TEXT    NOT NULL,
    scheduled_for INTEGER NOT NULL,                 -- the tick, unix milliseconds
    started_at    INTEGER NOT NULL,                 -- unix milliseconds
    runner        TEXT    NOT NULL,                 -- host and process id of who ran it
    PRIMARY KEY (job, scheduled_for)
);
