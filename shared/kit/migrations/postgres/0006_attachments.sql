-- Mirrors migrations/sqlite/0005_attachments.sql.

CREATE TABLE attachments (
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    sha256      TEXT    NOT NULL,
    media_type  TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    file_name   TEXT    NOT NULL,
    material    TEXT,
    station     TEXT    NOT NULL,
    uploaded_by TEXT,
    uploaded_at BIGINT  NOT NULL,
    stripped    BIGINT  NOT NULL,
    event_id    TEXT    NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX attachments_sha256 ON attachments (sha256);
