-- The station administrator (station_admin) and two audit trails: changes to accounts made by
-- administrators, and every view of a case's full personal data.
--
-- SQLite cannot change a CHECK constraint in place, so `operators` is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter). sqlx runs this file in one
-- transaction together with its bookkeeping row, and inside a transaction
-- `PRAGMA foreign_keys = OFF` is a no-op; foreign keys therefore stay ON throughout, and the
-- steps are ordered so that no step ever leaves a dangling reference:
--   1. the new `operators` is built beside the old one, and a new `sessions` that refers to it;
--   2. the old `sessions` goes first (nothing refers to it), then the old `operators` (nothing
--      refers to it any more, so its implicit DELETE finds no child rows);
--   3. renaming the new `operators` rewrites the reference in the new `sessions` to the final
--      name (SQLite 3.26+ with legacy_alter_table off, the default).
-- `login_audit` has no foreign key and is left as it is. A failure at any step rolls the whole
-- migration back.

CREATE TABLE operators_new (
    username        TEXT    PRIMARY KEY,            -- 3-32 of [a-z0-9_.-]
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL
                    CHECK (role IN ('district_admin', 'inspector', 'station_admin',
                                    'station_operator', 'agent')),
    password_hash   TEXT    NOT NULL,               -- argon2id PHC string
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,     -- no longer read (see src/auth/mod.rs)
    locked_until    INTEGER,                        -- no longer read
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO operators_new (username, display_name, role, password_hash, disabled,
                           failed_attempts, locked_until, created_at, updated_at)
    SELECT username, display_name, role, password_hash, disabled,
           failed_attempts, locked_until, created_at, updated_at
    FROM operators;

CREATE TABLE sessions_new (
    token_hash   TEXT    PRIMARY KEY,               -- hex digest of the bearer token
    username     TEXT    NOT NULL REFERENCES operators_new (username),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,                  -- valid while now < expires_at (sliding)
    last_seen_at INTEGER NOT NULL
);
INSERT INTO sessions_new (token_hash, username, created_at, expires_at, last_seen_at)
    SELECT token_hash, username, created_at, expires_at, last_seen_at FROM sessions;

DROP TABLE sessions;
DROP TABLE operators;
ALTER TABLE operators_new RENAME TO operators;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Changes an administrator made to an account. Kept apart from `operators` with no foreign key:
-- the trail must outlive anything it names, and `actor` may be `@cli` (the node's command line,
-- never a valid username).
CREATE TABLE account_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,                       -- who made the change
    action  TEXT    NOT NULL,                       -- created | disabled | enabled |
                                                    -- password_reset | role_changed
    target  TEXT    NOT NULL,                       -- the account changed
    detail  TEXT                                    -- e.g. the role given or the old and new role
);
CREATE INDEX account_audit_at ON account_audit (at);

-- Every view of a case's full personal data (the audited page). Written before the page is
-- sent; no foreign key, for the same reason as above.
CREATE TABLE personal_data_views (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    operator TEXT    NOT NULL,                      -- the username of who looked
    case_id  TEXT    NOT NULL,
    case_no  TEXT    NOT NULL
);
CREATE INDEX personal_data_views_at ON personal_data_views (at);
CREATE INDEX personal_data_views_operator ON personal_data_views (operator, at);
CREATE INDEX personal_data_views_case_no ON personal_data_views (case_no, at);
