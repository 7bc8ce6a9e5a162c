//! The exception queue, now: cash not applied (receipts with money left
//! after their applications not unapplied, refunds and reversals),
//! receipts of payers not identified, customers on credit hold, invoices
//! billing holds for review (held and not issued since), open disputes.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCount {
    pub currency: String,
    pub count: i64,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExceptionQueue {
    pub unapplied_cash: Vec<CurrencyCount>,
    pub unidentified_receipts: i64,
    pub customers_on_credit_hold: i64,
    pub held_invoices: i64,
    pub open_disputes: Vec<CurrencyCount>,
}

impl ExceptionQueue {
    pub fn total(&self) -> i64 {
        let unapplied: i64 = self.unapplied_cash.iter().map(|line| line.count).sum();
        let disputes: i64 = self.open_disputes.iter().map(|line| line.count).sum();
        unapplied + self.customers_on_credit_hold + self.held_invoices + disputes
    }
}

pub async fn exception_queue(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
) -> Result<ExceptionQueue, sqlx::Error> {
    let unapplied = sqlx::query!(
        r#"WITH rest AS (
               SELECT r.currency, r.customer_id,
                      r.amount
                      - COALESCE((SELECT SUM(a.amount) FROM applications a
                                  WHERE a.tenant = r.tenant AND a.receipt_id = r.receipt_id
                                    AND a.unapplied_at IS NULL AND a.amount IS NOT NULL), 0)
                      - COALESCE((SELECT SUM(f.amount) FROM refunds f
                                  WHERE f.tenant = r.tenant AND f.receipt_id = r.receipt_id), 0)
                      - COALESCE(r.reversed_amount, 0) AS left_over
               FROM receipts r
               WHERE r.tenant = $1 AND r.amount IS NOT NULL AND r.currency IS NOT NULL
           )
           SELECT currency AS "currency!: String", count(*) AS "count!",
                  SUM(left_over) AS "amount!",
                  count(*) FILTER (WHERE customer_id IS NULL) AS "unidentified!"
           FROM rest WHERE left_over > 0
           GROUP BY currency ORDER BY currency"#,
        tenant,
    )
    .fetch_all(&mut *conn)
    .await?;
    let counts = sqlx::query!(
        r#"SELECT
               (SELECT count(*) FROM credit_status
                WHERE tenant = $1 AND held_at IS NOT NULL
                  AND held_at > COALESCE(released_at, '-infinity'::timestamptz)) AS "held_customers!",
               (SELECT count(*) FROM held_invoices h
                WHERE h.tenant = $1 AND NOT EXISTS (
                    SELECT 1 FROM documents d
                    WHERE d.tenant = h.tenant AND d.document_id = h.invoice_id)) AS "held_invoices!""#,
        tenant,
    )
    .fetch_one(&mut *conn)
    .await?;
    let disputes = sqlx::query!(
        r#"SELECT currency AS "currency!: String", count(*) AS "count!",
                  COALESCE(SUM(amount), 0) AS "amount!"
           FROM disputes
           WHERE tenant = $1 AND opened_at IS NOT NULL AND resolved_at IS NULL
             AND currency IS NOT NULL
           GROUP BY currency ORDER BY currency"#,
        tenant,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ExceptionQueue {
        unidentified_receipts: unapplied.iter().map(|row| row.unidentified).sum(),
        unapplied_cash: unapplied
            .into_iter()
            .map(|row| CurrencyCount {
                currency: row.currency.trim().to_owned(),
                count: row.count,
                amount: row.amount,
            })
            .collect(),
        customers_on_credit_hold: counts.held_customers,
        held_invoices: counts.held_invoices,
        open_disputes: disputes
            .into_iter()
            .map(|row| CurrencyCount {
                currency: row.currency.trim().to_owned(),
                count: row.count,
                amount: row.amount,
            })
            .collect(),
    })
}
