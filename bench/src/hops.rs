//! Where an order's time goes in the whole pipeline, hop by hop, read
//! afterwards from the services' own tables (outbox rows with their
//! creation and publication times, billing's billable lines, payments'
//! receipts and applications, reporting's facts): no tracing needed, and
//! every order of the run counts.

// Figures are floats (measurements, never money).
#![allow(
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::as_conversions
)]

use std::collections::HashMap;

use sqlx::PgPool;

/// Seconds since the epoch, as PostgreSQL gives them.
type At = f64;

async fn rows<T>(pool: &PgPool, query: &str) -> anyhow::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut tx = otc_shared::db::begin_for_all_tenants(pool).await?;
    let found = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(query.to_owned()))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found)
}

/// The hops, in order, with what each covers.
pub const HOPS: [&str; 14] = [
    "shop publishes -> order placed (ingestion)",
    "order: placed -> approved (credit check)",
    "order: OrderApproved relayed to Kafka",
    "shop reacts, order records the shipment",
    "order: ShipmentRecorded relayed",
    "billing: shipment consumed (billable line)",
    "billing: line -> invoice issued",
    "billing: InvoiceIssued relayed",
    "customer pays (pay delay + webhook)",
    "payments: receipt -> applied",
    "payments: PaymentApplied relayed",
    "reporting: payment fact folded",
    "reporting: next ar_aging snapshot of the customer",
    "reporting: ar_aging snapshot relayed",
];

/// The databases of the five services but collections.
pub struct Pools<'a> {
    pub order: &'a PgPool,
    pub billing: &'a PgPool,
    pub payments: &'a PgPool,
    pub reporting: &'a PgPool,
}

/// Per hop, the milliseconds of every order that went all the way through,
/// was published by the shop at the time `published` gives (by external
/// order id), and whose `OrderPlaced` was created in `[since, until)`.
pub async fn measure(
    pools: &Pools<'_>,
    published: &HashMap<String, At>,
    since: At,
    until: At,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let (order, billing, payments, reporting) =
        (pools.order, pools.billing, pools.payments, pools.reporting);
    let external: Vec<(String, String)> = rows(
        order,
        "SELECT id::text, external_order_id FROM orders WHERE external_order_id IS NOT NULL",
    )
    .await?;
    let external: HashMap<String, String> = external.into_iter().collect();
    let events: Vec<(String, String, At, Option<At>)> = rows(
        order,
        "SELECT substr(subject, 7), substring(event_type from '[A-Za-z]+$'),
                extract(epoch from created_at)::float8, extract(epoch from published_at)::float8
           FROM outbox WHERE event_type ~ '(OrderPlaced|OrderApproved|ShipmentRecorded)$'",
    )
    .await?;
    let mut orders: HashMap<String, HashMap<String, (At, Option<At>)>> = HashMap::new();
    for (order_id, kind, created, published) in events {
        orders
            .entry(order_id)
            .or_default()
            .insert(kind, (created, published));
    }
    let invoiced: Vec<(String, String, At, At, Option<At>)> = rows(
        billing,
        "SELECT l.order_id::text, l.invoice_id::text, extract(epoch from l.recorded_at)::float8,
                extract(epoch from o.created_at)::float8, extract(epoch from o.published_at)::float8
           FROM billable_lines l
           JOIN outbox o ON o.subject = 'invoice/' || l.invoice_id
                        AND o.event_type LIKE '%.InvoiceIssued'",
    )
    .await?;
    let invoiced: HashMap<String, (String, At, At, Option<At>)> = invoiced
        .into_iter()
        .map(|(order_id, invoice, line, created, published)| {
            (order_id, (invoice, line, created, published))
        })
        .collect();
    let paid: Vec<(String, String, At, At, Option<At>)> = rows(
        payments,
        "SELECT a.invoice_id::text, a.receipt_id::text, extract(epoch from r.received_at)::float8,
                extract(epoch from a.applied_at)::float8, extract(epoch from o.published_at)::float8
           FROM applications a
           JOIN receipts r ON r.id = a.receipt_id
           JOIN outbox o ON o.subject = 'receipt/' || a.receipt_id
                        AND o.event_type LIKE '%.PaymentApplied'",
    )
    .await?;
    let paid: HashMap<String, (String, At, At, Option<At>)> = paid
        .into_iter()
        .map(|(invoice, receipt, received, applied, published)| {
            (invoice, (receipt, received, applied, published))
        })
        .collect();
    let folded: Vec<(String, String, At)> = rows(
        reporting,
        "SELECT substr(subject, 9), min(record_key), extract(epoch from min(created_at))::float8
           FROM outbox WHERE event_type LIKE '%.PaymentFact' GROUP BY 1",
    )
    .await?;
    let folded: HashMap<String, (String, At)> = folded
        .into_iter()
        .map(|(receipt, customer, created)| (receipt, (customer, created)))
        .collect();
    // Every ar_aging snapshot, per customer in creation order.
    let snapshots: Vec<(String, At, Option<At>)> = rows(
        reporting,
        "SELECT record_key, extract(epoch from created_at)::float8,
                extract(epoch from published_at)::float8
           FROM outbox WHERE event_type LIKE '%.ArAgingSnapshot' ORDER BY created_at",
    )
    .await?;
    let mut aging: HashMap<String, Vec<(At, Option<At>)>> = HashMap::new();
    for (customer, created, published) in snapshots {
        aging
            .entry(customer)
            .or_default()
            .push((created, published));
    }
    // The first snapshot of the customer created at or after `at`.
    let next_snapshot = |customer: &str, at: At| -> Option<(At, At)> {
        let list = aging.get(customer)?;
        let index = list.partition_point(|(created, _)| *created < at);
        let (created, published) = list.get(index)?;
        Some((*created, (*published)?))
    };

    let mut hops = vec![Vec::new(); HOPS.len()];
    for (order_id, events) in &orders {
        let (Some(placed), Some(approved), Some(shipped)) = (
            events.get("OrderPlaced"),
            events.get("OrderApproved"),
            events.get("ShipmentRecorded"),
        ) else {
            continue;
        };
        if placed.0 < since || placed.0 >= until {
            continue;
        }
        let Some(shop) = external.get(order_id).and_then(|id| published.get(id)) else {
            continue;
        };
        let Some((invoice, line, issued, invoice_published)) = invoiced.get(order_id) else {
            continue;
        };
        let Some((receipt, received, applied, applied_published)) = paid.get(invoice) else {
            continue;
        };
        let (
            Some(approved_published),
            Some(shipped_published),
            Some(invoice_published),
            Some(applied_published),
            Some((customer, fact)),
        ) = (
            approved.1,
            shipped.1,
            *invoice_published,
            *applied_published,
            folded.get(receipt),
        )
        else {
            continue;
        };
        let Some((snapshot, snapshot_published)) = next_snapshot(customer, *fact) else {
            continue;
        };
        let marks = [
            *shop,
            placed.0,
            approved.0,
            approved_published,
            shipped.0,
            shipped_published,
            *line,
            *issued,
            invoice_published,
            *received,
            *applied,
            applied_published,
            *fact,
            snapshot,
            snapshot_published,
        ];
        for (hop, pair) in hops.iter_mut().zip(marks.windows(2)) {
            hop.push(((pair[1] - pair[0]) * 1000.0).max(0.0));
        }
    }
    Ok(hops)
}

/// Seconds since the epoch now, on the clock PostgreSQL uses here.
pub fn now() -> At {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// Prints p50/p95/p99 of each hop.
pub fn print(title: &str, hops: &mut [Vec<f64>]) {
    let orders = hops.first().map_or(0, Vec::len);
    println!("\nWhere the time goes: {title} ({orders} orders, from the services' own tables; ms)");
    println!("  {:48} {:>8} {:>8} {:>8}", "hop", "p50", "p95", "p99");
    for (name, values) in HOPS.iter().zip(hops.iter_mut()) {
        values.sort_by(f64::total_cmp);
        let at = |quantile: f64| {
            values
                .get(
                    ((values.len() as f64 * quantile) as usize).min(values.len().saturating_sub(1)),
                )
                .copied()
                .unwrap_or(0.0)
        };
        println!(
            "  {name:48} {:>8.0} {:>8.0} {:>8.0}",
            at(0.50),
            at(0.95),
            at(0.99)
        );
    }
}
