-- The registry of assisting agents (帮办代办员): one row per agent, the record as the domain's
-- `Agent` JSON (training records included) in `body`, with the columns the registry looks up
-- and keeps unique beside it. Every change writes its `policy_audit` line (section `agents`,
-- subject the badge number) in the same transaction. Mirrors
-- migrations/postgres/0003_agents.sql.
CREATE TABLE agents (
    id            TEXT    PRIMARY KEY,              -- UUID v7, stable across edits
    badge_no      TEXT    NOT NULL UNIQUE,
    id_number     TEXT    NOT NULL UNIQUE,          -- the resident ID, checked (GB 11643)
    centre        TEXT    NOT NULL,                 -- 12-digit code, active in the draft tree when filed
    status        TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'left')),
    status_on     TEXT,                             -- YYYY-MM-DD of the last status change
    status_reason TEXT,
    body          TEXT    NOT NULL,                 -- the Agent as JSON
    created_at    INTEGER NOT NULL,                 -- unix seconds
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT    NOT NULL
);
CREATE INDEX agents_centre ON agents (centre, status);
