-- Webhooks (#20): an admin subscribes a URL to events; each event is written to the outbox
-- (kind 'webhook', one row per subscription, in the transaction of the change) and the
-- delivery worker POSTs it signed with the subscription's secret. The secret is kept as
-- given: signing needs it, unlike a token, which is only compared.
-- `events` is ",a,b," so one LIKE finds a type's subscribers.
CREATE TABLE webhooks (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    version BIGINT NOT NULL DEFAULT 1,
    created_at {TIMESTAMP} NOT NULL,
    updated_at {TIMESTAMP} NOT NULL
);
CREATE INDEX webhooks_agency_idx ON webhooks (agency_id, id);

-- Calendar feeds: one secret URL per owner (`member:<id>` for a member's own dates,
-- `login:<label>` for an officer's feed of the agency or a group). Only the secret's
-- SHA-256 is kept; rotating replaces the row, so the old URL stops answering.
CREATE TABLE calendar_feeds (
    id {ID},
    agency_id BIGINT NOT NULL REFERENCES agencies (id),
    owner TEXT NOT NULL,
    member_id BIGINT REFERENCES members (id),
    group_id BIGINT REFERENCES agency_groups (id),
    secret_hash TEXT NOT NULL,
    created_at {TIMESTAMP} NOT NULL,
    CONSTRAINT calendar_feeds_owner_key UNIQUE (agency_id, owner),
    CONSTRAINT calendar_feeds_secret_key UNIQUE (secret_hash)
);
