-- Web sessions end after a spell unused (the idle timeout) as well as at expires_at: the
-- last use is stored, written at most once a minute. Sessions open now count from their start.
ALTER TABLE sessions ADD COLUMN last_seen_at {TIMESTAMP};
UPDATE sessions SET last_seen_at = created_at;
