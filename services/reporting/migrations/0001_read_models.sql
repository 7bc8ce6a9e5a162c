-- Reporting's read models: facts folded from every event topic. Reporting
-- owns no truth: each table is what the topics say, and dropping them all
-- and replaying the topics from offset 0 gives the same rows.
--
-- Folding is order-independent. Events of different topics (and partitions)
-- arrive in any order: a payment may be applied before its invoice is seen.
-- So every row is keyed by the id of what it describes, and each column is
-- written by one kind of event only (a row may be created by whichever of its
-- events comes first, with the other columns still NULL). Figures are
-- computed from these facts when asked, as of any date.
--
-- Money: NUMERIC with its ISO 4217 code beside it, never a float.

-- From `CustomerUpserted`; an older master version never overwrites a newer one.
CREATE TABLE customers (
    tenant TEXT NOT NULL,
    customer_id UUID NOT NULL,
    legal_name TEXT NOT NULL,
    segment TEXT NOT NULL,
    currency CHAR(3),
    tax_region TEXT NOT NULL,
    payment_terms_code TEXT NOT NULL,
    status TEXT NOT NULL,
    master_version BIGINT NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);

-- Invoices and debit notes: the items a customer owes. Their open amount as
-- of a date is `amount` plus the `movements` against them up to that date.
CREATE TABLE documents (
    tenant TEXT NOT NULL,
    document_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'debit_note')),
    number TEXT NOT NULL,
    -- A debit note's invoice.
    corrects_invoice_id UUID,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    -- The tenant's functional currency and the equivalent billing gave.
    functional_currency CHAR(3),
    functional_amount NUMERIC(20, 6),
    issue_date DATE NOT NULL,
    due_date DATE NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    payment_terms_code TEXT NOT NULL,
    order_ids UUID[] NOT NULL,
    PRIMARY KEY (tenant, document_id)
);
CREATE INDEX documents_by_customer ON documents (tenant, customer_id, due_date);
CREATE INDEX documents_by_issue_date ON documents (tenant, issue_date);

-- Every change of an item's open amount, signed: negative lowers what is
-- owed (credit note, cash applied, discount taken, write-off), positive
-- raises it again (an unapplication). One row per effect of an event.
CREATE TABLE movements (
    tenant TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('credit_note', 'cash_applied', 'discount_taken',
        'cash_unapplied', 'discount_unapplied', 'write_off')),
    item_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    -- The credit note, application or write-off it comes from.
    source_id UUID NOT NULL,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    -- The UTC calendar day of `occurred_at`: aging as of a date counts
    -- the movements of that day and before.
    occurred_on DATE NOT NULL,
    PRIMARY KEY (tenant, event_id, kind)
);
CREATE INDEX movements_by_item ON movements (tenant, item_id, occurred_on);
CREATE INDEX movements_by_customer ON movements (tenant, customer_id, occurred_on);

-- Money received (`PaymentReceived`), later perhaps reversed (`PaymentReversed`).
-- A receipt from a payer not identified yet has no customer.
CREATE TABLE receipts (
    tenant TEXT NOT NULL,
    receipt_id UUID NOT NULL,
    customer_id UUID,
    currency CHAR(3),
    amount NUMERIC(20, 6),
    channel TEXT,
    value_date DATE,
    received_at TIMESTAMPTZ,
    reversed_amount NUMERIC(20, 6),
    reversed_at TIMESTAMPTZ,
    reversal_reason TEXT,
    PRIMARY KEY (tenant, receipt_id)
);
CREATE INDEX receipts_by_value_date ON receipts (tenant, value_date);

-- Cash applied to an invoice (`PaymentApplied`), perhaps unapplied later
-- (`PaymentUnapplied`).
CREATE TABLE applications (
    tenant TEXT NOT NULL,
    application_id UUID NOT NULL,
    receipt_id UUID,
    customer_id UUID,
    invoice_id UUID,
    currency CHAR(3),
    amount NUMERIC(20, 6),
    discount NUMERIC(20, 6),
    deduction NUMERIC(20, 6),
    automatic BOOLEAN,
    method TEXT,
    confidence NUMERIC(9, 4),
    applied_at TIMESTAMPTZ,
    -- When the customer paid (the receipt's value date).
    value_date DATE,
    unapplied_at TIMESTAMPTZ,
    unapply_reason TEXT,
    PRIMARY KEY (tenant, application_id)
);
CREATE INDEX applications_by_invoice ON applications (tenant, invoice_id);
CREATE INDEX applications_by_customer ON applications (tenant, customer_id, value_date);

CREATE TABLE refunds (
    tenant TEXT NOT NULL,
    refund_id UUID NOT NULL,
    receipt_id UUID NOT NULL,
    customer_id UUID,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    reason TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, refund_id)
);

-- Short payments accepted within tolerance (`DeductionTaken`).
CREATE TABLE deductions (
    tenant TEXT NOT NULL,
    deduction_id UUID NOT NULL,
    application_id UUID,
    receipt_id UUID,
    customer_id UUID NOT NULL,
    invoice_id UUID,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    reason TEXT NOT NULL,
    taken_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, deduction_id)
);

-- Orders through their lifecycle, for the order-to-cash cycle time.
CREATE TABLE orders (
    tenant TEXT NOT NULL,
    order_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    source TEXT,
    external_order_id TEXT,
    currency CHAR(3),
    total NUMERIC(20, 6),
    -- The revision `total` is of: 0 as placed, then each amendment's.
    total_revision INTEGER,
    placed_at TIMESTAMPTZ,
    approved_at TIMESTAMPTZ,
    held_at TIMESTAMPTZ,
    released_at TIMESTAMPTZ,
    first_shipped_at TIMESTAMPTZ,
    last_shipped_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, order_id)
);

CREATE TABLE disputes (
    tenant TEXT NOT NULL,
    dispute_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    invoice_ids UUID[],
    reason_code TEXT,
    currency CHAR(3),
    amount NUMERIC(20, 6),
    -- manual, deduction
    source TEXT,
    owner TEXT,
    sla_due_date DATE,
    opened_at TIMESTAMPTZ,
    -- credit_note, write_off, rejected
    resolution TEXT,
    resolved_amount NUMERIC(20, 6),
    resolved_by TEXT,
    resolved_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, dispute_id)
);

CREATE TABLE promises (
    tenant TEXT NOT NULL,
    promise_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    invoice_ids UUID[],
    currency CHAR(3),
    amount NUMERIC(20, 6),
    promised_date DATE,
    recorded_at TIMESTAMPTZ,
    -- kept, broken
    outcome TEXT,
    paid NUMERIC(20, 6),
    outcome_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, promise_id)
);

CREATE TABLE dunning_notices (
    tenant TEXT NOT NULL,
    notice_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    level INTEGER NOT NULL,
    channel TEXT NOT NULL,
    invoice_ids UUID[] NOT NULL,
    currency CHAR(3) NOT NULL,
    overdue_amount NUMERIC(20, 6) NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    as_of DATE NOT NULL,
    PRIMARY KEY (tenant, notice_id)
);

-- Credit holds and releases told by collections (the exception queue shows
-- the customers on hold).
CREATE TABLE credit_status (
    tenant TEXT NOT NULL,
    customer_id UUID NOT NULL,
    held_at TIMESTAMPTZ,
    hold_reason TEXT,
    released_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, customer_id)
);

-- Invoices billing held for review (`InvoiceHeld`), an exception too.
CREATE TABLE held_invoices (
    tenant TEXT NOT NULL,
    invoice_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    currency CHAR(3),
    amount NUMERIC(20, 6),
    reasons TEXT[] NOT NULL,
    held_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, invoice_id)
);

-- Customers and tenants whose snapshots (ar_aging, customer_kpis, kpis) are
-- to be published again: marked in the fold transaction, taken by the
-- snapshot publisher, which coalesces many changes into one record. A mark
-- made again gets a new version; the publisher deletes only the versions it
-- read, so a change folded while it computes is published in its next round.
CREATE SEQUENCE snapshot_mark_versions;
CREATE TABLE snapshot_marks (
    tenant TEXT NOT NULL,
    -- The nil UUID marks the tenant-level `kpis` snapshot.
    customer_id UUID NOT NULL,
    version BIGINT NOT NULL DEFAULT nextval('snapshot_mark_versions'),
    marked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, customer_id)
);

-- The read models' generation: a rebuild empties every table above, bumps
-- it, and the fold starts again from offset 0 under a new consumer group.
CREATE TABLE read_model_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    generation INTEGER NOT NULL,
    rebuild_started_at TIMESTAMPTZ,
    rebuilt_by TEXT
);
INSERT INTO read_model_state (generation) VALUES (1);

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['customers', 'documents', 'movements', 'receipts',
        'applications', 'refunds', 'deductions', 'orders', 'disputes', 'promises',
        'dunning_notices', 'credit_status', 'held_invoices', 'snapshot_marks']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY %I ON %I USING (otc_tenant_visible(tenant))'
            ' WITH CHECK (otc_tenant_visible(tenant))', name || '_tenant_isolation', name);
    END LOOP;
END
$$;
