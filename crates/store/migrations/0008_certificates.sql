-- Every saved version of a template, so a certificate can be rendered again exactly as
-- it was generated (merged print files, history) after the template has moved on.
CREATE TABLE certificate_template_versions (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    template_id BIGINT NOT NULL REFERENCES certificate_templates (id),
    version BIGINT NOT NULL,
    source TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    PRIMARY KEY (template_id, version)
);

CREATE INDEX certificates_credential_idx ON certificates (agency_id, credential_id, id);
CREATE INDEX certificates_member_idx ON certificates (agency_id, member_id, id);
CREATE INDEX certificates_status_idx ON certificates (agency_id, status, id);
