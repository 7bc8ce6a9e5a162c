//! Collection statistics over a period of P days ending on D (per currency
//! where amounts are involved):
//!
//! - auto-match rate: of the applications made in the period and not
//!   unapplied by D, the automatic ones, by count and by amount.
//! - disputes by reason: opened in the period (count, amount), still open
//!   on D, resolved in the period (count, and average days from opening to
//!   resolution).
//! - promise-kept rate: of the promises whose outcome came in the period,
//!   the kept ones, by count and by amount promised.
//! - dunning effectiveness per level: of the notices sent in the period,
//!   those whose invoices were all settled within N days of the notice
//!   (default 14), by count and by overdue amount.
//! - cycle times: invoice to cash, from an invoice's issue date to its
//!   settlement (the last movement that brought its open amount to zero or
//!   below, by D), for invoices settled in the period; order to cash, from
//!   an order's placement to the settlement of the last of its invoices,
//!   for orders whose invoices were all settled, the last in the period.
//!   Average, median and 90th percentile, in days.
//!
//! Rates are percentages rounded half-even to two decimals, days to one; a
//! rate over nothing is absent.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::kpis::fixed;

fn percent(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    Some(fixed(
        part.checked_div(whole)?.checked_mul(Decimal::ONE_HUNDRED)?,
        2,
    ))
}

fn one_decimal(value: Decimal) -> Decimal {
    fixed(value, 1)
}

/// A rate by count and by amount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rate {
    pub currency: String,
    pub total_count: i64,
    pub matching_count: i64,
    pub total_amount: Decimal,
    pub matching_amount: Decimal,
}

impl Rate {
    pub fn by_count(&self) -> Option<Decimal> {
        percent(
            Decimal::from(self.matching_count),
            Decimal::from(self.total_count),
        )
    }

    pub fn by_amount(&self) -> Option<Decimal> {
        percent(self.matching_amount, self.total_amount)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisputeReason {
    pub reason_code: String,
    pub currency: String,
    pub opened: i64,
    pub opened_amount: Decimal,
    pub open: i64,
    pub resolved: i64,
    pub average_resolution_days: Option<Decimal>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DunningLevel {
    pub level: i32,
    pub rate: Rate,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleTime {
    pub count: i64,
    pub average_days: Option<Decimal>,
    pub median_days: Option<Decimal>,
    pub p90_days: Option<Decimal>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    pub auto_match: Vec<Rate>,
    pub disputes: Vec<DisputeReason>,
    pub promises: Vec<Rate>,
    pub dunning: Vec<DunningLevel>,
    pub invoice_to_cash: CycleTime,
    pub order_to_cash: CycleTime,
}

/// The statistics of a tenant as of `as_of` over `period_days`, dunning
/// counted as effective when settled within `dunning_days`.
pub async fn statistics(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    as_of: NaiveDate,
    period_days: u32,
    dunning_days: u32,
) -> Result<Statistics, sqlx::Error> {
    let after = as_of
        .checked_sub_days(Days::new(u64::from(period_days)))
        .unwrap_or(NaiveDate::MIN);
    let auto_match = sqlx::query!(
        r#"SELECT currency AS "currency!: String",
                  count(*) AS "total!",
                  count(*) FILTER (WHERE automatic) AS "automatic!",
                  COALESCE(SUM(amount), 0) AS "amount!",
                  COALESCE(SUM(amount) FILTER (WHERE automatic), 0) AS "automatic_amount!"
           FROM applications
           WHERE tenant = $1 AND applied_at IS NOT NULL AND currency IS NOT NULL
             AND (applied_at AT TIME ZONE 'UTC')::date > $2
             AND (applied_at AT TIME ZONE 'UTC')::date <= $3
             AND (unapplied_at IS NULL OR (unapplied_at AT TIME ZONE 'UTC')::date > $3)
           GROUP BY currency ORDER BY currency"#,
        tenant,
        after,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| Rate {
        currency: row.currency.trim().to_owned(),
        total_count: row.total,
        matching_count: row.automatic,
        total_amount: row.amount,
        matching_amount: row.automatic_amount,
    })
    .collect();
    let disputes = sqlx::query!(
        r#"SELECT reason_code AS "reason_code!", currency AS "currency!: String",
                  count(*) FILTER (WHERE opened_on > $2) AS "opened!",
                  COALESCE(SUM(amount) FILTER (WHERE opened_on > $2), 0) AS "opened_amount!",
                  count(*) FILTER (WHERE resolved_on IS NULL OR resolved_on > $3) AS "open!",
                  count(*) FILTER (WHERE resolved_on > $2 AND resolved_on <= $3) AS "resolved!",
                  AVG(resolved_on - opened_on) FILTER (WHERE resolved_on > $2 AND resolved_on <= $3)
                      AS resolution_days
           FROM (SELECT reason_code, currency, amount,
                        (opened_at AT TIME ZONE 'UTC')::date AS opened_on,
                        (resolved_at AT TIME ZONE 'UTC')::date AS resolved_on
                 FROM disputes
                 WHERE tenant = $1 AND opened_at IS NOT NULL AND reason_code IS NOT NULL
                   AND currency IS NOT NULL AND (opened_at AT TIME ZONE 'UTC')::date <= $3) d
           GROUP BY reason_code, currency ORDER BY reason_code, currency"#,
        tenant,
        after,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| DisputeReason {
        reason_code: row.reason_code,
        currency: row.currency.trim().to_owned(),
        opened: row.opened,
        opened_amount: row.opened_amount,
        open: row.open,
        resolved: row.resolved,
        average_resolution_days: row.resolution_days.map(one_decimal),
    })
    .collect();
    let promises = sqlx::query!(
        r#"SELECT currency AS "currency!: String",
                  count(*) AS "total!",
                  count(*) FILTER (WHERE outcome = 'kept') AS "kept!",
                  COALESCE(SUM(amount), 0) AS "amount!",
                  COALESCE(SUM(amount) FILTER (WHERE outcome = 'kept'), 0) AS "kept_amount!"
           FROM promises
           WHERE tenant = $1 AND outcome IS NOT NULL AND currency IS NOT NULL
             AND (outcome_at AT TIME ZONE 'UTC')::date > $2
             AND (outcome_at AT TIME ZONE 'UTC')::date <= $3
           GROUP BY currency ORDER BY currency"#,
        tenant,
        after,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| Rate {
        currency: row.currency.trim().to_owned(),
        total_count: row.total,
        matching_count: row.kept,
        total_amount: row.amount,
        matching_amount: row.kept_amount,
    })
    .collect();
    let dunning = sqlx::query!(
        r#"WITH settled AS (
               SELECT d.document_id, MAX(m.occurred_on) AS settled_on
               FROM documents d
               JOIN movements m ON m.tenant = d.tenant AND m.item_id = d.document_id
                                AND m.occurred_on <= $3
               WHERE d.tenant = $1
               GROUP BY d.document_id, d.amount
               HAVING d.amount + SUM(m.amount) <= 0
           ),
           notices AS (
               SELECT n.notice_id, n.level, n.currency, n.overdue_amount,
                      bool_and(s.settled_on IS NOT NULL
                               AND s.settled_on <= (n.sent_at AT TIME ZONE 'UTC')::date + $4::int)
                          AS paid
               FROM dunning_notices n
               CROSS JOIN LATERAL UNNEST(n.invoice_ids) AS i(invoice_id)
               LEFT JOIN settled s ON s.document_id = i.invoice_id
               WHERE n.tenant = $1 AND (n.sent_at AT TIME ZONE 'UTC')::date > $2
                 AND (n.sent_at AT TIME ZONE 'UTC')::date <= $3
               GROUP BY n.notice_id, n.level, n.currency, n.overdue_amount
           )
           SELECT level AS "level!", currency AS "currency!: String",
                  count(*) AS "total!", count(*) FILTER (WHERE paid) AS "paid!",
                  COALESCE(SUM(overdue_amount), 0) AS "amount!",
                  COALESCE(SUM(overdue_amount) FILTER (WHERE paid), 0) AS "paid_amount!"
           FROM notices GROUP BY level, currency ORDER BY level, currency"#,
        tenant,
        after,
        as_of,
        i32::try_from(dunning_days).unwrap_or(i32::MAX),
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| DunningLevel {
        level: row.level,
        rate: Rate {
            currency: row.currency.trim().to_owned(),
            total_count: row.total,
            matching_count: row.paid,
            total_amount: row.amount,
            matching_amount: row.paid_amount,
        },
    })
    .collect();
    let invoice_days = sqlx::query_scalar!(
        r#"SELECT (MAX(m.occurred_on) - d.issue_date) AS "days!"
           FROM documents d
           JOIN movements m ON m.tenant = d.tenant AND m.item_id = d.document_id
                            AND m.occurred_on <= $3
           WHERE d.tenant = $1 AND d.kind = 'invoice'
           GROUP BY d.document_id, d.amount, d.issue_date
           HAVING d.amount + SUM(m.amount) <= 0 AND MAX(m.occurred_on) > $2"#,
        tenant,
        after,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?;
    let order_days = sqlx::query_scalar!(
        r#"WITH settled AS (
               SELECT d.document_id, d.order_ids, MAX(m.occurred_on) AS settled_on,
                      d.amount + SUM(m.amount) <= 0 AS paid
               FROM documents d
               JOIN movements m ON m.tenant = d.tenant AND m.item_id = d.document_id
                                AND m.occurred_on <= $3
               WHERE d.tenant = $1 AND d.kind = 'invoice' AND cardinality(d.order_ids) > 0
               GROUP BY d.document_id, d.order_ids, d.amount
           ),
           invoiced AS (
               SELECT d.document_id, o.order_id
               FROM documents d CROSS JOIN LATERAL UNNEST(d.order_ids) AS o(order_id)
               WHERE d.tenant = $1 AND d.kind = 'invoice' AND d.issue_date <= $3
           )
           SELECT (MAX(s.settled_on) - (o.placed_at AT TIME ZONE 'UTC')::date) AS "days!"
           FROM orders o
           JOIN invoiced i ON i.order_id = o.order_id
           LEFT JOIN settled s ON s.document_id = i.document_id
           WHERE o.tenant = $1 AND o.placed_at IS NOT NULL
           GROUP BY o.order_id, o.placed_at
           HAVING bool_and(COALESCE(s.paid, false)) AND MAX(s.settled_on) > $2"#,
        tenant,
        after,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Statistics {
        auto_match,
        disputes,
        promises,
        dunning,
        invoice_to_cash: cycle(invoice_days),
        order_to_cash: cycle(order_days),
    })
}

/// Average, median and 90th percentile (nearest rank) of day counts.
pub fn cycle(mut days: Vec<i32>) -> CycleTime {
    days.sort_unstable();
    let count = i64::try_from(days.len()).unwrap_or(i64::MAX);
    if days.is_empty() {
        return CycleTime::default();
    }
    let total: Decimal = days.iter().map(|day| Decimal::from(*day)).sum();
    let rank = |quantile: u32| -> Option<Decimal> {
        // Nearest rank: the smallest value with at least q% of them at or below it.
        let position = (u64::try_from(days.len()).ok()? * u64::from(quantile)).div_ceil(100);
        let index = usize::try_from(position.max(1) - 1).ok()?;
        days.get(index).map(|day| Decimal::from(*day))
    };
    CycleTime {
        count,
        average_days: total.checked_div(Decimal::from(count)).map(one_decimal),
        median_days: rank(50),
        p90_days: rank(90),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rates_are_percentages_and_absent_over_nothing() {
        let rate = Rate {
            currency: "EUR".into(),
            total_count: 3,
            matching_count: 2,
            total_amount: dec!(600),
            matching_amount: dec!(100),
        };
        assert_eq!(rate.by_count(), Some(dec!(66.67)));
        assert_eq!(rate.by_amount(), Some(dec!(16.67)));
        assert_eq!(Rate::default().by_count(), None);
    }

    #[test]
    fn cycle_times_take_nearest_ranks() {
        let cycle = cycle(vec![40, 10, 30, 20]);
        assert_eq!(cycle.count, 4);
        assert_eq!(cycle.average_days, Some(dec!(25.0)));
        // 50% of 4 = rank 2 (20); 90% of 4 = rank 4 (40).
        assert_eq!(
            (cycle.median_days, cycle.p90_days),
            (Some(dec!(20)), Some(dec!(40)))
        );
        assert_eq!(super::cycle(vec![]).average_days, None);
    }
}
