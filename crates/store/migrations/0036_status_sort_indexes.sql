-- The credentials list filtered by one status and sorted by expiration date or progress
-- ("overdue in Station 1, by expiration") walked the whole sort index looking for rows of
-- that status: Overdue and Not Started credentials have no expiration date, so the dated
-- walk read half the agency to find none (p50 351 ms at 1M credentials under load,
-- bench/results-load-variants-sqlite.md). With the status leading, one status is one index
-- range, already in sort order, and an empty range is found at once.
CREATE INDEX credentials_status_expiration_idx ON credentials (agency_id, status, expiration_date, id);
CREATE INDEX credentials_status_progress_idx ON credentials (agency_id, status, progress, id);
