-- A spreadsheet import (members, group memberships, training records, issuances) as previewed
-- and, later, committed. `payload` holds, as JSON, the parsed and validated rows with what the
-- preview decided for each (create, update, add…): the commit re-validates them against the
-- agency as it is then and refuses (409) when the outcome would differ. `errors` holds the
-- preview's `[{row, column, message}]`, `sample` its first rows as the page shows them; a preview with errors cannot be committed.
CREATE TABLE imports (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    file_name TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    created_count BIGINT NOT NULL,
    updated_count BIGINT NOT NULL,
    unchanged_count BIGINT NOT NULL,
    errors TEXT NOT NULL,
    payload TEXT NOT NULL,
    sample TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    committed_at {TIMESTAMP},
    CONSTRAINT imports_kind_check CHECK (kind IN ('members', 'group_memberships', 'training_records', 'issuances')),
    CONSTRAINT imports_status_check CHECK (status IN ('previewed', 'committed'))
);
CREATE INDEX imports_agency_idx ON imports (agency_id, id);
