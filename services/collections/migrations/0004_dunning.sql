-- Dunning: strategies per customer segment (levels relative to the due
-- date, each with a channel, a template and an optional fee or interest),
-- where each customer's notices go, the daily (and on-demand) runs, and
-- every notice with its content, its items and its delivery status.

-- One strategy per segment; segment '' is the tenant's default for segments
-- without their own.
CREATE TABLE dunning_strategies (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    segment TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, segment)
);

-- Levels fire in order as an item ages: level n when the item is at least
-- `days_after_due` days past its due date (negative: a reminder before it).
CREATE TABLE dunning_levels (
    tenant TEXT NOT NULL,
    strategy_id UUID NOT NULL,
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 20),
    days_after_due INTEGER NOT NULL CHECK (days_after_due BETWEEN -365 AND 3650),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook', 'letter')),
    -- minijinja templates; empty: the built-in text for the level.
    subject_template TEXT NOT NULL DEFAULT '',
    body_template TEXT NOT NULL DEFAULT '',
    -- A flat fee stated on notices in its currency.
    fee_amount NUMERIC(20, 6) CHECK (fee_amount > 0),
    fee_currency CHAR(3),
    -- Simple interest on the overdue amounts, percent per year.
    interest_rate NUMERIC(9, 6) CHECK (interest_rate > 0),
    PRIMARY KEY (tenant, strategy_id, level),
    UNIQUE (tenant, strategy_id, days_after_due),
    FOREIGN KEY (tenant, strategy_id) REFERENCES dunning_strategies (tenant, id) ON DELETE CASCADE,
    CHECK ((fee_amount IS NULL) = (fee_currency IS NULL))
);

-- Where a customer's notices go (email and webhook channels; letters go to
-- the billing address from the customer master).
CREATE TABLE dunning_contacts (
    tenant TEXT NOT NULL,
    customer_id UUID NOT NULL,
    contact_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    webhook_url TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, customer_id)
);

-- A run walks the tenant's customers in id order, a batch per transaction;
-- `after_customer` is the last customer whose notices are committed, so a
-- run taken over after a crash (lease expired) carries on from there.
CREATE TABLE dunning_runs (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    as_of DATE NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'on_demand')),
    requested_by TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'completed')),
    after_customer UUID,
    items_considered BIGINT NOT NULL DEFAULT 0,
    items_skipped_disputed BIGINT NOT NULL DEFAULT 0,
    items_skipped_promised BIGINT NOT NULL DEFAULT 0,
    items_dunned BIGINT NOT NULL DEFAULT 0,
    notices_created BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, id)
);
-- The scheduler's run is once per tenant and day.
CREATE UNIQUE INDEX dunning_runs_daily ON dunning_runs (tenant, as_of) WHERE trigger = 'schedule';
CREATE INDEX dunning_runs_running ON dunning_runs (lease_until) WHERE state = 'running';

-- One notice per customer, currency and level in a run, with the content as
-- sent and its delivery: `pending` until the receiver took it (`sent`) or
-- it cannot be delivered (`failed`).
CREATE TABLE dunning_notices (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    run_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    strategy_id UUID NOT NULL,
    level INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook', 'letter')),
    as_of DATE NOT NULL,
    currency CHAR(3) NOT NULL,
    overdue_amount NUMERIC(20, 6) NOT NULL,
    fee_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    interest_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    total_due NUMERIC(20, 6) NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- Email address, webhook URL or the printed address lines.
    recipient TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    delivery_response TEXT NOT NULL DEFAULT '',
    -- The letter as printed (letter channel).
    letter_pdf BYTEA,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX dunning_notices_by_customer ON dunning_notices (tenant, customer_id, id);
CREATE INDEX dunning_notices_by_run ON dunning_notices (tenant, run_id, id);
CREATE INDEX dunning_notices_due ON dunning_notices (next_attempt_at) WHERE status = 'pending';

-- The items a notice dunned, as they stood. An item gets each level once.
-- Notices and their items are written together by a run's batch (with the
-- run's checkpoint), hundreds of thousands at a time: no foreign keys, whose
-- per-row checks would cost a quarter of a run.
CREATE TABLE dunning_notice_items (
    tenant TEXT NOT NULL,
    notice_id UUID NOT NULL,
    item_id UUID NOT NULL,
    level INTEGER NOT NULL,
    number TEXT NOT NULL,
    due_date DATE NOT NULL,
    days_overdue INTEGER NOT NULL,
    open_amount NUMERIC(20, 6) NOT NULL,
    interest_amount NUMERIC(20, 6) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, notice_id, item_id),
    UNIQUE (tenant, item_id, level)
);

-- Runs walk the customers with something owed, in id order.
CREATE INDEX open_items_receivable_by_customer ON open_items (tenant, customer_id)
    WHERE open_amount > 0;

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['dunning_strategies', 'dunning_levels', 'dunning_contacts',
        'dunning_runs', 'dunning_notices', 'dunning_notice_items']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (otc_tenant_visible(tenant)) '
            'WITH CHECK (otc_tenant_visible(tenant))', name);
    END LOOP;
END
$$;
