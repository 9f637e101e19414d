-- The groups list showed each group's size by counting its memberships on every read: 116 ms
-- for a list of groups at 1M members (bench/results-postgres-1000000x10.md), since a station
-- holds a quarter of them. The count is kept on the group instead, changed by the same
-- statements that add and remove memberships, by delta so that concurrent changes add up.
ALTER TABLE agency_groups ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE agency_groups SET member_count = (
    SELECT COUNT(*) FROM group_memberships gm
    WHERE gm.agency_id = agency_groups.agency_id AND gm.group_id = agency_groups.id
);
