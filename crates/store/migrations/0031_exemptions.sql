-- Exemptions (#20): a member excused from one requirement of a credential (requirement_id)
-- or from all of them (requirement_id NULL), from starts_on until until_date inclusive.
-- Ending one early sets ended_on (it no longer counts from that day); rows are never
-- deleted, so the credential page and an inspector see every excuse that was in force.
CREATE TABLE exemptions (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    credential_type_id BIGINT NOT NULL REFERENCES credential_types (id),
    credential_id BIGINT NOT NULL REFERENCES credentials (id),
    requirement_id BIGINT REFERENCES requirements (id),
    reason TEXT NOT NULL,
    starts_on {DATE} NOT NULL,
    until_date {DATE} NOT NULL,
    ended_on {DATE},
    ended_by TEXT,
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT exemptions_dates_check CHECK (starts_on <= until_date)
);
-- The lifecycle reads a credential's exemptions on every refresh.
CREATE INDEX exemptions_credential_idx ON exemptions (agency_id, credential_id, until_date);
CREATE INDEX exemptions_member_idx ON exemptions (agency_id, member_id, id);

-- A leave of absence pushes back the member's open periods by its length; which periods it
-- moved, and by how much, is kept so withdrawing it before it starts undoes exactly that.
CREATE TABLE leaves (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    starts_on {DATE} NOT NULL,
    ends_on {DATE} NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    withdrawn_at {TIMESTAMP},
    withdrawn_by TEXT,
    CONSTRAINT leaves_dates_check CHECK (starts_on <= ends_on)
);
CREATE INDEX leaves_member_idx ON leaves (agency_id, member_id, id);

CREATE TABLE leave_extensions (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    leave_id BIGINT NOT NULL REFERENCES leaves (id),
    period_id BIGINT NOT NULL REFERENCES completion_periods (id),
    days BIGINT NOT NULL,
    PRIMARY KEY (agency_id, leave_id, period_id)
);

-- An issuance made while exemptions excused requirements names them (what, until, why,
-- who), so the record says it was issued under exemption.
ALTER TABLE issuances ADD COLUMN exemption_note TEXT;
