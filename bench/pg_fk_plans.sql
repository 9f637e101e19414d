-- Why Credence leaves PostgreSQL's plan caching at its default (see Store::connect).
--
-- Foreign-key checks run as cached plans inside the backend. With
-- plan_cache_mode = force_custom_plan every check is planned again, once per row and key.
-- This inserts the same 20,000 credential rows twice per mode, inside rolled-back
-- transactions, and prints the timings. Run it on the database a lifecycle benchmark left
-- behind (python3 bench/lifecycle.py --db postgres):
--
--   psql -h 127.0.0.1 -U postgres -d credence_bench -f bench/pg_fk_plans.sql
\timing off
\set ON_ERROR_STOP on
SELECT id AS agency FROM agencies WHERE slug = 'bench' \gset
-- A scratch copy of a credential type, so the inserted rows break no unique key.
CREATE TEMP TABLE scratch_type AS SELECT * FROM credential_types WHERE agency_id = :agency ORDER BY id LIMIT 1;
UPDATE scratch_type SET id = (SELECT max(id) + 1000 FROM credential_types), code = 'FK-PLANS';
SELECT id AS scratch FROM scratch_type \gset
INSERT INTO credential_types OVERRIDING SYSTEM VALUE SELECT * FROM scratch_type;

-- One statement, timed per mode; each run is rolled back.
\set insert 'INSERT INTO credentials (agency_id, member_id, credential_type_id, status, member_sort_name, created_at, updated_at) SELECT m.agency_id, m.id, ' :scratch ', ''not_started'', m.sort_name, now(), now() FROM members m WHERE m.agency_id = ' :agency ' ORDER BY m.id LIMIT 20000'
\echo 'force_custom_plan, then auto (the default), twice:'
SET plan_cache_mode = force_custom_plan;
\ir pg_fk_plans_run.sql
SET plan_cache_mode = auto;
\ir pg_fk_plans_run.sql
SET plan_cache_mode = force_custom_plan;
\ir pg_fk_plans_run.sql
SET plan_cache_mode = auto;
\ir pg_fk_plans_run.sql
DELETE FROM credential_types WHERE id = :scratch;
