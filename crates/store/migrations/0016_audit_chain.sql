-- The audit chain (credence_domain::audit_chain): each event stores the hash of the agency's
-- previous event and its own, SHA-256 over that and the event's canonical form, computed by
-- the application when the writing transaction commits.
--
-- Events from before this migration keep NULL in both columns: nothing rewrites them (the
-- append-only triggers of 0007 stay as they are). The chain covers them by rule instead: the
-- verifier hashes them in id order from the genesis value, and the agency's first event
-- written after this migration stores that result as its prev_hash, sealing them.
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
