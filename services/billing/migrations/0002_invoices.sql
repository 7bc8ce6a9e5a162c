-- Billable lines (one per shipped order line: the exactly-once anchor),
-- invoices and notes with their lines, rendered documents and deliveries.

CREATE TABLE billable_lines (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    shipment_id UUID NOT NULL,
    order_id UUID NOT NULL,
    order_line_id TEXT NOT NULL,
    customer_id UUID NOT NULL,
    sku TEXT NOT NULL,
    description TEXT NOT NULL,
    quantity NUMERIC(20, 6) NOT NULL CHECK (quantity > 0),
    unit_price NUMERIC(20, 6) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    currency CHAR(3) NOT NULL,
    tax_code TEXT NOT NULL,
    shipped_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The recording transaction: the consumer bills, before it commits, the
    -- lines its own transaction recorded.
    recorded_tx BIGINT NOT NULL DEFAULT txid_current(),
    -- The draft or issued invoice that bills it; set once.
    invoice_id UUID,
    UNIQUE (shipment_id, order_line_id)
);
CREATE INDEX billable_lines_open ON billable_lines (tenant, customer_id, shipped_at)
    WHERE invoice_id IS NULL;
CREATE INDEX billable_lines_just_recorded ON billable_lines (recorded_tx) WHERE invoice_id IS NULL;
-- What was shipped so far of an order (the discrepancy check).
CREATE INDEX billable_lines_by_order ON billable_lines (order_id);

CREATE TABLE invoices (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note', 'debit_note')),
    status TEXT NOT NULL CHECK (status IN ('held', 'issued')),
    series TEXT,
    sequence BIGINT,
    number TEXT,
    customer_id UUID NOT NULL,
    corrects_invoice_id UUID REFERENCES invoices (id),
    currency CHAR(3) NOT NULL,
    functional_currency CHAR(3) NOT NULL,
    fx_rate NUMERIC(28, 10),
    fx_rate_date DATE,
    net_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    tax_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    total_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    functional_net_amount NUMERIC(20, 6),
    functional_tax_amount NUMERIC(20, 6),
    functional_total_amount NUMERIC(20, 6),
    tax_summary JSONB NOT NULL DEFAULT '[]',
    issue_date DATE,
    due_date DATE,
    discount_date DATE,
    discount_amount NUMERIC(20, 6),
    payment_terms_code TEXT NOT NULL DEFAULT '',
    billing_period TEXT NOT NULL DEFAULT 'PER_SHIPMENT',
    hold_reasons JSONB NOT NULL DEFAULT '[]',
    discrepancies JSONB NOT NULL DEFAULT '[]',
    discrepancy_accepted_by TEXT,
    reason TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    request_hash TEXT,
    -- What the document shows (seller, buyer, lines, totals), frozen at issue
    -- so a re-render gives the same PDF.
    document_view JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    issued_at TIMESTAMPTZ,
    CHECK ((status = 'issued') = (number IS NOT NULL)),
    CHECK (kind = 'invoice' OR corrects_invoice_id IS NOT NULL),
    UNIQUE (tenant, number),
    UNIQUE (tenant, series, sequence),
    UNIQUE (tenant, kind, idempotency_key)
);
CREATE INDEX invoices_by_customer ON invoices (tenant, customer_id, issue_date);
CREATE INDEX invoices_held ON invoices (tenant, created_at) WHERE status = 'held';
CREATE INDEX invoices_corrections ON invoices (corrects_invoice_id) WHERE corrects_invoice_id IS NOT NULL;

CREATE TABLE invoice_lines (
    tenant TEXT NOT NULL,
    invoice_id UUID NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    -- Invoices only: a billable line is on at most one invoice, ever.
    billable_line_id UUID UNIQUE REFERENCES billable_lines (id),
    -- Notes only: the invoice line corrected (NULL for a debit note's extra charge).
    corrects_line_no INTEGER,
    shipment_id UUID,
    order_id UUID,
    order_line_id TEXT,
    sku TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL,
    quantity NUMERIC(20, 6) NOT NULL,
    unit_price NUMERIC(20, 6) NOT NULL,
    tax_code TEXT NOT NULL,
    tax_category TEXT NOT NULL DEFAULT 'standard',
    tax_rate NUMERIC(9, 6) NOT NULL DEFAULT 0,
    net NUMERIC(20, 6) NOT NULL,
    tax NUMERIC(20, 6) NOT NULL,
    gross NUMERIC(20, 6) NOT NULL,
    functional_net NUMERIC(20, 6),
    functional_tax NUMERIC(20, 6),
    PRIMARY KEY (invoice_id, line_no),
    CHECK (net + tax = gross)
);

-- An issued document never changes: corrections are notes.
CREATE FUNCTION billing_issued_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'invoices' THEN
        IF OLD.status = 'issued' THEN
            RAISE EXCEPTION 'invoice % (%) is issued and cannot change', OLD.number, OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM invoices WHERE id = OLD.invoice_id AND status = 'issued') THEN
        RAISE EXCEPTION 'lines of issued invoice % cannot change', OLD.invoice_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION billing_issued_is_immutable();
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION billing_issued_is_immutable();

-- The rendered PDF of an issued document, stored with its SHA-256.
CREATE TABLE documents (
    tenant TEXT NOT NULL,
    invoice_id UUID PRIMARY KEY REFERENCES invoices (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'stored', 'failed')),
    object_key TEXT,
    sha256 TEXT,
    size BIGINT,
    render_count INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error TEXT,
    -- Deliver once stored (an invoice issued for a customer with a channel).
    deliver_after_render BOOLEAN NOT NULL DEFAULT false,
    rendered_at TIMESTAMPTZ
);
CREATE INDEX documents_due ON documents (next_attempt_at) WHERE status = 'pending';

CREATE TABLE deliveries (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    invoice_id UUID NOT NULL REFERENCES invoices (id),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'accepted', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A claimed send; another worker may take it over after this.
    lease_until TIMESTAMPTZ,
    last_error TEXT,
    response TEXT,
    accepted_at TIMESTAMPTZ,
    requested_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_by_invoice ON deliveries (invoice_id, created_at);

ALTER TABLE billable_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE billable_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON billable_lines USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON invoices USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE invoice_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON invoice_lines USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON documents USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON deliveries USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
