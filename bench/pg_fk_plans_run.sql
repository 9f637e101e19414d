-- One timed run of pg_fk_plans.sql's insert (the :insert variable), rolled back.
BEGIN;
\timing on
:insert;
\timing off
ROLLBACK;
