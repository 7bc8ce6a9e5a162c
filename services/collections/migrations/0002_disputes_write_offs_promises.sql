-- Collections, second slice: disputes on open items (with their notes,
-- attachment references and the durable credit-note resolution), write-offs
-- with approval (applied as `write_off` ledger movements), promises to pay
-- (kept or broken), and the tenant's collections settings (dispute SLA,
-- write-off approval threshold).

ALTER TABLE ledger_movements DROP CONSTRAINT ledger_movements_kind_check;
ALTER TABLE ledger_movements ADD CONSTRAINT ledger_movements_kind_check
    CHECK (kind IN ('invoice', 'debit_note', 'credit_note', 'cash_applied', 'discount_taken',
        'cash_unapplied', 'discount_unapplied', 'write_off'));

-- A tenant without a row has the defaults.
CREATE TABLE collections_settings (
    tenant TEXT PRIMARY KEY,
    dispute_sla_days INTEGER NOT NULL DEFAULT 10 CHECK (dispute_sla_days BETWEEN 1 AND 365),
    -- Write-offs up to this amount (in the item's currency) apply at once.
    write_off_threshold NUMERIC(20, 6) NOT NULL DEFAULT 50 CHECK (write_off_threshold >= 0),
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- `resolution_pending`: a credit note was asked for and billing has not
-- answered yet; the resolver claims it (lease in `next_attempt_at`) until
-- every item has its note.
CREATE TABLE disputes (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    -- The caller's idempotency key, or `deduction:<id>` for automatic ones.
    request_key TEXT NOT NULL,
    customer_id UUID NOT NULL,
    reason_code TEXT NOT NULL CHECK (reason_code IN ('pricing', 'quantity', 'quality',
        'not_received', 'duplicate_billing', 'other')),
    description TEXT NOT NULL DEFAULT '',
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    state TEXT NOT NULL CHECK (state IN ('open', 'under_review', 'resolution_pending',
        'resolved', 'rejected')),
    resolution TEXT CHECK (resolution IN ('credit_note', 'write_off', 'rejected')),
    resolution_note TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    sla_due_date DATE NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'deduction')),
    deduction_id UUID,
    opened_by TEXT NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_by TEXT,
    resolved_at TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, request_key)
);
CREATE INDEX disputes_by_customer ON disputes (tenant, customer_id, id);
CREATE INDEX disputes_resolution_due ON disputes (next_attempt_at)
    WHERE state = 'resolution_pending';

-- The items a dispute covers (all of one customer and currency), the amount
-- disputed on each, and the credit note billing issued for it.
CREATE TABLE dispute_items (
    tenant TEXT NOT NULL,
    dispute_id UUID NOT NULL,
    item_id UUID NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    credit_note_id UUID,
    credit_note_number TEXT,
    PRIMARY KEY (tenant, dispute_id, item_id),
    FOREIGN KEY (tenant, dispute_id) REFERENCES disputes (tenant, id)
);
CREATE INDEX dispute_items_by_item ON dispute_items (tenant, item_id);

-- Append-only: notes and attachment references (URIs; no file is stored).
CREATE TABLE dispute_notes (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    dispute_id UUID NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    attachment_uris TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, dispute_id) REFERENCES disputes (tenant, id),
    CHECK (body <> '' OR cardinality(attachment_uris) > 0)
);
CREATE INDEX dispute_notes_by_dispute ON dispute_notes (tenant, dispute_id, id);

CREATE TABLE write_offs (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    request_key TEXT NOT NULL,
    customer_id UUID NOT NULL,
    item_id UUID NOT NULL,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending_approval', 'applied', 'rejected')),
    dispute_id UUID,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_by TEXT,
    decided_at TIMESTAMPTZ,
    decision_note TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, request_key),
    CHECK (state = 'pending_approval' OR decided_by IS NOT NULL)
);
CREATE INDEX write_offs_by_customer ON write_offs (tenant, customer_id, id);
CREATE INDEX write_offs_pending ON write_offs (tenant, id) WHERE state = 'pending_approval';

-- A promise is kept when the cash applied to its items after it was made,
-- on or before the promised date, covers its amount; broken when the date
-- passed without that.
CREATE TABLE promises_to_pay (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    request_key TEXT NOT NULL,
    customer_id UUID NOT NULL,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount > 0),
    promised_date DATE NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'kept', 'broken')),
    note TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid NUMERIC(20, 6) NOT NULL DEFAULT 0,
    settled_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, request_key)
);
CREATE INDEX promises_open_by_date ON promises_to_pay (promised_date) WHERE state = 'open';
CREATE INDEX promises_by_customer ON promises_to_pay (tenant, customer_id, id);

CREATE TABLE promise_items (
    tenant TEXT NOT NULL,
    promise_id UUID NOT NULL,
    item_id UUID NOT NULL,
    PRIMARY KEY (tenant, promise_id, item_id),
    FOREIGN KEY (tenant, promise_id) REFERENCES promises_to_pay (tenant, id)
);
CREATE INDEX promise_items_by_item ON promise_items (tenant, item_id);

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['collections_settings', 'disputes', 'dispute_items',
        'dispute_notes', 'write_offs', 'promises_to_pay', 'promise_items']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (otc_tenant_visible(tenant)) '
            'WITH CHECK (otc_tenant_visible(tenant))', name);
    END LOOP;
END
$$;
