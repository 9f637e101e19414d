-- A credential type may ask for a certificate with every issuance (a renewal's included):
-- issuing then records a certificate request for the new issuance in the same transaction,
-- and the old issuance's certificates stay in the credential's history.
ALTER TABLE credential_types ADD COLUMN auto_certificate BOOLEAN NOT NULL DEFAULT FALSE;
