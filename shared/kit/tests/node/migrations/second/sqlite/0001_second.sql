-- Another crate's first migration, numbered 1 as well; it refers to kit's cases table.
CREATE TABLE second_things (case_id TEXT PRIMARY KEY REFERENCES cases (case_id));
