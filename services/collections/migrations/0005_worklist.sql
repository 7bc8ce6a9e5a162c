-- Collector worklist: who works which customer (assignment rules by segment
-- and/or region, and manual assignments that override them), what
-- collectors did (the contact log), and the indexes the ranked list is
-- aggregated with. The ranking itself is computed per request (see
-- `store::worklist`); nothing here caches a score, so nothing goes stale.

-- A customer matches a rule when every criterion the rule sets equals the
-- customer's (case-insensitively); among matching rules the lowest
-- `priority` wins, then the more specific (segment and region over one of
-- them), then the older rule.
CREATE TABLE worklist_assignment_rules (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    -- The collector's token subject.
    collector TEXT NOT NULL CHECK (collector <> ''),
    -- NULL: any segment / any region.
    segment TEXT CHECK (segment <> ''),
    region TEXT CHECK (region <> ''),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 1000000),
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    CHECK (segment IS NOT NULL OR region IS NOT NULL)
);
CREATE INDEX worklist_assignment_rules_in_order ON worklist_assignment_rules (tenant, priority, id);

-- A credit manager's choice for one customer; it overrides every rule.
CREATE TABLE worklist_assignments (
    tenant TEXT NOT NULL,
    customer_id UUID NOT NULL,
    collector TEXT NOT NULL CHECK (collector <> ''),
    reason TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    assigned_by TEXT NOT NULL,
    assigned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, customer_id)
);
CREATE INDEX worklist_assignments_by_collector ON worklist_assignments (tenant, collector);

-- What a collector did with a customer, and what they plan next.
CREATE TABLE collector_contacts (
    tenant TEXT NOT NULL,
    id UUID NOT NULL,
    request_key TEXT NOT NULL,
    customer_id UUID NOT NULL,
    collector TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'letter', 'visit', 'other')),
    outcome TEXT NOT NULL CHECK (outcome IN ('reached', 'no_answer', 'left_message',
        'promised_to_pay', 'disputed', 'refused', 'other')),
    note TEXT NOT NULL DEFAULT '',
    next_action TEXT CHECK (next_action <> ''),
    next_action_date DATE,
    contacted_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, request_key),
    CHECK (next_action_date IS NULL OR next_action IS NOT NULL)
);
CREATE INDEX collector_contacts_latest ON collector_contacts (tenant, customer_id, contacted_at DESC, id DESC);

-- Every way the customer was last reached, in one place: the worklist's
-- "last contact" reads only this view. A collector's contact, or a dunning
-- notice that reached its receiver (outcome `dunning_level_<n>`). Each
-- branch has an index on (tenant, customer_id, <time> DESC) so that the
-- newest row per customer is a merge of index scans.
CREATE VIEW customer_touches WITH (security_invoker = true) AS
    SELECT tenant, customer_id, contacted_at AS touched_at, channel, outcome,
           'collector_contact'::text AS kind
    FROM collector_contacts
    UNION ALL
    SELECT tenant, customer_id, sent_at AS touched_at, channel,
           'dunning_level_' || level AS outcome, 'dunning_notice'::text AS kind
    FROM dunning_notices
    WHERE status = 'sent';
CREATE INDEX dunning_notices_sent_by_customer ON dunning_notices (tenant, customer_id, sent_at DESC)
    WHERE status = 'sent';

-- The worklist aggregates receivable items by customer: overdue is
-- `due_date < today`, so a range on due_date leads, and the amounts are
-- included for an index-only scan.
CREATE INDEX open_items_receivable_by_due ON open_items (tenant, due_date)
    INCLUDE (customer_id, currency, open_amount, functional_open, functional_currency)
    WHERE open_amount > 0;
-- Open disputes and promises of the customers of one page.
CREATE INDEX disputes_open_by_customer ON disputes (tenant, customer_id)
    WHERE state IN ('open', 'under_review', 'resolution_pending');

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['worklist_assignment_rules', 'worklist_assignments',
        'collector_contacts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (otc_tenant_visible(tenant)) '
            'WITH CHECK (otc_tenant_visible(tenant))', name);
    END LOOP;
END
$$;
