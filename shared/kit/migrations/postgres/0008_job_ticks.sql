-- One row per scheduled tick a job has run; see migrations/sqlite/0008_job_ticks.sql.
CREATE TABLE job_ticks (
    job           TEXT    NOT NULL,
    scheduled_for BIGINT  NOT NULL,
    started_at    BIGINT  NOT NULL,
    runner        TEXT    NOT NULL,
    PRIMARY KEY (job, scheduled_for)
);
