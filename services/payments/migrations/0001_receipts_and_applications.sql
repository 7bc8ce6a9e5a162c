-- Payments: the projections cash application matches against (customers
-- and open items from order and billing events), receipts, applications,
-- refunds, imported statements and provider webhooks.

-- Fuzzy payer names (trigram similarity); a trusted extension since PG 13.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE cash_application_policies (
    tenant TEXT PRIMARY KEY,
    auto_apply_threshold SMALLINT NOT NULL DEFAULT 90 CHECK (auto_apply_threshold BETWEEN 1 AND 100),
    max_combination SMALLINT NOT NULL DEFAULT 5 CHECK (max_combination BETWEEN 1 AND 8),
    short_pay_tolerance_amount NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (short_pay_tolerance_amount >= 0),
    short_pay_tolerance_percent NUMERIC(9, 6) NOT NULL DEFAULT 0
        CHECK (short_pay_tolerance_percent BETWEEN 0 AND 100),
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- From `CustomerUpserted`; `match_name` is the folded legal name the
-- trigram index searches.
CREATE TABLE customers (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    legal_name TEXT NOT NULL,
    match_name TEXT NOT NULL,
    currency CHAR(3),
    status TEXT NOT NULL DEFAULT '',
    mandate_reference TEXT,
    master_version BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customers_by_match_name ON customers USING gin (match_name gin_trgm_ops);

-- Known payer accounts (IBANs, normalised: no spaces, upper case).
CREATE TABLE customer_accounts (
    tenant TEXT NOT NULL,
    account TEXT NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers (id),
    PRIMARY KEY (tenant, account, customer_id)
);

-- Invoices and debit notes that can be paid. `open_amount` is what cash
-- application may still settle; a deduction stays owed in the ledger (it is
-- disputed in collections) but is no longer matched.
CREATE TABLE open_items (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    customer_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'debit_note')),
    number TEXT NOT NULL,
    match_key TEXT NOT NULL,
    currency CHAR(3) NOT NULL,
    total NUMERIC(20, 6) NOT NULL CHECK (total >= 0),
    credited NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (credited >= 0),
    cash_applied NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (cash_applied >= 0),
    discount_taken NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (discount_taken >= 0),
    deducted NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (deducted >= 0),
    open_amount NUMERIC(20, 6) GENERATED ALWAYS AS
        (total - credited - cash_applied - discount_taken - deducted) STORED,
    issue_date DATE NOT NULL,
    due_date DATE NOT NULL,
    discount_date DATE,
    discount_amount NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    issued_at TIMESTAMPTZ NOT NULL,
    -- When this service learnt of it: receipts waiting in the exception
    -- queue since before are matched again.
    projected_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX open_items_by_key ON open_items (tenant, match_key);
CREATE INDEX open_items_open_by_customer ON open_items (tenant, customer_id, due_date)
    WHERE open_amount > 0;
CREATE INDEX open_items_by_projection ON open_items (tenant, projected_at);

-- Credit notes, kept so one that is applied before its invoice is projected
-- is still counted when the invoice arrives.
CREATE TABLE credit_notes (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL,
    number TEXT NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    currency CHAR(3) NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX credit_notes_by_invoice ON credit_notes (invoice_id);

CREATE TABLE statements (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    identity TEXT NOT NULL,
    format TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    account TEXT NOT NULL,
    message_id TEXT NOT NULL,
    statement_ref TEXT NOT NULL,
    entries INTEGER NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, identity)
);

-- A receipt is money in. Per receipt, and so per tenant and currency:
-- amount - reversed = applied + unapplied + refunded, checked by the
-- database at every commit.
CREATE TABLE receipts (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    -- What makes it idempotent: "grpc:<key>", "statement:<identity>/<ref>",
    -- "webhook:<provider>/<event id>", "direct_debit:<end-to-end id>".
    source_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN
        ('cash', 'cheque', 'card', 'wire', 'manual', 'bank_statement', 'provider', 'direct_debit')),
    customer_id UUID,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    applied NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (applied >= 0),
    unapplied NUMERIC(20, 6) NOT NULL CHECK (unapplied >= 0),
    refunded NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    reversed NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (reversed >= 0),
    value_date DATE NOT NULL,
    payer_name TEXT NOT NULL DEFAULT '',
    payer_account TEXT NOT NULL DEFAULT '',
    remittance TEXT NOT NULL DEFAULT '',
    external_reference TEXT NOT NULL DEFAULT '',
    statement_id UUID REFERENCES statements (id),
    match_state TEXT NOT NULL DEFAULT 'none'
        CHECK (match_state IN ('none', 'auto', 'exception', 'manual', 'rejected')),
    suggestions JSONB NOT NULL DEFAULT '[]',
    reversal_reason TEXT,
    received_by TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, source_key),
    CONSTRAINT receipt_balances CHECK (amount - reversed = applied + unapplied + refunded),
    CONSTRAINT reversal_is_whole CHECK (reversed = 0 OR reversed = amount)
);
CREATE INDEX receipts_by_customer ON receipts (tenant, customer_id, received_at);
CREATE INDEX receipts_exceptions ON receipts (tenant, received_at) WHERE match_state = 'exception';
CREATE INDEX receipts_unapplied ON receipts (tenant, received_at) WHERE unapplied > 0;

CREATE TABLE applications (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    receipt_id UUID NOT NULL REFERENCES receipts (id),
    invoice_id UUID NOT NULL REFERENCES open_items (id),
    customer_id UUID NOT NULL,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount >= 0),
    discount NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (discount >= 0),
    deduction NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (deduction >= 0),
    automatic BOOLEAN NOT NULL,
    confidence SMALLINT NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    method TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    reversed_at TIMESTAMPTZ,
    reversed_by TEXT,
    reversal_reason TEXT,
    CHECK (amount + discount + deduction > 0)
);
CREATE INDEX applications_by_receipt ON applications (receipt_id);
CREATE INDEX applications_by_invoice ON applications (invoice_id);
CREATE INDEX applications_by_customer ON applications (tenant, customer_id, applied_at);

CREATE TABLE refunds (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    receipt_id UUID NOT NULL REFERENCES receipts (id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    currency CHAR(3) NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    issued_by TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, idempotency_key)
);
CREATE INDEX refunds_by_receipt ON refunds (receipt_id);

CREATE TABLE webhook_providers (
    tenant TEXT NOT NULL,
    provider TEXT NOT NULL CHECK (provider ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, provider)
);

-- Provider event ids already handled (a replayed id changes nothing).
CREATE TABLE webhook_events (
    tenant TEXT NOT NULL,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    receipt_id UUID,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, provider, event_id)
);

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['cash_application_policies', 'customers', 'customer_accounts',
        'open_items', 'credit_notes', 'statements', 'receipts', 'applications', 'refunds',
        'webhook_providers', 'webhook_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (otc_tenant_visible(tenant)) '
            'WITH CHECK (otc_tenant_visible(tenant))', name);
    END LOOP;
END
$$;
