//! Billable lines, invoices and notes with their lines, and numbering.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

/// One shipped order line: billed exactly once, by the invoice that claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillableLine {
    pub id: Uuid,
    pub shipment_id: Uuid,
    pub order_id: Uuid,
    pub order_line_id: String,
    pub customer_id: Uuid,
    pub sku: String,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
    pub currency: String,
    pub tax_code: String,
    pub shipped_at: DateTime<Utc>,
}

/// Records shipped lines; a redelivered shipment adds nothing.
#[allow(clippy::as_conversions)]
pub async fn insert_billable_lines(
    tx: &mut Tx,
    tenant: &str,
    lines: &[BillableLine],
) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = lines.iter().map(|line| line.id).collect();
    let shipments: Vec<Uuid> = lines.iter().map(|line| line.shipment_id).collect();
    let orders: Vec<Uuid> = lines.iter().map(|line| line.order_id).collect();
    let order_lines: Vec<String> = lines
        .iter()
        .map(|line| line.order_line_id.clone())
        .collect();
    let customers: Vec<Uuid> = lines.iter().map(|line| line.customer_id).collect();
    let skus: Vec<String> = lines.iter().map(|line| line.sku.clone()).collect();
    let descriptions: Vec<String> = lines.iter().map(|line| line.description.clone()).collect();
    let quantities: Vec<Decimal> = lines.iter().map(|line| line.quantity).collect();
    let prices: Vec<Decimal> = lines.iter().map(|line| line.unit_price).collect();
    let amounts: Vec<Decimal> = lines.iter().map(|line| line.amount).collect();
    let currencies: Vec<String> = lines.iter().map(|line| line.currency.clone()).collect();
    let tax_codes: Vec<String> = lines.iter().map(|line| line.tax_code.clone()).collect();
    let shipped: Vec<DateTime<Utc>> = lines.iter().map(|line| line.shipped_at).collect();
    let result = sqlx::query!(
        r#"INSERT INTO billable_lines (tenant, id, shipment_id, order_id, order_line_id, customer_id,
                                       sku, description, quantity, unit_price, amount, currency,
                                       tax_code, shipped_at)
           SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::uuid[],
                  $7::text[], $8::text[], $9::numeric[], $10::numeric[], $11::numeric[],
                  $12::text[], $13::text[], $14::timestamptz[])
           ON CONFLICT (shipment_id, order_line_id) DO NOTHING"#,
        tenant,
        &ids,
        &shipments,
        &orders,
        &order_lines,
        &customers,
        &skus,
        &descriptions,
        &quantities,
        &prices,
        &amounts,
        &currencies,
        &tax_codes,
        &shipped
    )
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// Open lines the scheduler bills: those of customers invoiced per period
/// shipped before `shipped_before`, and (a safety net) those of customers
/// invoiced per shipment recorded before `recorded_before` that no invoice
/// claimed (e.g. the customer switched from a period to per shipment).
/// Each comes with its customer's frequency; lines another run holds are
/// skipped.
pub async fn open_lines_due(
    tx: &mut Tx,
    shipped_before: DateTime<Utc>,
    recorded_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(BillableLine, String)>, sqlx::Error> {
    let rows = sqlx::query_as!(
        TaggedLine,
        r#"SELECT c.invoicing_frequency AS tag, b.id, b.shipment_id, b.order_id, b.order_line_id,
                  b.customer_id, b.sku, b.description, b.quantity, b.unit_price, b.amount,
                  b.currency::text AS "currency!", b.tax_code, b.shipped_at
             FROM billable_lines b JOIN customers c ON c.id = b.customer_id
            WHERE b.invoice_id IS NULL
              AND ((c.invoicing_frequency <> 'per_shipment' AND b.shipped_at < $1)
                OR (c.invoicing_frequency = 'per_shipment' AND b.recorded_at < $2))
            ORDER BY b.customer_id, b.shipped_at, b.id
            LIMIT $3
            FOR UPDATE OF b SKIP LOCKED"#,
        shipped_before,
        recorded_before,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (tag, line) = row.split();
            (line, tag)
        })
        .collect())
}

/// A billable line with one more column (its tenant, or its customer's
/// invoicing frequency), as the scheduler's and consumer's queries read it.
struct TaggedLine {
    tag: String,
    id: Uuid,
    shipment_id: Uuid,
    order_id: Uuid,
    order_line_id: String,
    customer_id: Uuid,
    sku: String,
    description: String,
    quantity: Decimal,
    unit_price: Decimal,
    amount: Decimal,
    currency: String,
    tax_code: String,
    shipped_at: DateTime<Utc>,
}

impl TaggedLine {
    fn split(self) -> (String, BillableLine) {
        (
            self.tag,
            BillableLine {
                id: self.id,
                shipment_id: self.shipment_id,
                order_id: self.order_id,
                order_line_id: self.order_line_id,
                customer_id: self.customer_id,
                sku: self.sku,
                description: self.description,
                quantity: self.quantity,
                unit_price: self.unit_price,
                amount: self.amount,
                currency: self.currency,
                tax_code: self.tax_code,
                shipped_at: self.shipped_at,
            },
        )
    }
}

/// Lines of a held draft, as billable lines (to evaluate it again).
pub async fn billable_lines_of_invoice(
    tx: &mut Tx,
    invoice_id: Uuid,
) -> Result<Vec<BillableLine>, sqlx::Error> {
    sqlx::query_as!(
        BillableLine,
        r#"SELECT id, shipment_id, order_id, order_line_id, customer_id, sku, description, quantity,
                  unit_price, amount, currency::text AS "currency!", tax_code, shipped_at
             FROM billable_lines WHERE invoice_id = $1 ORDER BY shipped_at, order_line_id, id"#,
        invoice_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// What has been shipped so far of each order line (every shipment).
#[derive(Debug, Clone)]
pub struct ShippedSoFar {
    pub order_id: Uuid,
    pub order_line_id: String,
    pub quantity: Decimal,
    pub amount: Decimal,
}

pub async fn shipped_so_far(
    tx: &mut Tx,
    order_ids: &[Uuid],
) -> Result<Vec<ShippedSoFar>, sqlx::Error> {
    sqlx::query_as!(
        ShippedSoFar,
        r#"SELECT order_id, order_line_id, SUM(quantity) AS "quantity!", SUM(amount) AS "amount!"
             FROM billable_lines WHERE order_id = ANY($1)
            GROUP BY order_id, order_line_id"#,
        order_ids
    )
    .fetch_all(&mut **tx)
    .await
}

/// Takes the next `count` numbers of a series (gapless: the increment rolls
/// back with the transaction); returns the first.
pub async fn take_numbers(
    tx: &mut Tx,
    tenant: &str,
    series: &str,
    year: i32,
    count: i64,
) -> Result<i64, sqlx::Error> {
    let last = sqlx::query_scalar!(
        r#"INSERT INTO numbering_series (tenant, series, year, last_value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant, series, year)
           DO UPDATE SET last_value = numbering_series.last_value + EXCLUDED.last_value
           RETURNING last_value"#,
        tenant,
        series,
        year,
        count
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(last - count + 1)
}

/// An invoice or note header, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct InvoiceRecord {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub series: Option<String>,
    pub sequence: Option<i64>,
    pub number: Option<String>,
    pub customer_id: Uuid,
    pub corrects_invoice_id: Option<Uuid>,
    pub currency: String,
    pub functional_currency: String,
    pub fx_rate: Option<Decimal>,
    pub fx_rate_date: Option<NaiveDate>,
    pub net_amount: Decimal,
    pub tax_amount: Decimal,
    pub total_amount: Decimal,
    pub functional_net_amount: Option<Decimal>,
    pub functional_tax_amount: Option<Decimal>,
    pub functional_total_amount: Option<Decimal>,
    pub tax_summary: serde_json::Value,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub discount_date: Option<NaiveDate>,
    pub discount_amount: Option<Decimal>,
    pub payment_terms_code: String,
    pub billing_period: String,
    pub hold_reasons: serde_json::Value,
    pub discrepancies: serde_json::Value,
    pub discrepancy_accepted_by: Option<String>,
    pub reason: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub document_view: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LineRecord {
    pub line_no: i32,
    pub billable_line_id: Option<Uuid>,
    pub corrects_line_no: Option<i32>,
    pub shipment_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub order_line_id: Option<String>,
    pub sku: String,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub tax_code: String,
    pub tax_category: String,
    pub tax_rate: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
    pub functional_net: Option<Decimal>,
    pub functional_tax: Option<Decimal>,
}

/// Rewrites a held draft (to hold it again with other reasons, or to issue
/// it). The immutability trigger refuses this once the invoice is issued.
pub async fn update_draft(tx: &mut Tx, invoice: &InvoiceRecord) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE invoices SET status = $2, series = $3, sequence = $4, number = $5,
                  fx_rate = $6, fx_rate_date = $7, net_amount = $8, tax_amount = $9,
                  total_amount = $10, functional_net_amount = $11, functional_tax_amount = $12,
                  functional_total_amount = $13, tax_summary = $14, issue_date = $15,
                  due_date = $16, discount_date = $17, discount_amount = $18,
                  payment_terms_code = $19, hold_reasons = $20, discrepancies = $21,
                  discrepancy_accepted_by = $22, document_view = $23, issued_at = $24,
                  functional_currency = $25
            WHERE id = $1"#,
        invoice.id,
        invoice.status,
        invoice.series,
        invoice.sequence,
        invoice.number,
        invoice.fx_rate,
        invoice.fx_rate_date,
        invoice.net_amount,
        invoice.tax_amount,
        invoice.total_amount,
        invoice.functional_net_amount,
        invoice.functional_tax_amount,
        invoice.functional_total_amount,
        invoice.tax_summary,
        invoice.issue_date,
        invoice.due_date,
        invoice.discount_date,
        invoice.discount_amount,
        invoice.payment_terms_code,
        invoice.hold_reasons,
        invoice.discrepancies,
        invoice.discrepancy_accepted_by,
        invoice.document_view,
        invoice.issued_at,
        invoice.functional_currency,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A held draft's lines, written again when it is issued.
pub async fn insert_lines(
    tx: &mut Tx,
    tenant: &str,
    invoice_id: Uuid,
    lines: &[LineRecord],
) -> Result<(), sqlx::Error> {
    let rows: Vec<LineRow<'_>> = lines
        .iter()
        .map(|line| LineRow {
            tenant,
            invoice_id,
            line,
        })
        .collect();
    insert_line_rows(tx, &rows).await
}

pub async fn delete_draft_lines(tx: &mut Tx, invoice_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM invoice_lines WHERE invoice_id = $1",
        invoice_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

macro_rules! select_invoice {
    ($where:literal) => {
        concat!(
            r#"SELECT id, kind, status, series, sequence, number, customer_id, corrects_invoice_id,
                  currency::text AS currency, functional_currency::text AS functional_currency,
                  fx_rate, fx_rate_date, net_amount, tax_amount, total_amount,
                  functional_net_amount, functional_tax_amount, functional_total_amount,
                  tax_summary, issue_date, due_date, discount_date, discount_amount,
                  payment_terms_code, billing_period, hold_reasons, discrepancies,
                  discrepancy_accepted_by, reason, idempotency_key, request_hash, document_view,
                  created_at, issued_at
             FROM invoices "#,
            $where
        )
    };
}

pub async fn load(tx: &mut Tx, id: Uuid) -> Result<Option<InvoiceRecord>, sqlx::Error> {
    sqlx::query_as::<_, InvoiceRecord>(select_invoice!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Loads and locks (credit notes against it serialize on this lock).
pub async fn load_for_update(tx: &mut Tx, id: Uuid) -> Result<Option<InvoiceRecord>, sqlx::Error> {
    sqlx::query_as::<_, InvoiceRecord>(select_invoice!("WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn load_by_number(
    tx: &mut Tx,
    number: &str,
) -> Result<Option<InvoiceRecord>, sqlx::Error> {
    sqlx::query_as::<_, InvoiceRecord>(select_invoice!("WHERE number = $1"))
        .bind(number)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn load_by_idempotency_key(
    tx: &mut Tx,
    kind: &str,
    key: &str,
) -> Result<Option<InvoiceRecord>, sqlx::Error> {
    sqlx::query_as::<_, InvoiceRecord>(select_invoice!("WHERE kind = $1 AND idempotency_key = $2"))
        .bind(kind)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn lines(tx: &mut Tx, invoice_id: Uuid) -> Result<Vec<LineRecord>, sqlx::Error> {
    sqlx::query_as!(
        LineRecord,
        r#"SELECT line_no, billable_line_id, corrects_line_no, shipment_id, order_id, order_line_id,
                  sku, description, quantity, unit_price, tax_code, tax_category, tax_rate, net,
                  tax, gross, functional_net, functional_tax
             FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no"#,
        invoice_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// What issued credit notes already took from each line of an invoice.
#[derive(Debug, Clone)]
pub struct CreditedLine {
    pub line_no: i32,
    pub quantity: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
}

pub async fn credited_by_line(
    tx: &mut Tx,
    invoice_id: Uuid,
) -> Result<Vec<CreditedLine>, sqlx::Error> {
    sqlx::query_as!(
        CreditedLine,
        r#"SELECT l.corrects_line_no AS "line_no!", SUM(l.quantity) AS "quantity!", SUM(l.net) AS "net!", SUM(l.tax) AS "tax!"
             FROM invoice_lines l JOIN invoices n ON n.id = l.invoice_id
            WHERE n.corrects_invoice_id = $1 AND n.kind = 'credit_note' AND n.status = 'issued'
              AND l.corrects_line_no IS NOT NULL
            GROUP BY l.corrects_line_no"#,
        invoice_id
    )
    .fetch_all(&mut **tx)
    .await
}

pub struct InvoiceFilter {
    pub customer_id: Option<Uuid>,
    pub kind: Option<String>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    pub min_total: Option<Decimal>,
    pub max_total: Option<Decimal>,
    pub number_prefix: Option<String>,
    pub currency: Option<String>,
    /// Continue after this (series, sequence) in descending order.
    pub after: Option<(String, i64)>,
    pub limit: i64,
}

pub async fn list_issued(
    tx: &mut Tx,
    filter: &InvoiceFilter,
) -> Result<Vec<InvoiceRecord>, sqlx::Error> {
    let (after_series, after_sequence) = filter
        .after
        .clone()
        .map_or((None, None), |(series, sequence)| {
            (Some(series), Some(sequence))
        });
    sqlx::query_as::<_, InvoiceRecord>(select_invoice!(
        r#"WHERE status = 'issued'
                 AND ($1::uuid IS NULL OR customer_id = $1)
                 AND ($2::text IS NULL OR kind = $2)
                 AND ($3::date IS NULL OR issue_date >= $3)
                 AND ($4::date IS NULL OR issue_date <= $4)
                 AND ($5::numeric IS NULL OR total_amount >= $5)
                 AND ($6::numeric IS NULL OR total_amount <= $6)
                 AND ($7::text IS NULL OR number LIKE $7 || '%')
                 AND ($8::text IS NULL OR currency = $8)
                 AND ($9::text IS NULL OR (series, sequence) < ($9, $10::bigint))
               ORDER BY series DESC, sequence DESC
               LIMIT $11"#
    ))
    .bind(filter.customer_id)
    .bind(filter.kind.as_deref())
    .bind(filter.issued_from)
    .bind(filter.issued_to)
    .bind(filter.min_total)
    .bind(filter.max_total)
    .bind(filter.number_prefix.as_deref())
    .bind(filter.currency.as_deref())
    .bind(after_series)
    .bind(after_sequence)
    .bind(filter.limit)
    .fetch_all(&mut **tx)
    .await
}

/// Held drafts, oldest first; `reason_code` filters on one reason.
pub async fn list_held(
    tx: &mut Tx,
    reason_code: Option<&str>,
    customer_id: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<InvoiceRecord>, sqlx::Error> {
    let (after_created, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    sqlx::query_as::<_, InvoiceRecord>(select_invoice!(
        r#"WHERE status = 'held'
                 AND ($1::text IS NULL OR hold_reasons @> jsonb_build_array(jsonb_build_object('code', $1::text)))
                 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
                 AND ($5::uuid IS NULL OR customer_id = $5)
               ORDER BY created_at, id
               LIMIT $4"#
    ))
    .bind(reason_code)
    .bind(after_created)
    .bind(after_id)
    .bind(limit)
    .bind(customer_id)
    .fetch_all(&mut **tx)
    .await
}

/// Held drafts for the retry worker to judge again, a page at a time after
/// `after` in (created_at, id) order. Drafts held for a discrepancy are
/// included: one that came from order events arriving late (an unknown
/// line) clears by itself; a real difference stays held for a clerk.
pub struct HeldDraft {
    pub tenant: String,
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
}

pub async fn held_for_retry(
    tx: &mut Tx,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<HeldDraft>, sqlx::Error> {
    let (after_created, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    sqlx::query_as!(
        HeldDraft,
        r#"SELECT tenant, id, created_at FROM invoices
            WHERE status = 'held'
              AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2::uuid))
            ORDER BY created_at, id
            LIMIT $3"#,
        after_created,
        after_id,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// Per-shipment lines recorded by the current transaction that no invoice
/// claimed yet (customers unknown to billing included), with their tenant.
pub async fn recorded_in_this_transaction(
    tx: &mut Tx,
) -> Result<Vec<(String, BillableLine)>, sqlx::Error> {
    let rows = sqlx::query_as!(
        TaggedLine,
        r#"SELECT b.tenant AS tag, b.id, b.shipment_id, b.order_id, b.order_line_id, b.customer_id,
                  b.sku, b.description, b.quantity, b.unit_price, b.amount,
                  b.currency::text AS "currency!", b.tax_code, b.shipped_at
             FROM billable_lines b LEFT JOIN customers c ON c.id = b.customer_id
            WHERE b.invoice_id IS NULL AND b.recorded_tx = txid_current()
              AND (c.id IS NULL OR c.invoicing_frequency = 'per_shipment')
            ORDER BY b.shipment_id, b.order_line_id
            FOR UPDATE OF b"#
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(TaggedLine::split).collect())
}

#[derive(serde::Serialize)]
struct InvoiceRow<'a> {
    tenant: &'a str,
    #[serde(flatten)]
    record: &'a InvoiceRecord,
}

#[derive(serde::Serialize)]
struct LineRow<'a> {
    tenant: &'a str,
    invoice_id: Uuid,
    #[serde(flatten)]
    line: &'a LineRecord,
}

fn as_json<T: serde::Serialize>(rows: &T) -> Result<serde_json::Value, sqlx::Error> {
    serde_json::to_value(rows).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}

async fn insert_line_rows(tx: &mut Tx, rows: &[LineRow<'_>]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO invoice_lines SELECT * FROM jsonb_populate_recordset(NULL::invoice_lines, $1)",
        as_json(&rows)?
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts documents (invoices or notes) with their lines, in two
/// statements whatever their number.
pub async fn insert_documents(
    tx: &mut Tx,
    documents: &[(&str, &InvoiceRecord, &[LineRecord])],
) -> Result<(), sqlx::Error> {
    if documents.is_empty() {
        return Ok(());
    }
    let headers: Vec<InvoiceRow<'_>> = documents
        .iter()
        .map(|(tenant, record, _)| InvoiceRow { tenant, record })
        .collect();
    sqlx::query!(
        "INSERT INTO invoices SELECT * FROM jsonb_populate_recordset(NULL::invoices, $1)",
        as_json(&headers)?
    )
    .execute(&mut **tx)
    .await?;
    let lines: Vec<LineRow<'_>> = documents
        .iter()
        .flat_map(|(tenant, record, lines)| {
            lines.iter().map(move |line| LineRow {
                tenant,
                invoice_id: record.id,
                line,
            })
        })
        .collect();
    insert_line_rows(tx, &lines).await
}

/// Inserts invoices with their lines and claims their billable lines.
/// False if any line was claimed already (the caller rolls back).
pub async fn insert_many(
    tx: &mut Tx,
    invoices: &[(&str, &InvoiceRecord, &[LineRecord])],
) -> Result<bool, sqlx::Error> {
    insert_documents(tx, invoices).await?;
    let (billable, owners): (Vec<Uuid>, Vec<Uuid>) = invoices
        .iter()
        .flat_map(|(_, record, lines)| {
            lines
                .iter()
                .filter_map(move |line| line.billable_line_id.map(|id| (id, record.id)))
        })
        .unzip();
    if billable.is_empty() {
        return Ok(true);
    }
    let claimed = sqlx::query!(
        r#"UPDATE billable_lines b SET invoice_id = c.invoice_id
             FROM UNNEST($1::uuid[], $2::uuid[]) AS c(id, invoice_id)
            WHERE b.id = c.id AND b.invoice_id IS NULL"#,
        &billable,
        &owners
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(claimed == u64::try_from(billable.len()).unwrap_or(u64::MAX))
}
