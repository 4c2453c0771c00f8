-- The station administrator (station_admin) and two audit trails: changes to accounts made by
-- administrators, and every view of a case's full personal data. Mirrors
-- migrations/sqlite/0005_station_admin.sql; PostgreSQL changes the CHECK in place (the
-- constraint keeps the name PostgreSQL gave it in 0002), so sessions and their foreign key are
-- untouched.

ALTER TABLE operators DROP CONSTRAINT operators_role_check;
ALTER TABLE operators ADD CONSTRAINT operators_role_check
    CHECK (role IN ('district_admin', 'inspector', 'station_admin', 'station_operator', 'agent'));

-- No foreign key: the trail must outlive anything it names; `actor` may be `@cli`.
CREATE TABLE account_audit (
    id      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT  NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    detail  TEXT
);
CREATE INDEX account_audit_at ON account_audit (at);

CREATE TABLE personal_data_views (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT  NOT NULL,
    operator TEXT    NOT NULL,
    case_id  TEXT    NOT NULL,
    case_no  TEXT    NOT NULL
);
CREATE INDEX personal_data_views_at ON personal_data_views (at);
CREATE INDEX personal_data_views_operator ON personal_data_views (operator, at);
CREATE INDEX personal_data_views_case_no ON personal_data_views (case_no, at);
