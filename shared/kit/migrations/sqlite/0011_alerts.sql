-- Deadline and link alerts (issue 10 points 1 and 4, issue 12 point 3), and what each direct
-- child last reported of its outbox when it pulled. Mirrors migrations/postgres/0011_alerts.sql.
--
-- An alert is raised by a job (deadline-scan, link-watchdog) and cleared by the same job once
-- its cause is gone; operators acknowledge it in between. `subject` is what the alert is about:
-- the case id of a deadline alert or of an escalation stuck here, the station code of a link
-- alarm about a child. INVARIANT: at most one open (not cleared) alert per (kind, subject), so
-- raising again is a no-op (the partial unique index below).
CREATE TABLE alerts (
    id          TEXT    PRIMARY KEY,        -- UUID v7
    kind        TEXT    NOT NULL,           -- near_due | overdue | stuck_in_transit | child_silent
    subject     TEXT    NOT NULL,
    case_id     TEXT,                       -- NULL for link alarms about a child
    case_no     TEXT,
    centre      TEXT    NOT NULL,           -- the holder, or the station the alarm is about
    due_date    TEXT,                       -- YYYY-MM-DD, deadline alerts
    since_ms    INTEGER,                    -- link alarms: queued at, or the child's last contact
    detail      TEXT    NOT NULL,
    raised_at   INTEGER NOT NULL,
    cleared_at  INTEGER,
    acked_at    INTEGER,
    acked_by    TEXT
);
CREATE UNIQUE INDEX alerts_open_subject ON alerts (kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX alerts_open_raised ON alerts (raised_at) WHERE cleared_at IS NULL;
CREATE INDEX alerts_cleared ON alerts (cleared_at) WHERE cleared_at IS NOT NULL;

-- One row per direct child that ever pulled: when, and what it reported of its outbox in the
-- `bangban-outbox-*` and `bangban-stuck-escalations` headers (NULL: not reported, or not valid).
CREATE TABLE child_links (
    station           TEXT    PRIMARY KEY,
    last_contact_ms   INTEGER NOT NULL,
    outbox_len        INTEGER,
    outbox_oldest_ms  INTEGER,
    stuck_escalations INTEGER
);
