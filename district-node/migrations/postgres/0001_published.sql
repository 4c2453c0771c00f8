-- The signed policy bundles the district published, each with the agent rosters signed for it
-- (one per centre of the tree). Immutable: rows are only ever inserted. Times are Unix ms.
CREATE TABLE policy_bundles (
    number BIGINT PRIMARY KEY NOT NULL,
    envelope BYTEA NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    summary TEXT NOT NULL
);

CREATE TABLE policy_rosters (
    number BIGINT NOT NULL REFERENCES policy_bundles (number),
    station TEXT NOT NULL,
    envelope BYTEA NOT NULL,
    PRIMARY KEY (number, station)
);
