-- Group memberships with dates (#18): "who was in B shift on D" and "who was qualified on D"
-- are answered from this history. `group_memberships` stays the current membership every
-- list filters on; every change to it writes this table in the same transaction
-- (src/people/groups.rs), so the periods open today are exactly today's memberships.
--
-- A period runs from `from_date`, the agency-local day the member joined, up to but not
-- including `to_date`, the day they left (NULL: still a member). A member is in the group on
-- D when from_date <= D AND (to_date IS NULL OR D < to_date). Leaving on the day one joined
-- covers no day, so such a period is deleted rather than kept empty; rejoining on the day one
-- left reopens the period (no break).
CREATE TABLE group_membership_periods (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    group_id BIGINT NOT NULL REFERENCES agency_groups (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    from_date {DATE} NOT NULL,
    to_date {DATE},
    CONSTRAINT group_membership_periods_dates_check CHECK (to_date IS NULL OR to_date > from_date)
);
-- A group's members on a day (the qualified report), and reopening a period closed today.
CREATE INDEX group_membership_periods_group_idx ON group_membership_periods (agency_id, group_id, member_id, from_date);
-- A member's groups on a day (the compliance report for another day).
CREATE INDEX group_membership_periods_member_idx ON group_membership_periods (agency_id, member_id, group_id);
-- At most one open period per member and group.
CREATE UNIQUE INDEX group_membership_periods_open_key ON group_membership_periods (agency_id, group_id, member_id) WHERE to_date IS NULL;

-- Memberships made before this migration start on the day they were made. The day is taken
-- in UTC, the only date both databases can compute from a timestamp in plain SQL (the
-- PostgreSQL session runs in UTC; SQLite stores RFC 3339 text in UTC): for a membership made
-- within a few hours of midnight it may be a day off the agency's local date. Every row has
-- a created_at (NOT NULL since 0002), so no membership needs the migration's own date.
INSERT INTO group_membership_periods (agency_id, group_id, member_id, from_date)
SELECT agency_id, group_id, member_id, CAST(substr(CAST(created_at AS TEXT), 1, 10) AS {DATE})
FROM group_memberships;

-- The other half of "who was qualified on D" (src/reports/qualified.rs): the issuances of one
-- type whose dates cover D, as one index range instead of a probe per credential.
CREATE INDEX issuances_type_dates_idx ON issuances (agency_id, credential_type_id, issue_date, expiration_date);
