-- What billing knows before it invoices: the tenant's settings, its
-- projection of customers (with the billing profile it owns), of order
-- lines (for the discrepancy check), tax rules, FX rates and numbering.

CREATE TABLE tenant_settings (
    tenant TEXT PRIMARY KEY,
    functional_currency CHAR(3) NOT NULL DEFAULT 'EUR',
    seller_name TEXT NOT NULL DEFAULT '',
    seller_address JSONB NOT NULL DEFAULT '{}',
    seller_tax_id TEXT,
    payment_instructions JSONB NOT NULL DEFAULT '[]',
    fx_max_age_days INTEGER NOT NULL DEFAULT 7 CHECK (fx_max_age_days BETWEEN 0 AND 366),
    default_price_basis TEXT NOT NULL DEFAULT 'exclusive'
        CHECK (default_price_basis IN ('exclusive', 'inclusive')),
    version BIGINT NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Master data comes from `CustomerUpserted` (projected = true once seen);
-- the billing profile columns are billing's own and may be set first.
CREATE TABLE customers (
    tenant TEXT NOT NULL,
    id UUID PRIMARY KEY,
    projected BOOLEAN NOT NULL DEFAULT false,
    legal_name TEXT NOT NULL DEFAULT '',
    billing_address JSONB NOT NULL DEFAULT '{}',
    tax_region TEXT NOT NULL DEFAULT '',
    currency CHAR(3),
    payment_terms_code TEXT NOT NULL DEFAULT 'NET30',
    segment TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    master_version BIGINT NOT NULL DEFAULT 0,
    invoicing_frequency TEXT NOT NULL DEFAULT 'per_shipment'
        CHECK (invoicing_frequency IN ('per_shipment', 'daily', 'weekly', 'monthly')),
    delivery_channel TEXT NOT NULL DEFAULT 'none' CHECK (delivery_channel IN ('none', 'email', 'webhook')),
    delivery_email TEXT,
    delivery_webhook_url TEXT,
    tax_treatment TEXT NOT NULL DEFAULT 'standard'
        CHECK (tax_treatment IN ('standard', 'exempt', 'reverse_charge')),
    tax_exemption_reason TEXT,
    buyer_tax_id TEXT,
    price_basis TEXT CHECK (price_basis IN ('exclusive', 'inclusive')),
    profile_version BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customers_by_tenant ON customers (tenant, id);

-- The order as placed or last amended: what an invoice is compared with.
CREATE TABLE order_lines (
    tenant TEXT NOT NULL,
    order_id UUID NOT NULL,
    line_id TEXT NOT NULL,
    customer_id UUID NOT NULL,
    revision INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    external_order_id TEXT NOT NULL DEFAULT '',
    sku TEXT NOT NULL,
    description TEXT NOT NULL,
    quantity NUMERIC(20, 6) NOT NULL,
    unit_price NUMERIC(20, 6) NOT NULL,
    line_amount NUMERIC(20, 6) NOT NULL,
    currency CHAR(3) NOT NULL,
    tax_code TEXT NOT NULL,
    PRIMARY KEY (order_id, line_id)
);

CREATE TABLE tax_rules (
    tenant TEXT NOT NULL,
    region TEXT NOT NULL,
    tax_code TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE CHECK (valid_to IS NULL OR valid_to > valid_from),
    rate NUMERIC(9, 6) NOT NULL CHECK (rate >= 0 AND rate < 1),
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, region, tax_code, valid_from)
);

-- 1 from_currency = rate to_currency on rate_date.
CREATE TABLE fx_rates (
    tenant TEXT NOT NULL,
    from_currency CHAR(3) NOT NULL,
    to_currency CHAR(3) NOT NULL,
    rate_date DATE NOT NULL,
    rate NUMERIC(28, 10) NOT NULL CHECK (rate > 0),
    source TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, from_currency, to_currency, rate_date)
);

-- Gapless: the next number is taken inside the issuing transaction, so a
-- rolled-back issue gives its number back.
CREATE TABLE numbering_series (
    tenant TEXT NOT NULL,
    series TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_value BIGINT NOT NULL CHECK (last_value > 0),
    PRIMARY KEY (tenant, series, year)
);

ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON tenant_settings USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON customers USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON order_lines USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE tax_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tax_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON tax_rules USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE fx_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE fx_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON fx_rates USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
ALTER TABLE numbering_series ENABLE ROW LEVEL SECURITY;
ALTER TABLE numbering_series FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON numbering_series USING (otc_tenant_visible(tenant)) WITH CHECK (otc_tenant_visible(tenant));
