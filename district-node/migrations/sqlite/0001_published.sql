-- The signed policy bundles the district published, each with the agent rosters signed for it
-- (one per centre of the tree). Immutable: rows are only ever inserted. Times are Unix ms.
CREATE TABLE policy_bundles (
    number INTEGER PRIMARY KEY NOT NULL,
    envelope BLOB NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    summary TEXT NOT NULL
);

CREATE TABLE policy_rosters (
    number INTEGER NOT NULL REFERENCES policy_bundles (number),
    station TEXT NOT NULL,
    envelope BLOB NOT NULL,
    PRIMARY KEY (number, station)
);
