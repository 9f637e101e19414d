-- Agency settings an admin changes from the browser (issue #16). Agencies get a `version`, as
-- every row a PATCH changes, and whether reminders are copied to a member's supervisor.
ALTER TABLE agencies ADD COLUMN copy_supervisors BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE agencies ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Reminder thresholds are days before the date, and 0 now means "on the day". The old default
-- ended in a 0 that meant nothing (it was dropped when read), so it is dropped here, and new
-- agencies are given the thresholds explicitly (the column default still holds the old text).
UPDATE agencies SET reminder_offsets = '90,60,30,7' WHERE reminder_offsets = '90,60,30,7,0';

-- A credential type's own thresholds, the same comma-separated text; NULL: the agency's.
ALTER TABLE credential_types ADD COLUMN reminder_offsets TEXT;

-- The audit page filters by who acted and by action, newest first; these also answer "which
-- actors and actions are there" by skipping from one value to the next.
CREATE INDEX audit_events_actor_idx ON audit_events (agency_id, actor, id);
CREATE INDEX audit_events_action_idx ON audit_events (agency_id, action, id);
