-- Transactional outbox: events written in the same transaction as the state
-- change they describe, published in id order by the relay.
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    record_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    subject TEXT,
    occurred_at TIMESTAMPTZ NOT NULL,
    content_type TEXT NOT NULL,
    traceparent TEXT,
    tracestate TEXT,
    payload BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);

CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_by_tenant ON outbox (tenant, id);
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY outbox_tenant_isolation ON outbox
    USING (otc_tenant_visible(tenant))
    WITH CHECK (otc_tenant_visible(tenant));
