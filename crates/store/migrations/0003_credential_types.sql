CREATE TABLE certificate_templates (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT certificate_templates_name_key UNIQUE (agency_id, name)
);

CREATE TABLE credential_types (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    invisible BOOLEAN NOT NULL DEFAULT FALSE,
    effective_from {DATE},
    due_date {DATE},
    grace_period_days BIGINT NOT NULL DEFAULT 0,
    validity_months BIGINT,
    expiration_rounding TEXT NOT NULL DEFAULT 'none',
    auto_issue BOOLEAN NOT NULL DEFAULT FALSE,
    renewal TEXT NOT NULL DEFAULT 'auto',
    renewal_window_days BIGINT,
    number_pattern TEXT NOT NULL,
    next_number BIGINT NOT NULL DEFAULT 1,
    certificate_template_id BIGINT REFERENCES certificate_templates (id),
    state TEXT NOT NULL DEFAULT 'draft',
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT credential_types_code_key UNIQUE (agency_id, code)
);

-- Requirements are never deleted while a credential may refer to them: a removed
-- requirement is marked inactive so old sign-offs keep their meaning.
CREATE TABLE requirements (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    course_id BIGINT REFERENCES courses (id),
    min_grade DOUBLE PRECISION,
    hours DOUBLE PRECISION,
    category TEXT,
    title TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX requirements_type_idx ON requirements (agency_id, credential_type_id, position);

CREATE TABLE enrolment_groups (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    group_id BIGINT NOT NULL REFERENCES agency_groups (id),
    PRIMARY KEY (agency_id, credential_type_id, group_id)
);
CREATE INDEX enrolment_groups_group_idx ON enrolment_groups (agency_id, group_id);
