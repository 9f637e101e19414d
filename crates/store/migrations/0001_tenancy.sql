CREATE TABLE agencies (
    id {ID},
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    expiring_soon_days BIGINT NOT NULL DEFAULT 60,
    reminder_offsets TEXT NOT NULL DEFAULT '90,60,30,7,0',
    logo_file_id BIGINT,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT agencies_slug_key UNIQUE (slug)
);

CREATE TABLE members (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT,
    employee_number TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort_name TEXT {BYTES} NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT members_employee_number_key UNIQUE (agency_id, employee_number),
    CONSTRAINT members_email_key UNIQUE (agency_id, email)
);
CREATE INDEX members_sort_idx ON members (agency_id, sort_name, id);

-- A login. E-mail is unique across agencies because the login form asks only for e-mail
-- and password; a person who works for two agencies has two logins.
CREATE TABLE users (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    member_id BIGINT REFERENCES members (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_agency_idx ON users (agency_id, id);

-- API tokens are stored as SHA-256 hashes: a token is 256 random bits, so a fast hash is
-- enough and lookups stay one index probe.
CREATE TABLE api_tokens (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    token_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    member_id BIGINT REFERENCES members (id),
    label TEXT,
    created_at {TIMESTAMP} NOT NULL,
    revoked_at {TIMESTAMP},
    CONSTRAINT api_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_agency_idx ON api_tokens (agency_id, id);

-- Web sessions live in the database so any instance can serve any request.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    expires_at {TIMESTAMP} NOT NULL,
    created_at {TIMESTAMP} NOT NULL
);
CREATE INDEX sessions_agency_idx ON sessions (agency_id, user_id);

CREATE TABLE login_attempts (
    id {ID},
    email TEXT NOT NULL,
    at {TIMESTAMP} NOT NULL,
    succeeded BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, at);
