-- Attachments of cases: one row per file per case, projected from the case's
-- `attachment_added` events in the transaction that stores them, so that a node learns of an
-- attachment through the normal, idempotent log. The bytes are files named by their SHA-256 in
-- the node's attachment folder; the same bytes on two cases are stored once.

CREATE TABLE attachments (
    case_id     TEXT    NOT NULL REFERENCES cases (case_id),
    sha256      TEXT    NOT NULL,
    media_type  TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    file_name   TEXT    NOT NULL,
    material    TEXT,
    station     TEXT    NOT NULL,   -- where it was uploaded
    uploaded_by TEXT,
    uploaded_at INTEGER NOT NULL,
    stripped    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX attachments_sha256 ON attachments (sha256);
