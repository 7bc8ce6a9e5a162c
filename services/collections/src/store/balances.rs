//! Per customer and currency: the open items' balance, the posted movements
//! summed by kind, what is parked and which items are out of balance, for
//! a page of customers (the ledger check reads the whole tenant this way).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;
use crate::domain::balances::LedgerBalance;

/// The next `limit` customers after `after` with an item or a movement
/// (only `customer_id` when given), in id order.
pub async fn customer_page(
    tx: &mut Tx,
    customer_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT customer_id AS "customer_id!" FROM (
               SELECT customer_id FROM open_items
               WHERE tenant = current_setting('app.tenant', true)
                 AND ($1::uuid IS NULL OR customer_id = $1)
                 AND ($2::uuid IS NULL OR customer_id > $2)
               UNION
               SELECT customer_id FROM ledger_movements
               WHERE tenant = current_setting('app.tenant', true)
                 AND ($1::uuid IS NULL OR customer_id = $1)
                 AND ($2::uuid IS NULL OR customer_id > $2)
           ) customers
           ORDER BY customer_id
           LIMIT $3"#,
        customer_id,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

struct ItemSums {
    customer_id: Uuid,
    currency: String,
    balance: Decimal,
    out_of_balance: i64,
}

struct KindSums {
    customer_id: Uuid,
    currency: String,
    kind: String,
    posted: Decimal,
    parked: i64,
}

/// The balances of `customers`, in customer then currency order.
pub async fn of_customers(
    tx: &mut Tx,
    customers: &[Uuid],
) -> Result<Vec<LedgerBalance>, sqlx::Error> {
    let items = sqlx::query_as!(
        ItemSums,
        r#"SELECT o.customer_id AS "customer_id!", o.currency::text AS "currency!",
                  SUM(o.open_amount) AS "balance!",
                  COUNT(*) FILTER (WHERE o.open_amount <> COALESCE(moved.amount, 0))
                      AS "out_of_balance!"
           FROM open_items o
           LEFT JOIN LATERAL (
               SELECT SUM(m.amount) AS amount FROM ledger_movements m
               WHERE m.tenant = o.tenant AND m.item_id = o.id AND m.posted_at IS NOT NULL
           ) moved ON true
           WHERE o.tenant = current_setting('app.tenant', true) AND o.customer_id = ANY($1)
           GROUP BY o.customer_id, o.currency"#,
        customers
    )
    .fetch_all(&mut **tx)
    .await?;
    let kinds = sqlx::query_as!(
        KindSums,
        r#"SELECT customer_id AS "customer_id!", currency::text AS "currency!", kind AS "kind!",
                  COALESCE(SUM(amount) FILTER (WHERE posted_at IS NOT NULL), 0) AS "posted!",
                  COUNT(*) FILTER (WHERE posted_at IS NULL) AS "parked!"
           FROM ledger_movements
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = ANY($1)
           GROUP BY customer_id, currency, kind"#,
        customers
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut balances: BTreeMap<(Uuid, String), LedgerBalance> = BTreeMap::new();
    for row in items {
        let balance = balances
            .entry((row.customer_id, row.currency.clone()))
            .or_insert_with(|| LedgerBalance::new(row.customer_id, &row.currency));
        balance.balance = row.balance;
        balance.items_out_of_balance = row.out_of_balance;
    }
    for row in kinds {
        let balance = balances
            .entry((row.customer_id, row.currency.clone()))
            .or_insert_with(|| LedgerBalance::new(row.customer_id, &row.currency));
        balance.totals.add(&row.kind, row.posted);
        balance.movements_sum += row.posted;
        balance.parked += row.parked;
    }
    Ok(balances.into_values().collect())
}
