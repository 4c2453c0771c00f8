-- The district's policy as its administrators author it, before it is published: one JSON
-- document per section, in the shape of its policy file (`topology`, `catalogue`, `calendar`),
-- seeded from the files at first start. A change names the revision it was made on, so two
-- administrators cannot overwrite each other's work unseen. Mirrors
-- migrations/postgres/0002_drafts.sql.
CREATE TABLE policy_drafts (
    section    TEXT    PRIMARY KEY CHECK (section IN ('topology', 'catalogue', 'calendar')),
    body       TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,                    -- unix seconds
    updated_by TEXT    NOT NULL                     -- a username, or @seed / @cli
);

-- Every change to the policy or the agent registry, and every publication: who, when, what
-- (before and after, as JSON). Written in the same transaction as the change. No foreign key:
-- the trail outlives what it names.
CREATE TABLE policy_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,                       -- unix seconds
    actor   TEXT    NOT NULL,
    section TEXT    NOT NULL,                       -- topology | catalogue | calendar | agents | bundle
    action  TEXT    NOT NULL,                       -- e.g. tier.add, item.update, agent.status
    subject TEXT    NOT NULL,                       -- the code, year, badge or bundle number
    before  TEXT,                                   -- NULL when created
    after   TEXT                                    -- NULL when removed
);
CREATE INDEX policy_audit_at ON policy_audit (at);
CREATE INDEX policy_audit_section ON policy_audit (section, at);
