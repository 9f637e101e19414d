-- Sign-in attempts remember the client address, so throttling can be per account and
-- address (a stranger's failures slow the stranger) and per address (password spraying).
ALTER TABLE login_attempts ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_attempts_address_idx ON login_attempts (address, at);
