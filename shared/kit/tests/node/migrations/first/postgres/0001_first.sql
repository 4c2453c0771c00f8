-- A crate's first table, for the coexistence test.
CREATE TABLE first_things (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
