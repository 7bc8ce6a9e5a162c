-- Orders, their lines and shipments. An order is unique per (source,
-- external order id): redeliveries find it, changed re-publications amend it.
CREATE TABLE orders (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers (id),
    source TEXT NOT NULL,
    external_order_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_credit', 'approved', 'on_credit_hold',
        'partially_fulfilled', 'fulfilled', 'closed', 'cancelled')),
    currency CHAR(3) NOT NULL,
    total NUMERIC(20, 6) NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    -- SHA-256 of the normalized request: the same request again is a no-op.
    input_hash TEXT NOT NULL,
    shipping_address JSONB NOT NULL,
    order_date DATE NOT NULL,
    -- When the credit worker should (re)ask collections; NULL when not waiting.
    credit_check_due_at TIMESTAMPTZ,
    credit_check_attempts INTEGER NOT NULL DEFAULT 0,
    credit_note TEXT,
    placed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, source, external_order_id)
);
CREATE INDEX orders_by_customer ON orders (tenant, customer_id, id);
CREATE INDEX orders_credit_due ON orders (credit_check_due_at) WHERE credit_check_due_at IS NOT NULL;

CREATE TABLE order_lines (
    tenant TEXT NOT NULL,
    order_id UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    line_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    description TEXT NOT NULL,
    tax_code TEXT NOT NULL,
    quantity NUMERIC(20, 6) NOT NULL CHECK (quantity > 0),
    list_price NUMERIC(20, 6),
    unit_price NUMERIC(20, 6) NOT NULL,
    price_source TEXT NOT NULL,
    gross_amount NUMERIC(20, 6) NOT NULL,
    line_discount NUMERIC(20, 6) NOT NULL,
    order_discount_share NUMERIC(20, 6) NOT NULL,
    line_amount NUMERIC(20, 6) NOT NULL,
    derivation TEXT NOT NULL,
    shipped_quantity NUMERIC(20, 6) NOT NULL DEFAULT 0,
    shipped_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_id),
    CHECK (shipped_quantity >= 0 AND shipped_quantity <= quantity)
);

CREATE TABLE shipments (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    order_id UUID NOT NULL REFERENCES orders (id),
    external_shipment_id TEXT NOT NULL,
    lines JSONB NOT NULL,
    shipped_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (order_id, external_shipment_id)
);

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY orders_tenant_isolation ON orders
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY order_lines_tenant_isolation ON order_lines
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE shipments ENABLE ROW LEVEL SECURITY;
ALTER TABLE shipments FORCE ROW LEVEL SECURITY;
CREATE POLICY shipments_tenant_isolation ON shipments
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
