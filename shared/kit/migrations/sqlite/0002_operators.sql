-- Operator accounts, their bearer sessions and the login audit trail (src/auth.rs).
-- Times are INTEGER milliseconds since the Unix epoch (UTC); flags are INTEGER 0/1.
-- Neither a password nor a session token is ever stored: only an argon2id PHC string and a
-- one-way digest of the token.

CREATE TABLE operators (
    username        TEXT    PRIMARY KEY,            -- 3-32 of [a-z0-9_.-]
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL
                    CHECK (role IN ('district_admin', 'inspector', 'station_operator', 'agent')),
    password_hash   TEXT    NOT NULL,               -- argon2id PHC string
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,     -- consecutive failures in the current streak
    locked_until    INTEGER,                        -- no login before this instant
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,               -- hex digest of the bearer token
    username     TEXT    NOT NULL REFERENCES operators (username),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,                  -- valid while now < expires_at (sliding)
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT,                                  -- NULL when what was typed is not a well-formed
                                                    -- username (it may be a mistyped password)
    at       INTEGER NOT NULL,
    success  INTEGER NOT NULL,
    outcome  TEXT    NOT NULL,                      -- ok | wrong_password | unknown_user | locked |
                                                    -- lockout | disabled
    peer     TEXT                                   -- the client's IP address, when known
);
CREATE INDEX login_audit_username ON login_audit (username, at);
CREATE INDEX login_audit_at ON login_audit (at);
