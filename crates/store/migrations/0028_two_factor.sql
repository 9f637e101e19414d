-- A second factor for password sign-in (#21): TOTP (RFC 6238) and one-time recovery codes.
--
-- A login's authenticator secret (base32), stored once enrolment is confirmed with a code.
-- `last_step` is the latest 30-second step a code was accepted for: codes of that step or an
-- earlier one are refused, so each code is good once (a conditional UPDATE spends it, so two
-- uses at once cannot both pass). The secret is never shown again, nor audited.
CREATE TABLE totp_secrets (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    secret TEXT NOT NULL,
    last_step BIGINT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT totp_secrets_pkey PRIMARY KEY (agency_id, user_id)
);

-- Recovery codes, shown once and stored as their SHA-256 (as API tokens are); a code is
-- spent by its first use. Regenerating replaces a login's whole set.
CREATE TABLE recovery_codes (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at {TIMESTAMP},
    created_at {TIMESTAMP} NOT NULL
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (agency_id, user_id);

-- The step between a correct password and a session: a second factor is due (`code`), or the
-- agency requires an admin to enrol first (`enrol`). It is not a session — its cookie is
-- another, sent only to /login — and lasts minutes. `id` is the SHA-256 of the cookie's
-- secret; its forms carry `csrf_token`.
CREATE TABLE sign_in_challenges (
    id TEXT PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at {TIMESTAMP} NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT sign_in_challenges_purpose CHECK (purpose IN ('code', 'enrol'))
);
CREATE INDEX sign_in_challenges_user_idx ON sign_in_challenges (agency_id, user_id);

-- An agency may require every admin to sign in with a second factor.
ALTER TABLE agencies ADD COLUMN require_admin_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
