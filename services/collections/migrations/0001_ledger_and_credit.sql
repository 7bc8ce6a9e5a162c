-- Collections, first slice: the AR sub-ledger (customers, open items and the
-- movements each open amount is the sum of), the approved orders not billed
-- yet, and credit control (limits with their history, the tenant's credit
-- policy, and each customer's hold status).

-- From `CustomerUpserted`; an older master version never overwrites a newer one.
CREATE TABLE customers (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    legal_name TEXT NOT NULL,
    currency CHAR(3),
    segment TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    master_version BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id)
);

-- Invoices and debit notes. `open_amount` (and `functional_open`) is kept
-- equal to the sum of the item's posted movements, in the same statement
-- that posts them; a negative open amount is a credit balance.
CREATE TABLE open_items (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    customer_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'debit_note')),
    number TEXT NOT NULL,
    -- A debit note's invoice.
    corrects_invoice_id UUID,
    currency CHAR(3) NOT NULL,
    original_amount NUMERIC(20, 6) NOT NULL,
    open_amount NUMERIC(20, 6) NOT NULL,
    -- The tenant's functional currency, when billing gave the equivalent.
    functional_currency CHAR(3),
    functional_original NUMERIC(20, 6),
    functional_open NUMERIC(20, 6),
    issue_date DATE NOT NULL,
    due_date DATE NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    CHECK ((functional_currency IS NULL) = (functional_original IS NULL)
        AND (functional_original IS NULL) = (functional_open IS NULL))
);
CREATE INDEX open_items_open_by_customer ON open_items (tenant, customer_id, currency, due_date)
    WHERE open_amount <> 0;
CREATE INDEX open_items_by_customer ON open_items (tenant, customer_id, id);

-- Every change of an item's open amount, one row per effect of an event:
-- positive raises what is owed (invoice, debit note, an unapplication),
-- negative lowers it (credit note, cash applied, discount taken). A row
-- whose item is not known yet is parked (`posted_at` NULL) and posted when
-- the item arrives. An event and a document each move an item once.
CREATE TABLE ledger_movements (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    item_id UUID NOT NULL,
    -- The item's customer once posted; the event's while parked.
    customer_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'debit_note', 'credit_note', 'cash_applied',
        'discount_taken', 'cash_unapplied', 'discount_unapplied')),
    -- The invoice, note or cash application the movement comes from.
    document_id UUID NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    currency CHAR(3) NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    -- As the event gave it, or derived at the item's rate when posted.
    functional_currency CHAR(3),
    functional_amount NUMERIC(20, 6),
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    posted_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, event_id, kind),
    UNIQUE (tenant, document_id, kind),
    CHECK (amount <> 0 OR kind IN ('invoice', 'debit_note')),
    CHECK ((functional_currency IS NULL) = (functional_amount IS NULL))
);
CREATE INDEX ledger_movements_parked ON ledger_movements (tenant, item_id) WHERE posted_at IS NULL;
CREATE INDEX ledger_movements_by_item ON ledger_movements (tenant, item_id, id);
CREATE INDEX ledger_movements_by_customer ON ledger_movements (tenant, customer_id, id);

-- Approved orders not billed yet (net amounts): counted in exposure while
-- `reserved` (approved by CheckCredit, not yet confirmed by an event) or
-- `approved`; `held` orders are not counted but are what a release is for.
CREATE TABLE unbilled_orders (
    tenant TEXT NOT NULL,
    order_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    currency CHAR(3) NOT NULL,
    order_total NUMERIC(20, 6) NOT NULL CHECK (order_total >= 0),
    shipped NUMERIC(20, 6) NOT NULL DEFAULT 0 CHECK (shipped >= 0),
    state TEXT NOT NULL CHECK (state IN ('reserved', 'approved', 'pending', 'held', 'ended')),
    unbilled NUMERIC(20, 6) GENERATED ALWAYS AS (CASE WHEN state IN ('reserved', 'approved')
        THEN GREATEST(order_total - shipped, 0) ELSE 0 END) STORED,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, order_id)
);
CREATE INDEX unbilled_orders_by_customer ON unbilled_orders (tenant, customer_id, currency)
    WHERE state IN ('reserved', 'approved', 'held');

-- Shipments already taken out of unbilled (a re-published shipment counts once).
CREATE TABLE order_shipments (
    tenant TEXT NOT NULL,
    shipment_id UUID NOT NULL,
    order_id UUID NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, shipment_id)
);

CREATE TABLE credit_limits (
    tenant TEXT NOT NULL,
    customer_id UUID NOT NULL,
    amount NUMERIC(20, 6) NOT NULL CHECK (amount >= 0),
    currency CHAR(3) NOT NULL,
    risk_class TEXT CHECK (risk_class IN ('A', 'B', 'C', 'D')),
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, customer_id)
);

-- Every limit change: who, when, why, from what, to what.
CREATE TABLE credit_limit_history (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    customer_id UUID NOT NULL,
    amount NUMERIC(20, 6) NOT NULL,
    currency CHAR(3) NOT NULL,
    previous_amount NUMERIC(20, 6),
    previous_currency CHAR(3),
    risk_class TEXT,
    previous_risk_class TEXT,
    version BIGINT NOT NULL,
    reason TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id)
);
CREATE INDEX credit_limit_history_by_customer ON credit_limit_history (tenant, customer_id, id);

-- The tenant's credit policy; a tenant without a row has the defaults.
CREATE TABLE credit_policies (
    tenant TEXT PRIMARY KEY,
    overdue_hold_days INTEGER NOT NULL DEFAULT 30 CHECK (overdue_hold_days BETWEEN 0 AND 3650),
    default_limit_amount NUMERIC(20, 6) CHECK (default_limit_amount >= 0),
    default_limit_currency CHAR(3),
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((default_limit_amount IS NULL) = (default_limit_currency IS NULL))
);

-- Whether a customer is on credit hold (answered HOLD, or an order was put
-- on hold), so that held and released are each told once per transition.
-- The row is also what serialises credit decisions of one customer.
CREATE TABLE credit_status (
    tenant TEXT NOT NULL,
    customer_id UUID NOT NULL,
    on_hold BOOLEAN NOT NULL DEFAULT false,
    hold_reason TEXT NOT NULL DEFAULT '',
    held_since TIMESTAMPTZ,
    released_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, customer_id)
);
CREATE INDEX credit_status_on_hold ON credit_status (tenant) WHERE on_hold;

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['customers', 'open_items', 'ledger_movements', 'unbilled_orders',
        'order_shipments', 'credit_limits', 'credit_limit_history', 'credit_policies',
        'credit_status']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (otc_tenant_visible(tenant)) '
            'WITH CHECK (otc_tenant_visible(tenant))', name);
    END LOOP;
END
$$;
