-- API tokens get an optional expiry and the time they were last used (written at most every
-- few minutes, see the app's auth module); `label` is the token's name.
ALTER TABLE api_tokens ADD COLUMN expires_at {TIMESTAMP};
ALTER TABLE api_tokens ADD COLUMN last_used_at {TIMESTAMP};
-- Tokens that speak for a member are found by member when the member is deactivated.
CREATE INDEX api_tokens_member_idx ON api_tokens (agency_id, member_id);
