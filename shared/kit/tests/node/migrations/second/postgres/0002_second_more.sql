ALTER TABLE second_things ADD COLUMN note TEXT;
