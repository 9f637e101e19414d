-- Why an officer rejected an external certificate: the member reads it on their page.
ALTER TABLE external_submissions ADD COLUMN review_reason TEXT;
