-- Certificates an issuing workflow requested (types with `auto_certificate`) are rendered
-- in the background, whichever workflow issued: `render_due_at` is when the next attempt is
-- due (NULL: nothing to render), `render_attempts` how many attempts were claimed. A claim
-- moves `render_due_at` forward, so a crashed renderer's claim lapses and is tried again.
ALTER TABLE certificates ADD COLUMN render_due_at {TIMESTAMP};
ALTER TABLE certificates ADD COLUMN render_attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX certificates_render_due_idx ON certificates (render_due_at, id)
    WHERE render_due_at IS NOT NULL;
