-- Logins administered from the browser (#16).
--
-- E-mails are kept as they were typed and compared case-insensitively: `email_folded` is the
-- address folded to lowercase by the app (Unicode-aware, so both databases agree), and it is
-- what sign-in looks up and what must be unique. Logins made before this were stored folded.
ALTER TABLE users ADD COLUMN email_folded TEXT NOT NULL DEFAULT '';
UPDATE users SET email_folded = lower(email);
CREATE UNIQUE INDEX users_email_folded_key ON users (email_folded);
-- The users page lists an agency's logins by e-mail.
CREATE INDEX users_agency_email_idx ON users (agency_id, email_folded, id);
-- When the login last signed in successfully (the users page shows it).
ALTER TABLE users ADD COLUMN last_sign_in_at {TIMESTAMP};

-- One-time links sent by e-mail: an invitation to set the first password, or a password
-- reset. Only the SHA-256 of the link's 256-bit secret is stored. A link is spent when it is
-- used, when a newer link for the same login is sent, or when the login is deactivated.
CREATE TABLE one_time_links (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at {TIMESTAMP} NOT NULL,
    spent_at {TIMESTAMP},
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT one_time_links_hash_key UNIQUE (token_hash),
    CONSTRAINT one_time_links_purpose CHECK (purpose IN ('invitation', 'password_reset'))
);
CREATE INDEX one_time_links_user_idx ON one_time_links (agency_id, user_id);
