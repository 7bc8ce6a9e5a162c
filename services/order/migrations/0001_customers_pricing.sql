-- Customer master and pricing. Every table is tenant-owned and isolated by
-- row-level security (see the shared `otc_tenant_visible`).
CREATE TABLE customers (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    legal_name TEXT NOT NULL,
    billing_address JSONB NOT NULL,
    tax_region TEXT NOT NULL,
    currency CHAR(3) NOT NULL,
    payment_terms_code TEXT NOT NULL,
    segment TEXT NOT NULL,
    mandate_reference TEXT,
    bank_accounts TEXT[] NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('active', 'blocked', 'inactive')),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customers_by_tenant ON customers (tenant, id);
CREATE INDEX customers_by_name ON customers (tenant, lower(legal_name));

-- The same customer as known by each source platform ("shopify:123").
CREATE TABLE customer_external_references (
    tenant TEXT NOT NULL,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant, platform, external_id)
);
CREATE INDEX customer_external_references_by_customer ON customer_external_references (customer_id);

CREATE TABLE products (
    tenant TEXT NOT NULL,
    sku TEXT NOT NULL,
    description TEXT NOT NULL,
    tax_code TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT true,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, sku)
);

-- Price list entries (customer_id NULL; one list per currency) and contract
-- prices (customer_id set), each valid over a date range.
CREATE TABLE prices (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    customer_id UUID REFERENCES customers (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    currency CHAR(3) NOT NULL,
    unit_price NUMERIC(20, 6) NOT NULL CHECK (unit_price >= 0),
    valid_from DATE NOT NULL,
    valid_to DATE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    FOREIGN KEY (tenant, sku) REFERENCES products (tenant, sku)
);
CREATE INDEX prices_lookup ON prices (tenant, sku, currency, customer_id, valid_from DESC);

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY customers_tenant_isolation ON customers
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE customer_external_references ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_external_references FORCE ROW LEVEL SECURITY;
CREATE POLICY customer_external_references_tenant_isolation ON customer_external_references
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY products_tenant_isolation ON products
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE prices FORCE ROW LEVEL SECURITY;
CREATE POLICY prices_tenant_isolation ON prices
    USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
