-- The district's policy as its administrators author it, and the policy audit. Mirrors
-- migrations/sqlite/0002_drafts.sql, which explains each column.
CREATE TABLE policy_drafts (
    section    TEXT    PRIMARY KEY CHECK (section IN ('topology', 'catalogue', 'calendar')),
    body       TEXT    NOT NULL,
    revision   BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    updated_by TEXT    NOT NULL
);

CREATE TABLE policy_audit (
    id      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT  NOT NULL,
    actor   TEXT    NOT NULL,
    section TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    before  TEXT,
    after   TEXT
);
CREATE INDEX policy_audit_at ON policy_audit (at);
CREATE INDEX policy_audit_section ON policy_audit (section, at);
