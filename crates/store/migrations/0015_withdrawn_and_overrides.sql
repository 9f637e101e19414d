-- A track withdrawn because its credential type was retired before it was ever issued: kept
-- as history, hidden from lists, the dashboard, a member's page and reminders unless asked
-- for. Tracks of types retired before this column existed are withdrawn here by the same rule.
ALTER TABLE credentials ADD COLUMN withdrawn BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE credentials SET withdrawn = TRUE
WHERE issuance_id IS NULL
  AND credential_type_id IN (SELECT id FROM credential_types WHERE state = 'retired');

-- Why an administrator issued although the requirements were incomplete (seed 002's
-- credentials logged without tracking progress); NULL for an ordinary issue.
ALTER TABLE issuances ADD COLUMN override_reason TEXT;
