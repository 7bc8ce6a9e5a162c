//! The facts of a batch of new events, merged per row and written with one
//! statement per table. Rows of one key met twice in a batch are merged in
//! memory first (a statement may not touch a row twice), with the same rule
//! the upsert applies against the stored row: each column is filled by the
//! one kind of event that owns it, so the order events arrive in does not
//! matter. Rows are written in key order, so that two replicas folding
//! batches that share rows lock them in the same order (no deadlock).

// Nullable columns go to UNNEST as `&[Option<T>]`, which needs a cast.
#![allow(clippy::as_conversions)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::facts::{Fact, OrderStep};

type Key = (String, Uuid);

fn joined(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn earliest(slot: &mut Option<DateTime<Utc>>, value: DateTime<Utc>) {
    *slot = Some(slot.map_or(value, |current| current.min(value)));
}

fn latest(slot: &mut Option<DateTime<Utc>>, value: DateTime<Utc>) {
    *slot = Some(slot.map_or(value, |current| current.max(value)));
}

#[derive(Debug, Clone)]
struct CustomerRow {
    legal_name: String,
    segment: String,
    currency: Option<String>,
    tax_region: String,
    payment_terms_code: String,
    status: String,
    version: i64,
}

#[derive(Debug, Clone)]
struct DocumentRow {
    customer_id: Uuid,
    kind: &'static str,
    number: String,
    corrects_invoice_id: Option<Uuid>,
    currency: String,
    amount: Decimal,
    functional: Option<(Decimal, String)>,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    issued_at: DateTime<Utc>,
    payment_terms_code: String,
    order_ids: Vec<Uuid>,
}

#[derive(Debug, Clone)]
struct MovementRow {
    item_id: Uuid,
    customer_id: Uuid,
    source_id: Uuid,
    currency: String,
    amount: Decimal,
    occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
struct ReceiptRow {
    customer_id: Option<Uuid>,
    currency: Option<String>,
    amount: Option<Decimal>,
    channel: Option<String>,
    value_date: Option<NaiveDate>,
    received_at: Option<DateTime<Utc>>,
    reversed_amount: Option<Decimal>,
    reversed_at: Option<DateTime<Utc>>,
    reversal_reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct ApplicationRow {
    receipt_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    invoice_id: Option<Uuid>,
    currency: Option<String>,
    amount: Option<Decimal>,
    discount: Option<Decimal>,
    deduction: Option<Decimal>,
    automatic: Option<bool>,
    method: Option<String>,
    confidence: Option<Decimal>,
    applied_at: Option<DateTime<Utc>>,
    value_date: Option<NaiveDate>,
    unapplied_at: Option<DateTime<Utc>>,
    unapply_reason: Option<String>,
}

#[derive(Debug, Clone)]
struct RefundRow {
    receipt_id: Uuid,
    customer_id: Option<Uuid>,
    currency: String,
    amount: Decimal,
    reason: String,
    issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct DeductionRow {
    application_id: Option<Uuid>,
    receipt_id: Option<Uuid>,
    customer_id: Uuid,
    invoice_id: Option<Uuid>,
    currency: String,
    amount: Decimal,
    reason: String,
    taken_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
struct OrderRow {
    customer_id: Uuid,
    source: Option<String>,
    external_order_id: Option<String>,
    currency: Option<String>,
    total: Option<Decimal>,
    total_revision: Option<i32>,
    placed_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    held_at: Option<DateTime<Utc>>,
    released_at: Option<DateTime<Utc>>,
    first_shipped_at: Option<DateTime<Utc>>,
    last_shipped_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
struct DisputeRow {
    customer_id: Uuid,
    invoice_ids: Option<Vec<Uuid>>,
    reason_code: Option<String>,
    currency: Option<String>,
    amount: Option<Decimal>,
    source: Option<String>,
    owner: Option<String>,
    sla_due_date: Option<NaiveDate>,
    opened_at: Option<DateTime<Utc>>,
    resolution: Option<String>,
    resolved_amount: Option<Decimal>,
    resolved_by: Option<String>,
    resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
struct PromiseRow {
    customer_id: Uuid,
    invoice_ids: Option<Vec<Uuid>>,
    currency: Option<String>,
    amount: Option<Decimal>,
    promised_date: Option<NaiveDate>,
    recorded_at: Option<DateTime<Utc>>,
    outcome: Option<String>,
    paid: Option<Decimal>,
    outcome_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct NoticeRow {
    customer_id: Uuid,
    level: i32,
    channel: String,
    invoice_ids: Vec<Uuid>,
    currency: String,
    overdue_amount: Decimal,
    sent_at: DateTime<Utc>,
    as_of: NaiveDate,
}

#[derive(Debug, Clone, Default)]
struct CreditStatusRow {
    held_at: Option<DateTime<Utc>>,
    hold_reason: Option<String>,
    released_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct HeldInvoiceRow {
    customer_id: Uuid,
    total: Option<(Decimal, String)>,
    reasons: Vec<String>,
    held_at: DateTime<Utc>,
}

/// The rows a batch of new events writes, merged per key.
#[derive(Debug, Default)]
pub struct Rows {
    customers: BTreeMap<Key, CustomerRow>,
    documents: BTreeMap<Key, DocumentRow>,
    movements: BTreeMap<(String, String, &'static str), MovementRow>,
    receipts: BTreeMap<Key, ReceiptRow>,
    applications: BTreeMap<Key, ApplicationRow>,
    refunds: BTreeMap<Key, RefundRow>,
    deductions: BTreeMap<Key, DeductionRow>,
    orders: BTreeMap<Key, OrderRow>,
    disputes: BTreeMap<Key, DisputeRow>,
    promises: BTreeMap<Key, PromiseRow>,
    notices: BTreeMap<Key, NoticeRow>,
    credit_status: BTreeMap<Key, CreditStatusRow>,
    held_invoices: BTreeMap<Key, HeldInvoiceRow>,
    /// Customers (and, with the nil id, tenants) whose snapshots change.
    marks: BTreeSet<Key>,
}

impl Rows {
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    pub fn marks(&self) -> &BTreeSet<Key> {
        &self.marks
    }

    /// Adds one fact of a new event of `tenant`.
    pub fn add(&mut self, tenant: &str, fact: &Fact) {
        let key = |id: Uuid| (tenant.to_owned(), id);
        if let Some(customer) = fact.customer() {
            self.marks.insert(key(customer));
        }
        self.marks.insert(key(Uuid::nil()));
        match fact {
            Fact::Customer {
                customer_id,
                legal_name,
                segment,
                currency,
                tax_region,
                payment_terms_code,
                status,
                version,
            } => {
                let row = CustomerRow {
                    legal_name: legal_name.clone(),
                    segment: segment.clone(),
                    currency: currency.clone(),
                    tax_region: tax_region.clone(),
                    payment_terms_code: payment_terms_code.clone(),
                    status: status.clone(),
                    version: *version,
                };
                let slot = self
                    .customers
                    .entry(key(*customer_id))
                    .or_insert_with(|| row.clone());
                if row.version > slot.version {
                    *slot = row;
                }
            }
            Fact::Document {
                document_id,
                customer_id,
                kind,
                number,
                corrects_invoice_id,
                currency,
                amount,
                functional,
                issue_date,
                due_date,
                issued_at,
                payment_terms_code,
                order_ids,
                ..
            } => {
                self.documents
                    .entry(key(*document_id))
                    .or_insert_with(|| DocumentRow {
                        customer_id: *customer_id,
                        kind,
                        number: number.clone(),
                        corrects_invoice_id: *corrects_invoice_id,
                        currency: currency.clone(),
                        amount: *amount,
                        functional: functional.clone(),
                        issue_date: *issue_date,
                        due_date: *due_date,
                        issued_at: *issued_at,
                        payment_terms_code: payment_terms_code.clone(),
                        order_ids: order_ids.clone(),
                    });
            }
            Fact::CreditNote { .. } => {}
            Fact::Movement {
                event_id,
                kind,
                item_id,
                customer_id,
                source_id,
                currency,
                amount,
                occurred_at,
            } => {
                self.movements
                    .entry((tenant.to_owned(), event_id.clone(), kind.as_str()))
                    .or_insert_with(|| MovementRow {
                        item_id: *item_id,
                        customer_id: *customer_id,
                        source_id: *source_id,
                        currency: currency.clone(),
                        amount: *amount,
                        occurred_at: *occurred_at,
                    });
            }
            Fact::InvoiceHeld {
                invoice_id,
                customer_id,
                total,
                reasons,
                held_at,
            } => {
                self.held_invoices
                    .entry(key(*invoice_id))
                    .or_insert_with(|| HeldInvoiceRow {
                        customer_id: *customer_id,
                        total: total.clone(),
                        reasons: reasons.clone(),
                        held_at: *held_at,
                    });
            }
            Fact::Receipt {
                receipt_id,
                customer_id,
                currency,
                amount,
                channel,
                value_date,
                received_at,
            } => {
                let row = self.receipts.entry(key(*receipt_id)).or_default();
                fill(&mut row.customer_id, *customer_id);
                fill(&mut row.currency, Some(currency.clone()));
                fill(&mut row.amount, Some(*amount));
                fill(&mut row.channel, Some(channel.clone()));
                fill(&mut row.value_date, Some(*value_date));
                fill(&mut row.received_at, Some(*received_at));
            }
            Fact::Reversal {
                receipt_id,
                customer_id,
                currency,
                amount,
                reason,
                reversed_at,
            } => {
                let row = self.receipts.entry(key(*receipt_id)).or_default();
                fill(&mut row.customer_id, *customer_id);
                fill(&mut row.currency, Some(currency.clone()));
                fill(&mut row.reversed_amount, Some(*amount));
                fill(&mut row.reversed_at, Some(*reversed_at));
                fill(&mut row.reversal_reason, Some(reason.clone()));
            }
            Fact::Application {
                application_id,
                receipt_id,
                customer_id,
                invoice_id,
                currency,
                amount,
                discount,
                deduction,
                automatic,
                method,
                confidence,
                applied_at,
                value_date,
            } => {
                let row = self.applications.entry(key(*application_id)).or_default();
                fill(&mut row.receipt_id, Some(*receipt_id));
                fill(&mut row.customer_id, Some(*customer_id));
                fill(&mut row.invoice_id, Some(*invoice_id));
                fill(&mut row.currency, Some(currency.clone()));
                fill(&mut row.amount, Some(*amount));
                fill(&mut row.discount, Some(*discount));
                fill(&mut row.deduction, Some(*deduction));
                fill(&mut row.automatic, Some(*automatic));
                fill(&mut row.method, Some(method.clone()));
                fill(&mut row.confidence, *confidence);
                fill(&mut row.applied_at, Some(*applied_at));
                fill(&mut row.value_date, Some(*value_date));
            }
            Fact::Unapplication {
                application_id,
                receipt_id,
                customer_id,
                invoice_id,
                currency,
                reason,
                unapplied_at,
                ..
            } => {
                let row = self.applications.entry(key(*application_id)).or_default();
                fill(&mut row.receipt_id, Some(*receipt_id));
                fill(&mut row.customer_id, Some(*customer_id));
                fill(&mut row.invoice_id, Some(*invoice_id));
                fill(&mut row.currency, Some(currency.clone()));
                fill(&mut row.unapplied_at, Some(*unapplied_at));
                fill(&mut row.unapply_reason, Some(reason.clone()));
            }
            Fact::Refund {
                refund_id,
                receipt_id,
                customer_id,
                currency,
                amount,
                reason,
                issued_at,
            } => {
                self.refunds
                    .entry(key(*refund_id))
                    .or_insert_with(|| RefundRow {
                        receipt_id: *receipt_id,
                        customer_id: *customer_id,
                        currency: currency.clone(),
                        amount: *amount,
                        reason: reason.clone(),
                        issued_at: *issued_at,
                    });
            }
            Fact::Deduction {
                deduction_id,
                application_id,
                receipt_id,
                customer_id,
                invoice_id,
                currency,
                amount,
                reason,
                taken_at,
            } => {
                self.deductions
                    .entry(key(*deduction_id))
                    .or_insert_with(|| DeductionRow {
                        application_id: *application_id,
                        receipt_id: *receipt_id,
                        customer_id: *customer_id,
                        invoice_id: *invoice_id,
                        currency: currency.clone(),
                        amount: *amount,
                        reason: reason.clone(),
                        taken_at: *taken_at,
                    });
            }
            Fact::OrderPlaced {
                order_id,
                customer_id,
                source,
                external_order_id,
                currency,
                total,
                placed_at,
            } => {
                let row = self.order(tenant, *order_id, *customer_id);
                fill(&mut row.source, Some(source.clone()));
                fill(&mut row.external_order_id, Some(external_order_id.clone()));
                fill(&mut row.placed_at, Some(*placed_at));
                if row.total_revision.is_none_or(|revision| revision < 0) {
                    row.total_revision = Some(0);
                    row.total = Some(*total);
                    row.currency = Some(currency.clone());
                }
            }
            Fact::OrderAmended {
                order_id,
                customer_id,
                revision,
                currency,
                total,
            } => {
                let row = self.order(tenant, *order_id, *customer_id);
                if row.total_revision.is_none_or(|current| current < *revision) {
                    row.total_revision = Some(*revision);
                    row.total = Some(*total);
                    row.currency = Some(currency.clone());
                }
            }
            Fact::OrderStep {
                order_id,
                customer_id,
                step,
                at,
            } => {
                let row = self.order(tenant, *order_id, *customer_id);
                match step {
                    OrderStep::Approved => earliest(&mut row.approved_at, *at),
                    OrderStep::Held => earliest(&mut row.held_at, *at),
                    OrderStep::Released => earliest(&mut row.released_at, *at),
                    OrderStep::Shipped => {
                        earliest(&mut row.first_shipped_at, *at);
                        latest(&mut row.last_shipped_at, *at);
                    }
                    OrderStep::Cancelled => earliest(&mut row.cancelled_at, *at),
                    OrderStep::Closed => earliest(&mut row.closed_at, *at),
                }
            }
            Fact::CreditHeld {
                customer_id,
                reason,
                held_at,
            } => {
                let row = self.credit_status.entry(key(*customer_id)).or_default();
                if row.held_at.is_none_or(|current| current < *held_at) {
                    row.held_at = Some(*held_at);
                    row.hold_reason = Some(reason.clone());
                }
            }
            Fact::CreditReleased {
                customer_id,
                released_at,
            } => {
                let row = self.credit_status.entry(key(*customer_id)).or_default();
                latest(&mut row.released_at, *released_at);
            }
            Fact::DunningNotice {
                notice_id,
                customer_id,
                level,
                channel,
                invoice_ids,
                currency,
                overdue_amount,
                sent_at,
                as_of,
            } => {
                self.notices
                    .entry(key(*notice_id))
                    .or_insert_with(|| NoticeRow {
                        customer_id: *customer_id,
                        level: *level,
                        channel: channel.clone(),
                        invoice_ids: invoice_ids.clone(),
                        currency: currency.clone(),
                        overdue_amount: *overdue_amount,
                        sent_at: *sent_at,
                        as_of: *as_of,
                    });
            }
            Fact::DisputeOpened {
                dispute_id,
                customer_id,
                invoice_ids,
                reason_code,
                currency,
                amount,
                source,
                owner,
                sla_due_date,
                opened_at,
            } => {
                let row = self.dispute(tenant, *dispute_id, *customer_id);
                fill(&mut row.invoice_ids, Some(invoice_ids.clone()));
                fill(&mut row.reason_code, Some(reason_code.clone()));
                fill(&mut row.currency, Some(currency.clone()));
                fill(&mut row.amount, Some(*amount));
                fill(&mut row.source, Some(source.clone()));
                fill(&mut row.owner, Some(owner.clone()));
                fill(&mut row.sla_due_date, *sla_due_date);
                fill(&mut row.opened_at, Some(*opened_at));
            }
            Fact::DisputeResolved {
                dispute_id,
                customer_id,
                resolution,
                amount,
                resolved_by,
                resolved_at,
            } => {
                let row = self.dispute(tenant, *dispute_id, *customer_id);
                fill(&mut row.resolution, Some(resolution.clone()));
                fill(
                    &mut row.resolved_amount,
                    amount.as_ref().map(|(value, _)| *value),
                );
                fill(&mut row.resolved_by, Some(resolved_by.clone()));
                fill(&mut row.resolved_at, Some(*resolved_at));
            }
            Fact::PromiseRecorded {
                promise_id,
                customer_id,
                invoice_ids,
                currency,
                amount,
                promised_date,
                recorded_at,
            } => {
                let row = self.promise(tenant, *promise_id, *customer_id);
                fill(&mut row.invoice_ids, Some(invoice_ids.clone()));
                fill(&mut row.currency, Some(currency.clone()));
                fill(&mut row.amount, Some(*amount));
                fill(&mut row.promised_date, Some(*promised_date));
                fill(&mut row.recorded_at, Some(*recorded_at));
            }
            Fact::PromiseOutcome {
                promise_id,
                customer_id,
                kept,
                paid,
                at,
            } => {
                let row = self.promise(tenant, *promise_id, *customer_id);
                fill(
                    &mut row.outcome,
                    Some(if *kept { "kept" } else { "broken" }.to_owned()),
                );
                fill(&mut row.paid, Some(*paid));
                fill(&mut row.outcome_at, Some(*at));
            }
        }
    }

    fn order(&mut self, tenant: &str, order_id: Uuid, customer_id: Uuid) -> &mut OrderRow {
        self.orders
            .entry((tenant.to_owned(), order_id))
            .or_insert_with(|| OrderRow {
                customer_id,
                ..OrderRow::default()
            })
    }

    fn dispute(&mut self, tenant: &str, dispute_id: Uuid, customer_id: Uuid) -> &mut DisputeRow {
        self.disputes
            .entry((tenant.to_owned(), dispute_id))
            .or_insert_with(|| DisputeRow {
                customer_id,
                ..DisputeRow::default()
            })
    }

    fn promise(&mut self, tenant: &str, promise_id: Uuid, customer_id: Uuid) -> &mut PromiseRow {
        self.promises
            .entry((tenant.to_owned(), promise_id))
            .or_insert_with(|| PromiseRow {
                customer_id,
                ..PromiseRow::default()
            })
    }

    /// Writes every row (one statement per table that has some) and the
    /// snapshot marks, in the caller's transaction.
    pub async fn write(&self, tx: &mut Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
        self.write_customers(tx).await?;
        self.write_documents(tx).await?;
        self.write_movements(tx).await?;
        self.write_receipts(tx).await?;
        self.write_applications(tx).await?;
        self.write_refunds(tx).await?;
        self.write_deductions(tx).await?;
        self.write_orders(tx).await?;
        self.write_disputes(tx).await?;
        self.write_promises(tx).await?;
        self.write_notices(tx).await?;
        self.write_credit_status(tx).await?;
        self.write_held_invoices(tx).await?;
        self.write_marks(tx).await?;
        Ok(())
    }

    async fn write_customers(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.customers.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut names = Vec::new();
        let mut segments = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut regions = Vec::new();
        let mut terms = Vec::new();
        let mut statuses = Vec::new();
        let mut versions = Vec::new();
        for ((tenant, id), row) in &self.customers {
            tenants.push(tenant.clone());
            ids.push(*id);
            names.push(row.legal_name.clone());
            segments.push(row.segment.clone());
            currencies.push(row.currency.clone());
            regions.push(row.tax_region.clone());
            terms.push(row.payment_terms_code.clone());
            statuses.push(row.status.clone());
            versions.push(row.version);
        }
        sqlx::query!(
            r#"INSERT INTO customers (tenant, customer_id, legal_name, segment, currency, tax_region,
                                      payment_terms_code, status, master_version)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                                    $6::text[], $7::text[], $8::text[], $9::int8[])
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   legal_name = EXCLUDED.legal_name, segment = EXCLUDED.segment,
                   currency = EXCLUDED.currency, tax_region = EXCLUDED.tax_region,
                   payment_terms_code = EXCLUDED.payment_terms_code, status = EXCLUDED.status,
                   master_version = EXCLUDED.master_version
               WHERE customers.master_version < EXCLUDED.master_version"#,
            &tenants,
            &ids,
            &names,
            &segments,
            &currencies as &[Option<String>],
            &regions,
            &terms,
            &statuses,
            &versions,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_documents(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.documents.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers = Vec::new();
        let mut kinds = Vec::new();
        let mut numbers = Vec::new();
        let mut corrects: Vec<Option<Uuid>> = Vec::new();
        let mut currencies = Vec::new();
        let mut amounts = Vec::new();
        let mut functional_currencies: Vec<Option<String>> = Vec::new();
        let mut functional_amounts: Vec<Option<Decimal>> = Vec::new();
        let mut issue_dates = Vec::new();
        let mut due_dates = Vec::new();
        let mut issued_ats = Vec::new();
        let mut terms = Vec::new();
        let mut orders = Vec::new();
        for ((tenant, id), row) in &self.documents {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            kinds.push(row.kind.to_owned());
            numbers.push(row.number.clone());
            corrects.push(row.corrects_invoice_id);
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            functional_currencies.push(row.functional.as_ref().map(|(_, code)| code.clone()));
            functional_amounts.push(row.functional.as_ref().map(|(value, _)| *value));
            issue_dates.push(row.issue_date);
            due_dates.push(row.due_date);
            issued_ats.push(row.issued_at);
            terms.push(row.payment_terms_code.clone());
            orders.push(joined(&row.order_ids));
        }
        sqlx::query!(
            r#"INSERT INTO documents (tenant, document_id, customer_id, kind, number, corrects_invoice_id,
                                      currency, amount, functional_currency, functional_amount,
                                      issue_date, due_date, issued_at, payment_terms_code, order_ids)
               SELECT tenant, id, customer, kind, number, corrects, currency, amount, fcur, famount,
                      issue_date, due_date, issued_at, terms,
                      COALESCE(string_to_array(NULLIF(orders, ''), ',')::uuid[], '{}')
               FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[],
                           $7::text[], $8::numeric[], $9::text[], $10::numeric[], $11::date[],
                           $12::date[], $13::timestamptz[], $14::text[], $15::text[])
                    AS t(tenant, id, customer, kind, number, corrects, currency, amount, fcur, famount,
                         issue_date, due_date, issued_at, terms, orders)
               ON CONFLICT (tenant, document_id) DO NOTHING"#,
            &tenants,
            &ids,
            &customers,
            &kinds,
            &numbers,
            &corrects as &[Option<Uuid>],
            &currencies,
            &amounts,
            &functional_currencies as &[Option<String>],
            &functional_amounts as &[Option<Decimal>],
            &issue_dates,
            &due_dates,
            &issued_ats,
            &terms,
            &orders,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_movements(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.movements.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut events = Vec::new();
        let mut kinds = Vec::new();
        let mut items = Vec::new();
        let mut customers = Vec::new();
        let mut sources = Vec::new();
        let mut currencies = Vec::new();
        let mut amounts = Vec::new();
        let mut occurred = Vec::new();
        for ((tenant, event_id, kind), row) in &self.movements {
            tenants.push(tenant.clone());
            events.push(event_id.clone());
            kinds.push((*kind).to_owned());
            items.push(row.item_id);
            customers.push(row.customer_id);
            sources.push(row.source_id);
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            occurred.push(row.occurred_at);
        }
        sqlx::query!(
            r#"INSERT INTO movements (tenant, event_id, kind, item_id, customer_id, source_id, currency,
                                      amount, occurred_at, occurred_on)
               SELECT tenant, event_id, kind, item, customer, source, currency, amount, occurred,
                      (occurred AT TIME ZONE 'UTC')::date
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[],
                           $7::text[], $8::numeric[], $9::timestamptz[])
                    AS t(tenant, event_id, kind, item, customer, source, currency, amount, occurred)
               ON CONFLICT (tenant, event_id, kind) DO NOTHING"#,
            &tenants,
            &events,
            &kinds,
            &items,
            &customers,
            &sources,
            &currencies,
            &amounts,
            &occurred,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_receipts(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.receipts.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers: Vec<Option<Uuid>> = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut amounts: Vec<Option<Decimal>> = Vec::new();
        let mut channels: Vec<Option<String>> = Vec::new();
        let mut value_dates: Vec<Option<NaiveDate>> = Vec::new();
        let mut received: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut reversed_amounts: Vec<Option<Decimal>> = Vec::new();
        let mut reversed: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut reasons: Vec<Option<String>> = Vec::new();
        for ((tenant, id), row) in &self.receipts {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            channels.push(row.channel.clone());
            value_dates.push(row.value_date);
            received.push(row.received_at);
            reversed_amounts.push(row.reversed_amount);
            reversed.push(row.reversed_at);
            reasons.push(row.reversal_reason.clone());
        }
        sqlx::query!(
            r#"INSERT INTO receipts AS r (tenant, receipt_id, customer_id, currency, amount, channel,
                                          value_date, received_at, reversed_amount, reversed_at,
                                          reversal_reason)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[],
                                    $6::text[], $7::date[], $8::timestamptz[], $9::numeric[],
                                    $10::timestamptz[], $11::text[])
               ON CONFLICT (tenant, receipt_id) DO UPDATE SET
                   customer_id = COALESCE(r.customer_id, EXCLUDED.customer_id),
                   currency = COALESCE(r.currency, EXCLUDED.currency),
                   amount = COALESCE(r.amount, EXCLUDED.amount),
                   channel = COALESCE(r.channel, EXCLUDED.channel),
                   value_date = COALESCE(r.value_date, EXCLUDED.value_date),
                   received_at = COALESCE(r.received_at, EXCLUDED.received_at),
                   reversed_amount = COALESCE(r.reversed_amount, EXCLUDED.reversed_amount),
                   reversed_at = COALESCE(r.reversed_at, EXCLUDED.reversed_at),
                   reversal_reason = COALESCE(r.reversal_reason, EXCLUDED.reversal_reason)"#,
            &tenants,
            &ids,
            &customers as &[Option<Uuid>],
            &currencies as &[Option<String>],
            &amounts as &[Option<Decimal>],
            &channels as &[Option<String>],
            &value_dates as &[Option<NaiveDate>],
            &received as &[Option<DateTime<Utc>>],
            &reversed_amounts as &[Option<Decimal>],
            &reversed as &[Option<DateTime<Utc>>],
            &reasons as &[Option<String>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_applications(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.applications.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut receipts: Vec<Option<Uuid>> = Vec::new();
        let mut customers: Vec<Option<Uuid>> = Vec::new();
        let mut invoices: Vec<Option<Uuid>> = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut amounts: Vec<Option<Decimal>> = Vec::new();
        let mut discounts: Vec<Option<Decimal>> = Vec::new();
        let mut deductions: Vec<Option<Decimal>> = Vec::new();
        let mut automatic: Vec<Option<bool>> = Vec::new();
        let mut methods: Vec<Option<String>> = Vec::new();
        let mut confidences: Vec<Option<Decimal>> = Vec::new();
        let mut applied: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut value_dates: Vec<Option<NaiveDate>> = Vec::new();
        let mut unapplied: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut reasons: Vec<Option<String>> = Vec::new();
        for ((tenant, id), row) in &self.applications {
            tenants.push(tenant.clone());
            ids.push(*id);
            receipts.push(row.receipt_id);
            customers.push(row.customer_id);
            invoices.push(row.invoice_id);
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            discounts.push(row.discount);
            deductions.push(row.deduction);
            automatic.push(row.automatic);
            methods.push(row.method.clone());
            confidences.push(row.confidence);
            applied.push(row.applied_at);
            value_dates.push(row.value_date);
            unapplied.push(row.unapplied_at);
            reasons.push(row.unapply_reason.clone());
        }
        sqlx::query!(
            r#"INSERT INTO applications AS a (tenant, application_id, receipt_id, customer_id, invoice_id,
                                              currency, amount, discount, deduction, automatic, method,
                                              confidence, applied_at, value_date, unapplied_at,
                                              unapply_reason)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                                    $6::text[], $7::numeric[], $8::numeric[], $9::numeric[],
                                    $10::bool[], $11::text[], $12::numeric[], $13::timestamptz[],
                                    $14::date[], $15::timestamptz[], $16::text[])
               ON CONFLICT (tenant, application_id) DO UPDATE SET
                   receipt_id = COALESCE(a.receipt_id, EXCLUDED.receipt_id),
                   customer_id = COALESCE(a.customer_id, EXCLUDED.customer_id),
                   invoice_id = COALESCE(a.invoice_id, EXCLUDED.invoice_id),
                   currency = COALESCE(a.currency, EXCLUDED.currency),
                   amount = COALESCE(a.amount, EXCLUDED.amount),
                   discount = COALESCE(a.discount, EXCLUDED.discount),
                   deduction = COALESCE(a.deduction, EXCLUDED.deduction),
                   automatic = COALESCE(a.automatic, EXCLUDED.automatic),
                   method = COALESCE(a.method, EXCLUDED.method),
                   confidence = COALESCE(a.confidence, EXCLUDED.confidence),
                   applied_at = COALESCE(a.applied_at, EXCLUDED.applied_at),
                   value_date = COALESCE(a.value_date, EXCLUDED.value_date),
                   unapplied_at = COALESCE(a.unapplied_at, EXCLUDED.unapplied_at),
                   unapply_reason = COALESCE(a.unapply_reason, EXCLUDED.unapply_reason)"#,
            &tenants,
            &ids,
            &receipts as &[Option<Uuid>],
            &customers as &[Option<Uuid>],
            &invoices as &[Option<Uuid>],
            &currencies as &[Option<String>],
            &amounts as &[Option<Decimal>],
            &discounts as &[Option<Decimal>],
            &deductions as &[Option<Decimal>],
            &automatic as &[Option<bool>],
            &methods as &[Option<String>],
            &confidences as &[Option<Decimal>],
            &applied as &[Option<DateTime<Utc>>],
            &value_dates as &[Option<NaiveDate>],
            &unapplied as &[Option<DateTime<Utc>>],
            &reasons as &[Option<String>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_refunds(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.refunds.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut receipts = Vec::new();
        let mut customers: Vec<Option<Uuid>> = Vec::new();
        let mut currencies = Vec::new();
        let mut amounts = Vec::new();
        let mut reasons = Vec::new();
        let mut issued = Vec::new();
        for ((tenant, id), row) in &self.refunds {
            tenants.push(tenant.clone());
            ids.push(*id);
            receipts.push(row.receipt_id);
            customers.push(row.customer_id);
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            reasons.push(row.reason.clone());
            issued.push(row.issued_at);
        }
        sqlx::query!(
            r#"INSERT INTO refunds (tenant, refund_id, receipt_id, customer_id, currency, amount, reason,
                                    issued_at)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                                    $6::numeric[], $7::text[], $8::timestamptz[])
               ON CONFLICT (tenant, refund_id) DO NOTHING"#,
            &tenants,
            &ids,
            &receipts,
            &customers as &[Option<Uuid>],
            &currencies,
            &amounts,
            &reasons,
            &issued,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_deductions(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.deductions.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut applications: Vec<Option<Uuid>> = Vec::new();
        let mut receipts: Vec<Option<Uuid>> = Vec::new();
        let mut customers = Vec::new();
        let mut invoices: Vec<Option<Uuid>> = Vec::new();
        let mut currencies = Vec::new();
        let mut amounts = Vec::new();
        let mut reasons = Vec::new();
        let mut taken = Vec::new();
        for ((tenant, id), row) in &self.deductions {
            tenants.push(tenant.clone());
            ids.push(*id);
            applications.push(row.application_id);
            receipts.push(row.receipt_id);
            customers.push(row.customer_id);
            invoices.push(row.invoice_id);
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            reasons.push(row.reason.clone());
            taken.push(row.taken_at);
        }
        sqlx::query!(
            r#"INSERT INTO deductions (tenant, deduction_id, application_id, receipt_id, customer_id,
                                       invoice_id, currency, amount, reason, taken_at)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                                    $6::uuid[], $7::text[], $8::numeric[], $9::text[],
                                    $10::timestamptz[])
               ON CONFLICT (tenant, deduction_id) DO NOTHING"#,
            &tenants,
            &ids,
            &applications as &[Option<Uuid>],
            &receipts as &[Option<Uuid>],
            &customers,
            &invoices as &[Option<Uuid>],
            &currencies,
            &amounts,
            &reasons,
            &taken,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_orders(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.orders.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers = Vec::new();
        let mut sources: Vec<Option<String>> = Vec::new();
        let mut externals: Vec<Option<String>> = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut totals: Vec<Option<Decimal>> = Vec::new();
        let mut revisions: Vec<Option<i32>> = Vec::new();
        let mut times: [Vec<Option<DateTime<Utc>>>; 8] = Default::default();
        for ((tenant, id), row) in &self.orders {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            sources.push(row.source.clone());
            externals.push(row.external_order_id.clone());
            currencies.push(row.currency.clone());
            totals.push(row.total);
            revisions.push(row.total_revision);
            let [
                placed,
                approved,
                held,
                released,
                first,
                last,
                cancelled,
                closed,
            ] = &mut times;
            placed.push(row.placed_at);
            approved.push(row.approved_at);
            held.push(row.held_at);
            released.push(row.released_at);
            first.push(row.first_shipped_at);
            last.push(row.last_shipped_at);
            cancelled.push(row.cancelled_at);
            closed.push(row.closed_at);
        }
        let [
            placed,
            approved,
            held,
            released,
            first,
            last,
            cancelled,
            closed,
        ] = &times;
        sqlx::query!(
            r#"INSERT INTO orders AS o (tenant, order_id, customer_id, source, external_order_id, currency,
                                        total, total_revision, placed_at, approved_at, held_at,
                                        released_at, first_shipped_at, last_shipped_at, cancelled_at,
                                        closed_at)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                                    $6::text[], $7::numeric[], $8::int4[], $9::timestamptz[],
                                    $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
                                    $13::timestamptz[], $14::timestamptz[], $15::timestamptz[],
                                    $16::timestamptz[])
               ON CONFLICT (tenant, order_id) DO UPDATE SET
                   source = COALESCE(o.source, EXCLUDED.source),
                   external_order_id = COALESCE(o.external_order_id, EXCLUDED.external_order_id),
                   currency = CASE WHEN o.total_revision IS NULL
                                     OR EXCLUDED.total_revision > o.total_revision
                                   THEN EXCLUDED.currency ELSE o.currency END,
                   total = CASE WHEN o.total_revision IS NULL
                                  OR EXCLUDED.total_revision > o.total_revision
                                THEN EXCLUDED.total ELSE o.total END,
                   total_revision = GREATEST(o.total_revision, EXCLUDED.total_revision),
                   placed_at = COALESCE(o.placed_at, EXCLUDED.placed_at),
                   approved_at = LEAST(o.approved_at, EXCLUDED.approved_at),
                   held_at = LEAST(o.held_at, EXCLUDED.held_at),
                   released_at = LEAST(o.released_at, EXCLUDED.released_at),
                   first_shipped_at = LEAST(o.first_shipped_at, EXCLUDED.first_shipped_at),
                   last_shipped_at = GREATEST(o.last_shipped_at, EXCLUDED.last_shipped_at),
                   cancelled_at = LEAST(o.cancelled_at, EXCLUDED.cancelled_at),
                   closed_at = LEAST(o.closed_at, EXCLUDED.closed_at)"#,
            &tenants,
            &ids,
            &customers,
            &sources as &[Option<String>],
            &externals as &[Option<String>],
            &currencies as &[Option<String>],
            &totals as &[Option<Decimal>],
            &revisions as &[Option<i32>],
            placed as &[Option<DateTime<Utc>>],
            approved as &[Option<DateTime<Utc>>],
            held as &[Option<DateTime<Utc>>],
            released as &[Option<DateTime<Utc>>],
            first as &[Option<DateTime<Utc>>],
            last as &[Option<DateTime<Utc>>],
            cancelled as &[Option<DateTime<Utc>>],
            closed as &[Option<DateTime<Utc>>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_disputes(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.disputes.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers = Vec::new();
        let mut invoices: Vec<Option<String>> = Vec::new();
        let mut reasons: Vec<Option<String>> = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut amounts: Vec<Option<Decimal>> = Vec::new();
        let mut sources: Vec<Option<String>> = Vec::new();
        let mut owners: Vec<Option<String>> = Vec::new();
        let mut slas: Vec<Option<NaiveDate>> = Vec::new();
        let mut opened: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut resolutions: Vec<Option<String>> = Vec::new();
        let mut resolved_amounts: Vec<Option<Decimal>> = Vec::new();
        let mut resolvers: Vec<Option<String>> = Vec::new();
        let mut resolved: Vec<Option<DateTime<Utc>>> = Vec::new();
        for ((tenant, id), row) in &self.disputes {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            invoices.push(row.invoice_ids.as_deref().map(joined));
            reasons.push(row.reason_code.clone());
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            sources.push(row.source.clone());
            owners.push(row.owner.clone());
            slas.push(row.sla_due_date);
            opened.push(row.opened_at);
            resolutions.push(row.resolution.clone());
            resolved_amounts.push(row.resolved_amount);
            resolvers.push(row.resolved_by.clone());
            resolved.push(row.resolved_at);
        }
        sqlx::query!(
            r#"INSERT INTO disputes AS d (tenant, dispute_id, customer_id, invoice_ids, reason_code,
                                          currency, amount, source, owner, sla_due_date, opened_at,
                                          resolution, resolved_amount, resolved_by, resolved_at)
               SELECT tenant, id, customer,
                      CASE WHEN invoices IS NULL THEN NULL
                           ELSE COALESCE(string_to_array(NULLIF(invoices, ''), ',')::uuid[], '{}') END,
                      reason, currency, amount, source, owner, sla, opened, resolution,
                      resolved_amount, resolver, resolved
               FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                           $7::numeric[], $8::text[], $9::text[], $10::date[], $11::timestamptz[],
                           $12::text[], $13::numeric[], $14::text[], $15::timestamptz[])
                    AS t(tenant, id, customer, invoices, reason, currency, amount, source, owner,
                         sla, opened, resolution, resolved_amount, resolver, resolved)
               ON CONFLICT (tenant, dispute_id) DO UPDATE SET
                   invoice_ids = COALESCE(d.invoice_ids, EXCLUDED.invoice_ids),
                   reason_code = COALESCE(d.reason_code, EXCLUDED.reason_code),
                   currency = COALESCE(d.currency, EXCLUDED.currency),
                   amount = COALESCE(d.amount, EXCLUDED.amount),
                   source = COALESCE(d.source, EXCLUDED.source),
                   owner = COALESCE(d.owner, EXCLUDED.owner),
                   sla_due_date = COALESCE(d.sla_due_date, EXCLUDED.sla_due_date),
                   opened_at = COALESCE(d.opened_at, EXCLUDED.opened_at),
                   resolution = COALESCE(d.resolution, EXCLUDED.resolution),
                   resolved_amount = COALESCE(d.resolved_amount, EXCLUDED.resolved_amount),
                   resolved_by = COALESCE(d.resolved_by, EXCLUDED.resolved_by),
                   resolved_at = COALESCE(d.resolved_at, EXCLUDED.resolved_at)"#,
            &tenants,
            &ids,
            &customers,
            &invoices as &[Option<String>],
            &reasons as &[Option<String>],
            &currencies as &[Option<String>],
            &amounts as &[Option<Decimal>],
            &sources as &[Option<String>],
            &owners as &[Option<String>],
            &slas as &[Option<NaiveDate>],
            &opened as &[Option<DateTime<Utc>>],
            &resolutions as &[Option<String>],
            &resolved_amounts as &[Option<Decimal>],
            &resolvers as &[Option<String>],
            &resolved as &[Option<DateTime<Utc>>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_promises(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.promises.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers = Vec::new();
        let mut invoices: Vec<Option<String>> = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut amounts: Vec<Option<Decimal>> = Vec::new();
        let mut dates: Vec<Option<NaiveDate>> = Vec::new();
        let mut recorded: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut outcomes: Vec<Option<String>> = Vec::new();
        let mut paid: Vec<Option<Decimal>> = Vec::new();
        let mut outcome_at: Vec<Option<DateTime<Utc>>> = Vec::new();
        for ((tenant, id), row) in &self.promises {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            invoices.push(row.invoice_ids.as_deref().map(joined));
            currencies.push(row.currency.clone());
            amounts.push(row.amount);
            dates.push(row.promised_date);
            recorded.push(row.recorded_at);
            outcomes.push(row.outcome.clone());
            paid.push(row.paid);
            outcome_at.push(row.outcome_at);
        }
        sqlx::query!(
            r#"INSERT INTO promises AS p (tenant, promise_id, customer_id, invoice_ids, currency, amount,
                                          promised_date, recorded_at, outcome, paid, outcome_at)
               SELECT tenant, id, customer,
                      CASE WHEN invoices IS NULL THEN NULL
                           ELSE COALESCE(string_to_array(NULLIF(invoices, ''), ',')::uuid[], '{}') END,
                      currency, amount, promised, recorded, outcome, paid, outcome_at
               FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                           $6::numeric[], $7::date[], $8::timestamptz[], $9::text[],
                           $10::numeric[], $11::timestamptz[])
                    AS t(tenant, id, customer, invoices, currency, amount, promised, recorded,
                         outcome, paid, outcome_at)
               ON CONFLICT (tenant, promise_id) DO UPDATE SET
                   invoice_ids = COALESCE(p.invoice_ids, EXCLUDED.invoice_ids),
                   currency = COALESCE(p.currency, EXCLUDED.currency),
                   amount = COALESCE(p.amount, EXCLUDED.amount),
                   promised_date = COALESCE(p.promised_date, EXCLUDED.promised_date),
                   recorded_at = COALESCE(p.recorded_at, EXCLUDED.recorded_at),
                   outcome = COALESCE(p.outcome, EXCLUDED.outcome),
                   paid = COALESCE(p.paid, EXCLUDED.paid),
                   outcome_at = COALESCE(p.outcome_at, EXCLUDED.outcome_at)"#,
            &tenants,
            &ids,
            &customers,
            &invoices as &[Option<String>],
            &currencies as &[Option<String>],
            &amounts as &[Option<Decimal>],
            &dates as &[Option<NaiveDate>],
            &recorded as &[Option<DateTime<Utc>>],
            &outcomes as &[Option<String>],
            &paid as &[Option<Decimal>],
            &outcome_at as &[Option<DateTime<Utc>>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_notices(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.notices.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers = Vec::new();
        let mut levels = Vec::new();
        let mut channels = Vec::new();
        let mut invoices = Vec::new();
        let mut currencies = Vec::new();
        let mut amounts = Vec::new();
        let mut sent = Vec::new();
        let mut as_of = Vec::new();
        for ((tenant, id), row) in &self.notices {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            levels.push(row.level);
            channels.push(row.channel.clone());
            invoices.push(joined(&row.invoice_ids));
            currencies.push(row.currency.clone());
            amounts.push(row.overdue_amount);
            sent.push(row.sent_at);
            as_of.push(row.as_of);
        }
        sqlx::query!(
            r#"INSERT INTO dunning_notices (tenant, notice_id, customer_id, level, channel, invoice_ids,
                                            currency, overdue_amount, sent_at, as_of)
               SELECT tenant, id, customer, level, channel,
                      COALESCE(string_to_array(NULLIF(invoices, ''), ',')::uuid[], '{}'),
                      currency, amount, sent, as_of
               FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::int4[], $5::text[], $6::text[],
                           $7::text[], $8::numeric[], $9::timestamptz[], $10::date[])
                    AS t(tenant, id, customer, level, channel, invoices, currency, amount, sent, as_of)
               ON CONFLICT (tenant, notice_id) DO NOTHING"#,
            &tenants,
            &ids,
            &customers,
            &levels,
            &channels,
            &invoices,
            &currencies,
            &amounts,
            &sent,
            &as_of,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_credit_status(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.credit_status.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut held: Vec<Option<DateTime<Utc>>> = Vec::new();
        let mut reasons: Vec<Option<String>> = Vec::new();
        let mut released: Vec<Option<DateTime<Utc>>> = Vec::new();
        for ((tenant, id), row) in &self.credit_status {
            tenants.push(tenant.clone());
            ids.push(*id);
            held.push(row.held_at);
            reasons.push(row.hold_reason.clone());
            released.push(row.released_at);
        }
        sqlx::query!(
            r#"INSERT INTO credit_status AS c (tenant, customer_id, held_at, hold_reason, released_at)
               SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::timestamptz[], $4::text[],
                                    $5::timestamptz[])
               ON CONFLICT (tenant, customer_id) DO UPDATE SET
                   hold_reason = CASE WHEN c.held_at IS NULL OR EXCLUDED.held_at > c.held_at
                                      THEN EXCLUDED.hold_reason ELSE c.hold_reason END,
                   held_at = GREATEST(c.held_at, EXCLUDED.held_at),
                   released_at = GREATEST(c.released_at, EXCLUDED.released_at)"#,
            &tenants,
            &ids,
            &held as &[Option<DateTime<Utc>>],
            &reasons as &[Option<String>],
            &released as &[Option<DateTime<Utc>>],
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_held_invoices(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.held_invoices.is_empty() {
            return Ok(());
        }
        let mut tenants = Vec::new();
        let mut ids = Vec::new();
        let mut customers = Vec::new();
        let mut currencies: Vec<Option<String>> = Vec::new();
        let mut amounts: Vec<Option<Decimal>> = Vec::new();
        let mut reasons = Vec::new();
        let mut held = Vec::new();
        for ((tenant, id), row) in &self.held_invoices {
            tenants.push(tenant.clone());
            ids.push(*id);
            customers.push(row.customer_id);
            currencies.push(row.total.as_ref().map(|(_, code)| code.clone()));
            amounts.push(row.total.as_ref().map(|(value, _)| *value));
            reasons.push(row.reasons.join("\n"));
            held.push(row.held_at);
        }
        sqlx::query!(
            r#"INSERT INTO held_invoices (tenant, invoice_id, customer_id, currency, amount, reasons, held_at)
               SELECT tenant, id, customer, currency, amount,
                      COALESCE(string_to_array(NULLIF(reasons, ''), E'\n'), '{}'), held
               FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[], $6::text[],
                           $7::timestamptz[])
                    AS t(tenant, id, customer, currency, amount, reasons, held)
               ON CONFLICT (tenant, invoice_id) DO NOTHING"#,
            &tenants,
            &ids,
            &customers,
            &currencies as &[Option<String>],
            &amounts as &[Option<Decimal>],
            &reasons,
            &held,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn write_marks(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        if self.marks.is_empty() {
            return Ok(());
        }
        let (tenants, customers): (Vec<String>, Vec<Uuid>) = self.marks.iter().cloned().unzip();
        sqlx::query!(
            r#"INSERT INTO snapshot_marks (tenant, customer_id)
               SELECT * FROM UNNEST($1::text[], $2::uuid[])
               ON CONFLICT (tenant, customer_id) DO UPDATE
                   SET version = nextval('snapshot_mark_versions')"#,
            &tenants,
            &customers,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
