CREATE TABLE classes (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    course_id BIGINT NOT NULL REFERENCES courses (id),
    name TEXT NOT NULL,
    starts_on {DATE} NOT NULL,
    ends_on {DATE},
    location TEXT,
    instructor TEXT,
    completed_at {TIMESTAMP},
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL
);
CREATE INDEX classes_course_idx ON classes (agency_id, course_id, starts_on);

CREATE TABLE class_roster (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    class_id BIGINT NOT NULL REFERENCES classes (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    score DOUBLE PRECISION,
    passed BOOLEAN,
    PRIMARY KEY (agency_id, class_id, member_id)
);

CREATE TABLE files (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    storage_key TEXT NOT NULL,
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT files_storage_key UNIQUE (storage_key)
);
CREATE INDEX files_owner_idx ON files (agency_id, owner_kind, owner_id);

CREATE TABLE training_records (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    course_id BIGINT REFERENCES courses (id),
    completed_on {DATE} NOT NULL,
    score DOUBLE PRECISION,
    hours DOUBLE PRECISION NOT NULL DEFAULT 0,
    category TEXT,
    source TEXT NOT NULL,
    class_id BIGINT REFERENCES classes (id),
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT training_records_score_check CHECK (score IS NULL OR (score >= 0 AND score <= 100)),
    CONSTRAINT training_records_hours_check CHECK (hours >= 0)
);
CREATE INDEX training_records_member_idx ON training_records (agency_id, member_id, completed_on);

CREATE TABLE sign_offs (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    credential_id BIGINT NOT NULL REFERENCES credentials (id),
    requirement_id BIGINT NOT NULL REFERENCES requirements (id),
    period_id BIGINT NOT NULL REFERENCES completion_periods (id),
    signed_on {DATE} NOT NULL,
    evaluator TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL
);
CREATE INDEX sign_offs_credential_idx ON sign_offs (agency_id, credential_id, period_id);

-- External certificates a member uploads; an officer approves (recording training) or rejects.
CREATE TABLE external_submissions (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    file_id BIGINT NOT NULL REFERENCES files (id),
    course_id BIGINT REFERENCES courses (id),
    completed_on {DATE} NOT NULL,
    hours DOUBLE PRECISION,
    category TEXT,
    note TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    reviewed_by TEXT,
    reviewed_at {TIMESTAMP},
    training_record_id BIGINT REFERENCES training_records (id),
    created_at {TIMESTAMP} NOT NULL
);
CREATE INDEX external_submissions_status_idx ON external_submissions (agency_id, status, id);
