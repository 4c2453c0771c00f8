-- Operator accounts, their bearer sessions and the login audit trail (src/auth.rs).
-- Times are BIGINT milliseconds since the Unix epoch (UTC); flags are BIGINT 0/1. The schema
-- mirrors migrations/sqlite/0002_operators.sql column for column.
-- Neither a password nor a session token is ever stored: only an argon2id PHC string and a
-- one-way digest of the token.

CREATE TABLE operators (
    username        TEXT    PRIMARY KEY,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL
                    CHECK (role IN ('district_admin', 'inspector', 'station_operator', 'agent')),
    password_hash   TEXT    NOT NULL,
    disabled        BIGINT  NOT NULL DEFAULT 0,
    failed_attempts BIGINT  NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    username     TEXT    NOT NULL REFERENCES operators (username),
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_audit (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT,
    at       BIGINT  NOT NULL,
    success  BIGINT  NOT NULL,
    outcome  TEXT    NOT NULL,
    peer     TEXT
);
CREATE INDEX login_audit_username ON login_audit (username, at);
CREATE INDEX login_audit_at ON login_audit (at);
