-- Classes and rosters as the round-2 contract has them (#17): one scheduled offering of a
-- course on one day, with a roster, results typed in per member, and completion that writes
-- one training record per attendee (training_records.class_id). Nothing wrote these tables
-- before, so their columns are reshaped in place rather than copied.
ALTER TABLE classes RENAME COLUMN starts_on TO held_on;
ALTER TABLE classes DROP COLUMN ends_on;
ALTER TABLE classes DROP COLUMN name;
ALTER TABLE classes ADD COLUMN capacity BIGINT CONSTRAINT classes_capacity_check CHECK (capacity IS NULL OR capacity > 0);
-- scheduled | completed; a completed class can be reopened (back to scheduled) to correct it.
ALTER TABLE classes ADD COLUMN status TEXT NOT NULL DEFAULT 'scheduled';
ALTER TABLE classes ADD COLUMN completed_by TEXT;
-- Upcoming and past classes, each in date order (keyset pages).
CREATE INDEX classes_held_idx ON classes (agency_id, held_on, id);

-- A roster row carries the member's result once typed: attended (NULL until then), score and
-- hours (NULL: the course's hours).
ALTER TABLE class_roster DROP COLUMN passed;
ALTER TABLE class_roster ADD COLUMN attended BOOLEAN;
ALTER TABLE class_roster ADD COLUMN hours DOUBLE PRECISION;
ALTER TABLE class_roster ADD COLUMN added_at {TIMESTAMP};

-- The records a class wrote, found again when it is completed anew after a reopen.
CREATE INDEX training_records_class_idx ON training_records (agency_id, class_id);

-- Retired courses stay for history (records and requirements name them) but are offered
-- nowhere new: pickers hide them, new classes and training records refuse them.
ALTER TABLE courses ADD COLUMN retired_at {TIMESTAMP};
