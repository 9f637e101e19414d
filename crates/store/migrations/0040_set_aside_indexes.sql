-- A bulk seed on PostgreSQL drops the credentials table's secondary indexes and builds each
-- once at its end, instead of keeping thirteen indexes up to date row by row (at 10M
-- credentials that upkeep was most of the seed's 18 minutes). The definitions wait here,
-- written in the transaction that drops them, until they are built again: by the seed when
-- it finishes, or by the next start of any instance if the seed was stopped
-- (crates/store/src/ops/seed.rs). Unused on SQLite.
CREATE TABLE set_aside_indexes (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    set_aside_at {TIMESTAMP} NOT NULL
);
