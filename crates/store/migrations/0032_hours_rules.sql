-- Continuing-education rules of an hours requirement (issue #20): a cap on each category, caps
-- by source kind as a JSON object ({"online": 10}), components as a JSON array
-- ([{"name", "hours", "categories"}]) and whether a course counts more than once a period.
ALTER TABLE requirements ADD COLUMN max_hours_per_category DOUBLE PRECISION;
ALTER TABLE requirements ADD COLUMN max_hours_by_source TEXT;
ALTER TABLE requirements ADD COLUMN components TEXT;
ALTER TABLE requirements ADD COLUMN repeatable BOOLEAN NOT NULL DEFAULT FALSE;

-- A course delivered online (distributive education): its records count against a
-- requirement's `online` cap.
ALTER TABLE courses ADD COLUMN online BOOLEAN NOT NULL DEFAULT FALSE;
