-- Idempotent consumers: one row per (consumer, event id) applied, written in
-- the same transaction as the effect; and the records sent to a DLQ.
CREATE TABLE inbox (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tenant TEXT,
    event_type TEXT,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    record_offset BIGINT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE dead_letters (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    record_offset BIGINT NOT NULL,
    event_id TEXT,
    tenant TEXT,
    dead_letter_topic TEXT NOT NULL,
    error TEXT NOT NULL,
    dead_lettered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (consumer, topic, partition, record_offset)
);

CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant, id);
