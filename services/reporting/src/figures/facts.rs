//! The fact tables of a date range, as rows for export (amounts as exact
//! decimal text in their currency's minor digits).

use chrono::NaiveDate;

use crate::export::Table;
use crate::topics::amount_text;

fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn money(amount: Option<rust_decimal::Decimal>, currency: &str) -> String {
    amount
        .map(|amount| amount_text(amount, currency))
        .unwrap_or_default()
}

/// Invoices and debit notes issued in [from, to], and credit notes.
pub async fn invoices(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Table, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!", id AS "id!", number, customer_id AS "customer_id!",
                  invoice_id, currency AS "currency!: String", amount AS "amount!",
                  issued_on AS "issued_on!", due_date
           FROM (
               SELECT kind, document_id AS id, number, customer_id, corrects_invoice_id AS invoice_id,
                      currency, amount, issue_date AS issued_on, due_date
               FROM documents WHERE tenant = $1 AND issue_date BETWEEN $2 AND $3
               UNION ALL
               SELECT 'credit_note', source_id, NULL, customer_id, item_id, currency, -amount,
                      occurred_on, NULL
               FROM movements
               WHERE tenant = $1 AND kind = 'credit_note' AND occurred_on BETWEEN $2 AND $3
           ) facts
           ORDER BY issued_on, kind, id"#,
        tenant,
        from,
        to,
    )
    .fetch_all(conn)
    .await?;
    Ok(Table {
        columns: vec![
            "kind",
            "document_id",
            "number",
            "customer_id",
            "invoice_id",
            "currency",
            "amount",
            "issue_date",
            "due_date",
        ],
        amount_columns: vec![6],
        rows: rows
            .into_iter()
            .map(|row| {
                let currency = row.currency.trim().to_owned();
                vec![
                    row.kind,
                    row.id.to_string(),
                    row.number.unwrap_or_default(),
                    row.customer_id.to_string(),
                    text(row.invoice_id),
                    currency.clone(),
                    amount_text(row.amount, &currency),
                    row.issued_on.to_string(),
                    text(row.due_date),
                ]
            })
            .collect(),
    })
}

/// Receipts received and applications made in [from, to].
pub async fn payments(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Table, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!", receipt_id, application_id, customer_id, invoice_id,
                  currency AS "currency: String", amount, discount, automatic, method,
                  value_date, day AS "day!", unapplied_on
           FROM (
               SELECT 'receipt' AS kind, receipt_id, NULL::uuid AS application_id, customer_id,
                      NULL::uuid AS invoice_id, currency, amount, NULL::numeric AS discount,
                      NULL::boolean AS automatic, channel AS method, value_date,
                      (received_at AT TIME ZONE 'UTC')::date AS day,
                      (reversed_at AT TIME ZONE 'UTC')::date AS unapplied_on
               FROM receipts
               WHERE tenant = $1 AND (received_at AT TIME ZONE 'UTC')::date BETWEEN $2 AND $3
               UNION ALL
               SELECT 'application', receipt_id, application_id, customer_id, invoice_id, currency,
                      amount, discount, automatic, method, value_date,
                      (applied_at AT TIME ZONE 'UTC')::date,
                      (unapplied_at AT TIME ZONE 'UTC')::date
               FROM applications
               WHERE tenant = $1 AND (applied_at AT TIME ZONE 'UTC')::date BETWEEN $2 AND $3
           ) facts
           ORDER BY day, kind, receipt_id, application_id"#,
        tenant,
        from,
        to,
    )
    .fetch_all(conn)
    .await?;
    Ok(Table {
        columns: vec![
            "kind",
            "receipt_id",
            "application_id",
            "customer_id",
            "invoice_id",
            "currency",
            "amount",
            "discount",
            "automatic",
            "method_or_channel",
            "value_date",
            "date",
            "undone_on",
        ],
        amount_columns: vec![6, 7],
        rows: rows
            .into_iter()
            .map(|row| {
                let currency = row.currency.unwrap_or_default().trim().to_owned();
                vec![
                    row.kind,
                    text(row.receipt_id),
                    text(row.application_id),
                    text(row.customer_id),
                    text(row.invoice_id),
                    currency.clone(),
                    money(row.amount, &currency),
                    money(row.discount, &currency),
                    text(row.automatic),
                    row.method.unwrap_or_default(),
                    text(row.value_date),
                    row.day.to_string(),
                    text(row.unapplied_on),
                ]
            })
            .collect(),
    })
}

/// Disputes opened in [from, to].
pub async fn disputes(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Table, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT dispute_id, customer_id, reason_code, currency AS "currency: String", amount,
                  source, owner, (opened_at AT TIME ZONE 'UTC')::date AS "opened_on!",
                  resolution, (resolved_at AT TIME ZONE 'UTC')::date AS resolved_on
           FROM disputes
           WHERE tenant = $1 AND opened_at IS NOT NULL
             AND (opened_at AT TIME ZONE 'UTC')::date BETWEEN $2 AND $3
           ORDER BY opened_at, dispute_id"#,
        tenant,
        from,
        to,
    )
    .fetch_all(conn)
    .await?;
    Ok(Table {
        columns: vec![
            "dispute_id",
            "customer_id",
            "reason_code",
            "currency",
            "amount",
            "source",
            "owner",
            "opened_on",
            "resolution",
            "resolved_on",
        ],
        amount_columns: vec![4],
        rows: rows
            .into_iter()
            .map(|row| {
                let currency = row.currency.unwrap_or_default().trim().to_owned();
                vec![
                    row.dispute_id.to_string(),
                    row.customer_id.to_string(),
                    row.reason_code.unwrap_or_default(),
                    currency.clone(),
                    money(row.amount, &currency),
                    row.source.unwrap_or_default(),
                    row.owner.unwrap_or_default(),
                    row.opened_on.to_string(),
                    row.resolution.unwrap_or_default(),
                    text(row.resolved_on),
                ]
            })
            .collect(),
    })
}
