-- The registry of assisting agents. Mirrors migrations/sqlite/0003_agents.sql, which explains
-- each column.
CREATE TABLE agents (
    id            TEXT    PRIMARY KEY,
    badge_no      TEXT    NOT NULL UNIQUE,
    id_number     TEXT    NOT NULL UNIQUE,
    centre        TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'left')),
    status_on     TEXT,
    status_reason TEXT,
    body          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    updated_by    TEXT    NOT NULL
);
CREATE INDEX agents_centre ON agents (centre, status);
