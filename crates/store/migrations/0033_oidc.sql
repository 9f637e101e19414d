-- OpenID Connect sign-in (#21): an agency may let its people sign in through its own identity
-- provider (authorization code + PKCE), beside passwords.
--
-- One provider per agency. The client secret is sealed with AES-256-GCM under the server's
-- key-encryption key (`CREDENCE_KEY_ENCRYPTION_KEY`), bound to the agency, as the badge
-- signing keys are (0029); it is never shown back. `create_accounts`: a verified e-mail with
-- no login but a member of the agency with that e-mail gets a member-role login (off unless
-- the admin turns it on).
CREATE TABLE oidc_providers (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    sealed_client_secret TEXT NOT NULL,
    create_accounts BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT oidc_providers_pkey PRIMARY KEY (agency_id)
);

-- A sign-in between leaving for the provider and coming back: found by the SHA-256 of its
-- `state`, bound to the browser that started it by the SHA-256 of a cookie's value, used
-- once (the row is deleted by the callback) and short-lived. The PKCE verifier and the nonce
-- are random secrets of the server's, kept here rather than in the browser.
CREATE TABLE oidc_sign_ins (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    state_hash TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    next_path TEXT,
    expires_at {TIMESTAMP} NOT NULL,
    CONSTRAINT oidc_sign_ins_pkey PRIMARY KEY (agency_id, state_hash)
);
-- The callback meets a `state` before it knows the agency (like `users_email_key`).
CREATE UNIQUE INDEX oidc_sign_ins_state_key ON oidc_sign_ins (state_hash);
CREATE INDEX oidc_sign_ins_expiry_idx ON oidc_sign_ins (agency_id, expires_at);
