-- A bulk action (assign, bulk update, bulk revoke, renew, renewal plan, certificates) as one
-- operation that can be undone. `snapshot` holds, as JSON, the history rows of the credentials
-- it touched as they were before it (see credence_domain::undo); `after_state` the same rows as
-- it left them: when they differ at undo time, a later change touched them and the undo is
-- refused; `touched` the credentials it wrote.
CREATE TABLE operations (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    summary TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    touched TEXT NOT NULL,
    after_state TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    undone_at {TIMESTAMP},
    undone_by TEXT
);
CREATE INDEX operations_agency_idx ON operations (agency_id, id);
