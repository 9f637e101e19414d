-- Daily jobs are claimed with a lease and marked finished only when they have run, so an
-- instance killed mid-sweep leaves a claim that another takes over once the lease expires
-- (job_runs marked the day done when it was claimed, before the sweep ran). The rows of
-- job_runs all finished (or were taken as finished), so they move over as finished.
CREATE TABLE daily_job_runs (
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    job TEXT NOT NULL,
    ran_for {DATE} NOT NULL,
    claimed_at {TIMESTAMP} NOT NULL,
    lease_until {TIMESTAMP} NOT NULL,
    finished_at {TIMESTAMP},
    PRIMARY KEY (agency_id, job, ran_for)
);
INSERT INTO daily_job_runs (agency_id, job, ran_for, claimed_at, lease_until, finished_at)
SELECT agency_id, job, ran_for, finished_at, finished_at, finished_at FROM job_runs;
DROP TABLE job_runs;
