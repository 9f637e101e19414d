CREATE TABLE renewal_plans (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT renewal_plans_type_key UNIQUE (agency_id, credential_type_id)
);

-- One member's track for one credential type. Status, progress and the facts they are
-- computed from are stored here so the list filters and sorts by index; status_changes_on
-- is the first day the stored status may go stale, which is all the daily sweep reads.
CREATE TABLE credentials (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL DEFAULT 0,
    progress BIGINT NOT NULL DEFAULT 0,
    expiring_soon BOOLEAN NOT NULL DEFAULT FALSE,
    status_changes_on {DATE},
    member_sort_name TEXT {BYTES} NOT NULL,
    issuance_id BIGINT,
    issue_date {DATE},
    expiration_date {DATE},
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    period_id BIGINT,
    period_start {DATE},
    period_end {DATE},
    due_date {DATE},
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL,
    CONSTRAINT credentials_member_type_key UNIQUE (agency_id, member_id, credential_type_id)
);
CREATE INDEX credentials_status_idx ON credentials (agency_id, status, id);
CREATE INDEX credentials_status_rank_idx ON credentials (agency_id, status_rank, id);
CREATE INDEX credentials_type_status_idx ON credentials (agency_id, credential_type_id, status, id);
-- Serves a member's credentials in list order (the sort key is constant per member).
CREATE INDEX credentials_member_idx ON credentials (agency_id, member_id, member_sort_name, id);
CREATE INDEX credentials_member_sort_idx ON credentials (agency_id, member_sort_name, id);
CREATE INDEX credentials_expiration_idx ON credentials (agency_id, expiration_date, id);
CREATE INDEX credentials_progress_idx ON credentials (agency_id, progress, id);
CREATE INDEX credentials_changes_idx ON credentials (agency_id, status_changes_on);
CREATE INDEX credentials_type_expiration_idx ON credentials (agency_id, credential_type_id, expiration_date, id);
CREATE INDEX credentials_due_idx ON credentials (agency_id, due_date);

CREATE TABLE completion_periods (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    credential_id BIGINT NOT NULL REFERENCES credentials (id),
    start_date {DATE} NOT NULL,
    end_date {DATE} NOT NULL,
    due_date {DATE} NOT NULL,
    opened_by_issuance_id BIGINT,
    renewal_plan_id BIGINT REFERENCES renewal_plans (id),
    closed_at {TIMESTAMP},
    closed_by_issuance_id BIGINT,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT completion_periods_dates_check CHECK (start_date <= end_date AND due_date <= end_date)
);
CREATE INDEX completion_periods_credential_idx ON completion_periods (agency_id, credential_id, id);
CREATE INDEX completion_periods_plan_idx ON completion_periods (agency_id, renewal_plan_id);

CREATE TABLE issuances (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    credential_id BIGINT NOT NULL REFERENCES credentials (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    issue_date {DATE} NOT NULL,
    expiration_date {DATE},
    credential_number TEXT,
    issuing_officer TEXT,
    status_reason TEXT,
    revoked_at {TIMESTAMP},
    revoke_reason TEXT,
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT issuances_number_key UNIQUE (agency_id, credential_type_id, credential_number),
    CONSTRAINT issuances_dates_check CHECK (expiration_date IS NULL OR expiration_date >= issue_date)
);
CREATE INDEX issuances_credential_idx ON issuances (agency_id, credential_id, id);
