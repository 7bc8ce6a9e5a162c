-- Direct debit: the tenant as SEPA creditor, customers' mandates, the
-- pain.008 batches sent to the bank and the collections they hold (the
-- expected receipts), settled or returned by the bank's results.

CREATE TABLE creditors (
    tenant TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    iban TEXT NOT NULL,
    bic TEXT,
    creditor_id TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE mandates (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    customer_id UUID NOT NULL,
    reference TEXT NOT NULL,
    debtor_name TEXT NOT NULL,
    iban TEXT NOT NULL,
    bic TEXT,
    signed_on DATE NOT NULL,
    sequence_type TEXT NOT NULL CHECK (sequence_type IN ('FRST', 'RCUR', 'OOFF', 'FNAL')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ,
    UNIQUE (tenant, reference)
);
CREATE UNIQUE INDEX mandates_one_active_per_customer ON mandates (tenant, customer_id)
    WHERE status = 'active';

CREATE TABLE direct_debit_batches (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    message_id TEXT NOT NULL,
    collection_date DATE NOT NULL,
    currency CHAR(3) NOT NULL,
    total NUMERIC(20, 6) NOT NULL CHECK (total > 0),
    collections INTEGER NOT NULL CHECK (collections > 0),
    file_xml TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, message_id)
);

CREATE TABLE direct_debit_collections (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    batch_id UUID NOT NULL REFERENCES direct_debit_batches (id),
    invoice_id UUID NOT NULL REFERENCES open_items (id),
    customer_id UUID NOT NULL,
    mandate_id UUID NOT NULL REFERENCES mandates (id),
    end_to_end_id TEXT NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    currency CHAR(3) NOT NULL,
    sequence_type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'expected' CHECK (status IN ('expected', 'settled', 'returned')),
    return_reason TEXT,
    receipt_id UUID REFERENCES receipts (id),
    settled_at TIMESTAMPTZ,
    returned_at TIMESTAMPTZ,
    UNIQUE (tenant, end_to_end_id)
);
-- An invoice is collected once at a time (a returned collection may be retried).
CREATE UNIQUE INDEX direct_debit_collections_live_per_invoice ON direct_debit_collections (invoice_id)
    WHERE status IN ('expected', 'settled');
CREATE INDEX direct_debit_collections_by_batch ON direct_debit_collections (batch_id);

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['creditors', 'mandates', 'direct_debit_batches',
        'direct_debit_collections']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (otc_tenant_visible(tenant)) '
            'WITH CHECK (otc_tenant_visible(tenant))', name);
    END LOOP;
END
$$;
