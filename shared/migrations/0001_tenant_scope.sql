-- Tenant isolation used by row-level security on every tenant-owned table.
-- A transaction sets `app.tenant` (shared::db::begin_for_tenant); system
-- tasks that work across tenants (the outbox relay) set it to '*'.
CREATE FUNCTION otc_tenant_visible(row_tenant TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT row_tenant = current_setting('app.tenant', true)
        OR current_setting('app.tenant', true) = '*'
$$;
