-- Readiness looks up each member's tracks of a qualification's types by this key and needs
-- only their ids, to find their issuances. Without the id in the key every track was a table
-- read (1,537 of a 500-member page's reads at 1M credentials, bench/results-readiness.md);
-- with it, an index-only scan. Same name, same columns: the store still maps a violation of
-- it to a field error.
ALTER TABLE credentials DROP CONSTRAINT credentials_member_type_key;
ALTER TABLE credentials ADD CONSTRAINT credentials_member_type_key
    UNIQUE (agency_id, member_id, credential_type_id) INCLUDE (id);
