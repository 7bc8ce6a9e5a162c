-- Where a customer is: the tax region (worklist assignment by region) and
-- the billing address (dunning letters and customer statements), both from
-- `CustomerUpserted`.
ALTER TABLE customers
    ADD COLUMN tax_region TEXT NOT NULL DEFAULT '',
    ADD COLUMN billing_address JSONB;
