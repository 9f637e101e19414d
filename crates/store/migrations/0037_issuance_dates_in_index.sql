-- Readiness and the qualification check read, for each track asked about, its issuances'
-- dates and revocation. With only the ids in the index, every issuance was a table read
-- as well (PostgreSQL, 1,000-member group at 1M credentials: 886 of its 2,240 page reads,
-- p95 72 ms against a 50 ms target, bench/results-readiness.md). The same index with the
-- dates after the id answers from the index alone and keeps the per-track order by id.
DROP INDEX issuances_credential_idx;
CREATE INDEX issuances_credential_idx ON issuances (agency_id, credential_id, id, issue_date, expiration_date, revoked_at);
