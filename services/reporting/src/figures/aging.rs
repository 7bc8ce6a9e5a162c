//! AR aging as of any date: each item's open amount as of that date (its
//! amount plus the movements against it up to and including that day) by
//! days past due, in configurable buckets; per customer, then grouped by
//! segment, currency or the functional currency.
//!
//! Days past due = as-of date − due date. An item due on the as-of date
//! (0 days) or later is current; with the default bounds 30, 60, 90, 120
//! the overdue buckets are 1–30, 31–60, 61–90, 91–120 and 120+ (121 days
//! and more). Amounts of different currencies never add up: each customer
//! has one line per currency, and a functional-currency line where billing
//! gave the equivalent (the item's open amount converted at the item's own
//! rate, functional amount / amount, rounded half-even to the functional
//! currency's minor unit).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use uuid::Uuid;

/// Upper bounds (in days past due) of the overdue buckets but the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets {
    bounds: Vec<u32>,
}

/// What is wrong with requested bucket bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BucketError(pub String);

impl Default for Buckets {
    fn default() -> Self {
        Self {
            bounds: vec![30, 60, 90, 120],
        }
    }
}

impl Buckets {
    /// At least one bound, each above 0 and above the one before.
    pub fn new(bounds: Vec<u32>) -> Result<Self, BucketError> {
        if bounds.is_empty() {
            return Err(BucketError("give at least one bound".to_owned()));
        }
        if bounds.first() == Some(&0) {
            return Err(BucketError(
                "bounds are days past due, the first must be at least 1".to_owned(),
            ));
        }
        if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(BucketError(format!(
                "bounds must be strictly ascending, got {bounds:?}"
            )));
        }
        if bounds.len() > 24 {
            return Err(BucketError("at most 24 bounds".to_owned()));
        }
        Ok(Self { bounds })
    }

    pub fn bounds(&self) -> &[u32] {
        &self.bounds
    }

    /// Buckets in all: current, one per bound, and the open-ended last.
    pub fn len(&self) -> usize {
        self.bounds.len() + 2
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// `current`, `1-30`, `31-60`, …, `120+`.
    pub fn labels(&self) -> Vec<String> {
        let mut labels = vec!["current".to_owned()];
        let mut from = 1_u32;
        for bound in &self.bounds {
            labels.push(format!("{from}-{bound}"));
            from = bound.saturating_add(1);
        }
        if let Some(last) = self.bounds.last() {
            labels.push(format!("{last}+"));
        }
        labels
    }

    /// The bucket of an item so many days past due (0 or less: current).
    pub fn index_of(&self, days_past_due: i64) -> usize {
        if days_past_due <= 0 {
            return 0;
        }
        for (index, bound) in self.bounds.iter().enumerate() {
            if days_past_due <= i64::from(*bound) {
                return index + 1;
            }
        }
        self.bounds.len() + 1
    }
}

/// One item open as of the date asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub customer_id: Uuid,
    pub document_id: Uuid,
    pub currency: String,
    pub open: Decimal,
    pub due_date: NaiveDate,
    /// The open amount in the functional currency, when billing gave a rate.
    pub functional: Option<(String, Decimal)>,
}

/// One currency's aging: an amount per bucket and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgingLine {
    pub currency: String,
    pub buckets: Vec<Decimal>,
    pub total: Decimal,
    pub overdue: Decimal,
    pub items: u64,
}

impl AgingLine {
    pub fn empty(currency: &str, buckets: &Buckets) -> Self {
        Self {
            currency: currency.to_owned(),
            buckets: vec![Decimal::ZERO; buckets.len()],
            total: Decimal::ZERO,
            overdue: Decimal::ZERO,
            items: 0,
        }
    }

    fn add_amount(&mut self, bucket: usize, amount: Decimal) {
        if let Some(slot) = self.buckets.get_mut(bucket) {
            *slot += amount;
        }
        self.total += amount;
        if bucket > 0 {
            self.overdue += amount;
        }
        self.items = self.items.saturating_add(1);
    }

    /// Adds another line of the same currency and buckets.
    pub fn absorb(&mut self, other: &AgingLine) {
        for (slot, amount) in self.buckets.iter_mut().zip(&other.buckets) {
            *slot += *amount;
        }
        self.total += other.total;
        self.overdue += other.overdue;
        self.items = self.items.saturating_add(other.items);
    }
}

/// A customer's aging as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerAging {
    pub customer_id: Uuid,
    pub legal_name: Option<String>,
    pub segment: Option<String>,
    /// One line per currency the customer owes in, by currency code.
    pub lines: Vec<AgingLine>,
    /// The functional-currency view of the items that have one.
    pub functional: Option<AgingLine>,
}

/// Rounds a functional equivalent to its currency's minor unit, half-even.
fn functional_open(
    open: Decimal,
    amount: Decimal,
    functional: Decimal,
    code: &str,
) -> Option<Decimal> {
    if amount.is_zero() {
        return None;
    }
    let minor = otc_shared::Currency::parse(code).ok()?.minor_units();
    let converted = open.checked_mul(functional)?.checked_div(amount)?;
    Some(converted.round_dp_with_strategy(minor, RoundingStrategy::MidpointNearestEven))
}

/// The items open as of `as_of` (issued on or before it, open amount not
/// zero) of the tenant, or of the given customers only.
pub async fn open_items(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    as_of: NaiveDate,
    customers: Option<&[Uuid]>,
) -> Result<Vec<OpenItem>, sqlx::Error> {
    // Two statements rather than one with `$3 IS NULL OR ...`: a plan made
    // for either case would scan every document for the other.
    let rows: Vec<OpenRow> = match customers {
        Some(customers) => {
            sqlx::query_as!(
                OpenRow,
                r#"SELECT d.customer_id, d.document_id, d.currency AS "currency!: String", d.amount,
                          d.due_date, d.functional_currency AS "functional_currency: String",
                          d.functional_amount, d.amount + COALESCE(m.moved, 0) AS "open!"
                   FROM documents d
                   LEFT JOIN LATERAL (
                       SELECT SUM(amount) AS moved FROM movements m
                       WHERE m.tenant = d.tenant AND m.item_id = d.document_id AND m.occurred_on <= $2
                   ) m ON TRUE
                   WHERE d.tenant = $1 AND d.customer_id = ANY($3) AND d.issue_date <= $2
                     AND d.amount + COALESCE(m.moved, 0) <> 0
                   ORDER BY d.customer_id, d.due_date, d.document_id"#,
                tenant,
                as_of,
                customers,
            )
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_as!(
                OpenRow,
                r#"SELECT d.customer_id, d.document_id, d.currency AS "currency!: String", d.amount,
                          d.due_date, d.functional_currency AS "functional_currency: String",
                          d.functional_amount, d.amount + COALESCE(m.moved, 0) AS "open!"
                   FROM documents d
                   LEFT JOIN (
                       SELECT item_id, SUM(amount) AS moved FROM movements
                       WHERE tenant = $1 AND occurred_on <= $2
                       GROUP BY item_id
                   ) m ON m.item_id = d.document_id
                   WHERE d.tenant = $1 AND d.issue_date <= $2
                     AND d.amount + COALESCE(m.moved, 0) <> 0
                   ORDER BY d.customer_id, d.due_date, d.document_id"#,
                tenant,
                as_of,
            )
            .fetch_all(conn)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let functional = match (row.functional_currency, row.functional_amount) {
                (Some(code), Some(functional)) => {
                    functional_open(row.open, row.amount, functional, code.trim())
                        .map(|value| (code.trim().to_owned(), value))
                }
                _ => None,
            };
            OpenItem {
                customer_id: row.customer_id,
                document_id: row.document_id,
                currency: row.currency.trim().to_owned(),
                open: row.open,
                due_date: row.due_date,
                functional,
            }
        })
        .collect())
}

struct OpenRow {
    customer_id: Uuid,
    document_id: Uuid,
    currency: String,
    amount: Decimal,
    due_date: NaiveDate,
    functional_currency: Option<String>,
    functional_amount: Option<Decimal>,
    open: Decimal,
}

/// Ages open items into one [`CustomerAging`] per customer (in id order).
pub fn age(items: &[OpenItem], as_of: NaiveDate, buckets: &Buckets) -> Vec<CustomerAging> {
    let mut customers: BTreeMap<Uuid, (BTreeMap<String, AgingLine>, Option<AgingLine>)> =
        BTreeMap::new();
    for item in items {
        let bucket = buckets.index_of((as_of - item.due_date).num_days());
        let (lines, functional) = customers.entry(item.customer_id).or_default();
        lines
            .entry(item.currency.clone())
            .or_insert_with(|| AgingLine::empty(&item.currency, buckets))
            .add_amount(bucket, item.open);
        if let Some((code, value)) = &item.functional {
            functional
                .get_or_insert_with(|| AgingLine::empty(code, buckets))
                .add_amount(bucket, *value);
        }
    }
    customers
        .into_iter()
        .map(|(customer_id, (lines, functional))| CustomerAging {
            customer_id,
            legal_name: None,
            segment: None,
            lines: lines.into_values().collect(),
            functional,
        })
        .collect()
}

/// The aging of the tenant's customers (or of the given ones) as of a
/// date, with their names and segments. A customer with nothing open is
/// left out, unless it was asked for by id.
pub async fn by_customer(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    as_of: NaiveDate,
    buckets: &Buckets,
    customers: Option<&[Uuid]>,
) -> Result<Vec<CustomerAging>, sqlx::Error> {
    let items = open_items(&mut *conn, tenant, as_of, customers).await?;
    let mut aged = age(&items, as_of, buckets);
    if let Some(asked) = customers {
        for customer_id in asked {
            if aged
                .binary_search_by_key(customer_id, |row| row.customer_id)
                .is_err()
            {
                let at = aged.partition_point(|row| row.customer_id < *customer_id);
                aged.insert(
                    at,
                    CustomerAging {
                        customer_id: *customer_id,
                        legal_name: None,
                        segment: None,
                        lines: Vec::new(),
                        functional: None,
                    },
                );
            }
        }
    }
    let ids: Vec<Uuid> = aged.iter().map(|row| row.customer_id).collect();
    let names = sqlx::query!(
        r#"SELECT customer_id, legal_name, segment FROM customers
           WHERE tenant = $1 AND customer_id = ANY($2)"#,
        tenant,
        &ids,
    )
    .fetch_all(conn)
    .await?;
    let names: BTreeMap<Uuid, (String, String)> = names
        .into_iter()
        .map(|row| (row.customer_id, (row.legal_name, row.segment)))
        .collect();
    for row in &mut aged {
        if let Some((name, segment)) = names.get(&row.customer_id) {
            row.legal_name = Some(name.clone());
            row.segment = Some(segment.clone());
        }
    }
    Ok(aged)
}

/// How customers' agings are added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One group per segment (a customer not seen in the master: ""), per currency.
    Segment,
    /// One group per currency.
    Currency,
    /// One group per functional currency, of the functional-currency lines.
    FunctionalCurrency,
}

/// A group's aging in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupAging {
    /// The segment, or the currency code when grouping by currency.
    pub group: String,
    pub line: AgingLine,
    pub customers: u64,
}

/// Adds customers' agings up by segment, currency or functional currency
/// (groups in name order, then currency order).
pub fn group(customers: &[CustomerAging], by: GroupBy, buckets: &Buckets) -> Vec<GroupAging> {
    let mut groups: BTreeMap<(String, String), GroupAging> = BTreeMap::new();
    for customer in customers {
        let lines: Vec<&AgingLine> = match by {
            GroupBy::FunctionalCurrency => customer.functional.iter().collect(),
            GroupBy::Segment | GroupBy::Currency => customer.lines.iter().collect(),
        };
        for line in lines {
            let name = match by {
                GroupBy::Segment => customer.segment.clone().unwrap_or_default(),
                GroupBy::Currency | GroupBy::FunctionalCurrency => line.currency.clone(),
            };
            let entry = groups
                .entry((name.clone(), line.currency.clone()))
                .or_insert_with(|| GroupAging {
                    group: name,
                    line: AgingLine::empty(&line.currency, buckets),
                    customers: 0,
                });
            entry.line.absorb(line);
            entry.customers = entry.customers.saturating_add(1);
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn boundary_days_fall_in_the_bucket_they_close() {
        let buckets = Buckets::default();
        assert_eq!(
            buckets.labels(),
            ["current", "1-30", "31-60", "61-90", "91-120", "120+"]
        );
        for (days, bucket) in [
            (-5, 0),
            (0, 0),
            (1, 1),
            (30, 1),
            (31, 2),
            (60, 2),
            (61, 3),
            (90, 3),
            (91, 4),
            (120, 4),
            (121, 5),
            (4000, 5),
        ] {
            assert_eq!(buckets.index_of(days), bucket, "{days} days past due");
        }
    }

    #[test]
    fn bounds_must_be_ascending_and_positive() {
        assert!(Buckets::new(vec![]).is_err());
        assert!(Buckets::new(vec![0, 30]).is_err());
        assert!(Buckets::new(vec![30, 30]).is_err());
        assert!(Buckets::new(vec![60, 30]).is_err());
        let weekly = Buckets::new(vec![7, 14]).unwrap_or_default();
        assert_eq!(weekly.labels(), ["current", "1-7", "8-14", "14+"]);
        assert_eq!(weekly.len(), 4);
    }

    #[test]
    fn items_age_per_customer_and_currency() {
        let alice = Uuid::from_u128(1);
        let bob = Uuid::from_u128(2);
        let as_of = day("2026-03-31");
        let item = |customer, currency: &str, open, due: &str, functional| OpenItem {
            customer_id: customer,
            document_id: Uuid::now_v7(),
            currency: currency.to_owned(),
            open,
            due_date: day(due),
            functional,
        };
        let items = [
            item(
                alice,
                "EUR",
                dec!(100.00),
                "2026-03-31",
                Some(("EUR".to_owned(), dec!(100.00))),
            ),
            item(
                alice,
                "EUR",
                dec!(50.00),
                "2026-03-01",
                Some(("EUR".to_owned(), dec!(50.00))),
            ),
            item(
                alice,
                "USD",
                dec!(10.00),
                "2025-11-30",
                Some(("EUR".to_owned(), dec!(9.20))),
            ),
            item(bob, "EUR", dec!(-20.00), "2026-01-30", None),
        ];
        let aged = age(&items, as_of, &Buckets::default());
        assert_eq!(aged.len(), 2);
        let alice_eur = &aged[0].lines[0];
        assert_eq!(alice_eur.currency, "EUR");
        // Due today: current; due 30 days ago: 1-30.
        assert_eq!(
            alice_eur.buckets,
            [
                dec!(100.00),
                dec!(50.00),
                dec!(0),
                dec!(0),
                dec!(0),
                dec!(0)
            ]
        );
        assert_eq!(
            (alice_eur.total, alice_eur.overdue),
            (dec!(150.00), dec!(50.00))
        );
        // 2025-11-30 to 2026-03-31 is 121 days: 120+.
        assert_eq!(aged[0].lines[1].buckets[5], dec!(10.00));
        let functional = aged[0]
            .functional
            .clone()
            .unwrap_or_else(|| AgingLine::empty("EUR", &Buckets::default()));
        assert_eq!(functional.total, dec!(159.20));
        // A credit balance ages too (60 days: 31-60), negative.
        assert_eq!(aged[1].lines[0].buckets[2], dec!(-20.00));
        let by_currency = group(&aged, GroupBy::Currency, &Buckets::default());
        assert_eq!(by_currency.len(), 2);
        assert_eq!(
            (by_currency[0].group.as_str(), by_currency[0].line.total),
            ("EUR", dec!(130.00))
        );
        assert_eq!(by_currency[0].customers, 2);
    }

    #[test]
    fn functional_amounts_round_half_even_at_the_items_rate() {
        // Half of 0.25 is 0.125: half-even gives 0.12.
        assert_eq!(
            functional_open(dec!(0.50), dec!(1.00), dec!(0.25), "EUR"),
            Some(dec!(0.12))
        );
        assert_eq!(
            functional_open(dec!(1.50), dec!(1.00), dec!(0.25), "EUR"),
            Some(dec!(0.38))
        );
        assert_eq!(functional_open(dec!(1), dec!(0), dec!(1), "EUR"), None);
    }
}
