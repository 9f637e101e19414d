-- Progress reads the sign-offs of a set of periods (`training::sign_offs_of_periods`); the
-- credential index leads with the credential, so without this an agency's sign-offs were
-- scanned whole for every refresh.
CREATE INDEX sign_offs_period_idx ON sign_offs (agency_id, period_id);
