-- "groups" is a keyword in SQLite's window syntax, hence agency_groups.
CREATE TABLE agency_groups (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT agency_groups_name_key UNIQUE (agency_id, name)
);

CREATE TABLE group_memberships (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    group_id BIGINT NOT NULL REFERENCES agency_groups (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    created_at {TIMESTAMP} NOT NULL,
    PRIMARY KEY (agency_id, group_id, member_id)
);
CREATE INDEX group_memberships_member_idx ON group_memberships (agency_id, member_id, group_id);

CREATE TABLE courses (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    hours DOUBLE PRECISION NOT NULL DEFAULT 0,
    category TEXT,
    graded BOOLEAN NOT NULL DEFAULT FALSE,
    passing_grade DOUBLE PRECISION,
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT courses_code_key UNIQUE (agency_id, code)
);
