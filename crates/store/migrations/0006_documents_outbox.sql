CREATE TABLE certificates (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    public_id TEXT NOT NULL,
    issuance_id BIGINT NOT NULL REFERENCES issuances (id),
    credential_id BIGINT NOT NULL REFERENCES credentials (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    template_id BIGINT NOT NULL REFERENCES certificate_templates (id),
    template_version BIGINT NOT NULL,
    data_snapshot TEXT NOT NULL,
    status TEXT NOT NULL,
    number TEXT,
    file_id BIGINT REFERENCES files (id),
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    generated_at {TIMESTAMP},
    issued_at {TIMESTAMP},
    issued_by TEXT,
    CONSTRAINT certificates_public_id_key UNIQUE (public_id)
);
CREATE INDEX certificates_agency_idx ON certificates (agency_id, id);
CREATE INDEX certificates_issuance_idx ON certificates (agency_id, issuance_id);

-- Every message goes through the outbox; dedupe_key makes "each reminder once" a
-- constraint instead of a hope, whatever the number of instances.
CREATE TABLE outbox (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id BIGINT,
    attachment_file_id BIGINT REFERENCES files (id),
    dedupe_key TEXT,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at {TIMESTAMP} NOT NULL,
    last_error TEXT,
    sent_at {TIMESTAMP},
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT outbox_dedupe_key UNIQUE (agency_id, dedupe_key)
);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_agency_idx ON outbox (agency_id, id);

-- Daily jobs record the day they ran for, so a restart or a second instance does not
-- repeat them.
CREATE TABLE job_runs (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    job TEXT NOT NULL,
    ran_for {DATE} NOT NULL,
    finished_at {TIMESTAMP} NOT NULL,
    PRIMARY KEY (agency_id, job, ran_for)
);

CREATE TABLE audit_events (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    at {TIMESTAMP} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_events_subject_idx ON audit_events (agency_id, subject_id, id);
CREATE INDEX audit_events_agency_idx ON audit_events (agency_id, id);
