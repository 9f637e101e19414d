-- Verifiable credentials (#21): each agency signs Open Badges with Ed25519 keys of its own,
-- and publishes a Bitstring Status List saying which of the badges it signed are revoked.
--
-- A key is created on first use and rotated by an admin; a rotated key is kept (retired) so
-- what it signed still verifies, which is why rows are never deleted. The private key is
-- PKCS#8 sealed with AES-256-GCM under the key-encryption key from the configuration
-- (`CREDENCE_KEY_ENCRYPTION_KEY`), bound to the agency and key id, base64url; the public key
-- is the raw 32 bytes, base64url, as JWKs carry it. `kid` is the key's RFC 7638 thumbprint.
CREATE TABLE issuer_keys (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    kid TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    retired_at {TIMESTAMP},
    CONSTRAINT issuer_keys_kid_key UNIQUE (agency_id, kid)
);
-- One signing key at a time: two first uses at once insert one key, not two.
CREATE UNIQUE INDEX issuer_keys_active_key ON issuer_keys (agency_id) WHERE retired_at IS NULL;
-- Verification meets a key id before it knows whose it is: a JWT signed with another
-- agency's key must be told apart from one signed with a key nobody here has (like
-- `users_email_key`, a lookup across agencies).
CREATE INDEX issuer_keys_kid_idx ON issuer_keys (kid);

-- Status list positions are handed out in order per agency (the next one here); the domain
-- (`status_list::slot`) turns a position into a list number and a scattered index within it.
ALTER TABLE agencies ADD COLUMN status_list_next BIGINT NOT NULL DEFAULT 0;

-- The status list entry of an issuance, made when its badge is first signed. The bit is not
-- stored: it is "revoked" when the issuance is revoked (or no longer exists, after an undo),
-- read from the issuance itself, so revoking, un-revoking and undo change it in their own
-- transaction with nothing to keep in step. No foreign key: an undone issuance is deleted
-- while its entry (and the badge that names it) lives on.
CREATE TABLE status_list_entries (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    list_number BIGINT NOT NULL,
    list_index BIGINT NOT NULL,
    issuance_id BIGINT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    PRIMARY KEY (agency_id, list_number, list_index),
    CONSTRAINT status_list_entries_issuance_key UNIQUE (agency_id, issuance_id)
);
