-- A member's position (rank or title, free text) and supervisor (#16): the supervisor is
-- another member of the same agency, checked by the app (active, not the member themself);
-- reminders can copy supervisors. Both are optional.
ALTER TABLE members ADD COLUMN position TEXT;
ALTER TABLE members ADD COLUMN supervisor_member_id BIGINT REFERENCES members (id);
-- "Whom does this member supervise": the people a supervisor's reminders are about.
CREATE INDEX members_supervisor_idx ON members (agency_id, supervisor_member_id);
