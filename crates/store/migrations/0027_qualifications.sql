-- Qualifications (#20): a named rule (`all` or `any`) over credential types, e.g. "Engine
-- driver" = Driver/Operator + EVOC + CPR. Readiness and the scheduler check read them; a
-- qualification is history-free (it is a question, not a record), so deleting one removes
-- its rows and the audit event keeps what it was.
CREATE TABLE qualifications (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    name TEXT NOT NULL,
    rule TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT qualifications_name_key UNIQUE (agency_id, name),
    CONSTRAINT qualifications_rule_check CHECK (rule IN ('all', 'any'))
);

-- Its types in the order they were given (`position`), so `missing` keeps that order.
CREATE TABLE qualification_types (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    qualification_id BIGINT NOT NULL REFERENCES qualifications (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (agency_id, qualification_id, credential_type_id)
);
-- "Which qualifications use this type" (a type's page, retiring a type).
CREATE INDEX qualification_types_type_idx ON qualification_types (agency_id, credential_type_id);
