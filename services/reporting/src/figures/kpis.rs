//! Receivables KPIs per currency as of a date D over a period of P days
//! ending on D (amounts of different currencies never add up):
//!
//! - receivables AR(D): the open amounts as of D; current AR(D): those not
//!   yet due on D (due on D or later); overdue: the rest.
//! - credit sales of a period: invoices and debit notes issued in it, less
//!   the credit notes issued in it.
//! - DSO, standard: AR(D) / credit sales of the period × P.
//! - DSO, count-back: AR(D) is matched against the credit sales of the
//!   calendar-length months ending on D, latest first: each month whose
//!   sales it exceeds adds its days and is subtracted; the month that
//!   exhausts it adds the share of its days the rest is of its sales. Absent
//!   when 24 months of sales do not cover AR(D).
//! - best possible DSO: current AR(D) / credit sales × P.
//! - average days delinquent: DSO (standard) − best possible DSO.
//! - CEI over the period: (AR(S−1) + credit sales − AR(D)) /
//!   (AR(S−1) + credit sales − current AR(D)) × 100, where S is the
//!   period's first day.
//!
//! Days are rounded half-even to one decimal, CEI to two; a figure whose
//! denominator is zero is absent, never a made-up 0.

use std::collections::BTreeMap;

use chrono::{Days, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::aging;

/// How far back the count-back looks.
pub const COUNT_BACK_MONTHS: u32 = 24;

/// Rounded half-even to `places` and shown with exactly that many (`30.0`).
pub fn fixed(value: Decimal, places: u32) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
    rounded.rescale(places);
    rounded
}

fn days(value: Decimal) -> Decimal {
    fixed(value, 1)
}

/// AR / sales × P; absent without positive sales.
pub fn dso_standard(receivables: Decimal, sales: Decimal, period_days: u32) -> Option<Decimal> {
    if sales <= Decimal::ZERO {
        return None;
    }
    Some(days(
        receivables
            .checked_div(sales)?
            .checked_mul(Decimal::from(period_days))?,
    ))
}

/// The count-back DSO of `receivables` against `months` (sales and length
/// in days of each month, the latest first).
pub fn dso_count_back(receivables: Decimal, months: &[(Decimal, i64)]) -> Option<Decimal> {
    if receivables <= Decimal::ZERO {
        return Some(days(Decimal::ZERO));
    }
    let mut rest = receivables;
    let mut total = Decimal::ZERO;
    for (sales, length) in months {
        let length = Decimal::from(*length);
        if *sales > Decimal::ZERO && rest <= *sales {
            total += rest.checked_div(*sales)?.checked_mul(length)?;
            return Some(days(total));
        }
        rest -= (*sales).max(Decimal::ZERO);
        total += length;
    }
    None
}

/// The collection effectiveness index, in percent.
pub fn cei(
    opening: Decimal,
    sales: Decimal,
    closing: Decimal,
    closing_current: Decimal,
) -> Option<Decimal> {
    let denominator = opening + sales - closing_current;
    if denominator.is_zero() {
        return None;
    }
    let value = (opening + sales - closing)
        .checked_div(denominator)?
        .checked_mul(Decimal::ONE_HUNDRED)?;
    Some(fixed(value, 2))
}

/// One currency's KPIs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CurrencyKpis {
    pub currency: String,
    pub receivables: Decimal,
    pub current_receivables: Decimal,
    pub overdue_receivables: Decimal,
    pub opening_receivables: Decimal,
    pub credit_sales: Decimal,
    pub dso_standard: Option<Decimal>,
    pub dso_count_back: Option<Decimal>,
    pub best_possible_dso: Option<Decimal>,
    pub average_days_delinquent: Option<Decimal>,
    pub cei: Option<Decimal>,
}

/// Open and current receivables per currency as of a date.
async fn receivables(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    as_of: NaiveDate,
    customers: Option<&[Uuid]>,
) -> Result<BTreeMap<String, (Decimal, Decimal)>, sqlx::Error> {
    let items = aging::open_items(conn, tenant, as_of, customers).await?;
    let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for item in items {
        let entry = totals.entry(item.currency.clone()).or_default();
        entry.0 += item.open;
        if item.due_date >= as_of {
            entry.1 += item.open;
        }
    }
    Ok(totals)
}

/// Credit sales per currency and day in (`after`, `until`].
async fn daily_sales(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    after: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<(String, NaiveDate, Decimal)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT currency AS "currency!: String", day AS "day!", SUM(amount) AS "amount!"
           FROM (
               SELECT currency, issue_date AS day, amount FROM documents
               WHERE tenant = $1 AND issue_date > $2 AND issue_date <= $3
               UNION ALL
               SELECT currency, occurred_on AS day, amount FROM movements
               WHERE tenant = $1 AND kind = 'credit_note' AND occurred_on > $2 AND occurred_on <= $3
           ) sales
           GROUP BY currency, day"#,
        tenant,
        after,
        until,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.currency.trim().to_owned(), row.day, row.amount))
        .collect())
}

/// The KPIs of every currency the tenant has receivables or sales in (or of
/// `currency` only).
pub async fn tenant_kpis(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    as_of: NaiveDate,
    period_days: u32,
    currency: Option<&str>,
) -> Result<Vec<CurrencyKpis>, sqlx::Error> {
    let period_start = as_of
        .checked_sub_days(Days::new(u64::from(period_days)))
        .unwrap_or(NaiveDate::MIN);
    let history_start = as_of
        .checked_sub_months(Months::new(COUNT_BACK_MONTHS))
        .unwrap_or(NaiveDate::MIN)
        .min(period_start);
    let closing = receivables(&mut *conn, tenant, as_of, None).await?;
    let opening = receivables(&mut *conn, tenant, period_start, None).await?;
    let sales = daily_sales(&mut *conn, tenant, history_start, as_of).await?;
    let mut currencies: Vec<String> = closing.keys().cloned().collect();
    for (code, _, _) in &sales {
        if !currencies.contains(code) {
            currencies.push(code.clone());
        }
    }
    currencies.sort();
    let months: Vec<(NaiveDate, NaiveDate)> = (0..COUNT_BACK_MONTHS)
        .filter_map(|back| {
            let end = as_of.checked_sub_months(Months::new(back))?;
            let start = as_of.checked_sub_months(Months::new(back + 1))?;
            Some((start, end))
        })
        .collect();
    Ok(currencies
        .into_iter()
        .filter(|code| currency.is_none_or(|wanted| wanted == code))
        .map(|code| {
            let (ar, current) = closing.get(&code).copied().unwrap_or_default();
            let (opening_ar, _) = opening.get(&code).copied().unwrap_or_default();
            let in_currency = sales.iter().filter(|(sale_code, _, _)| *sale_code == code);
            let period_sales: Decimal = in_currency
                .clone()
                .filter(|(_, day, _)| *day > period_start)
                .map(|(_, _, amount)| *amount)
                .sum();
            let monthly: Vec<(Decimal, i64)> = months
                .iter()
                .map(|(start, end)| {
                    let total = in_currency
                        .clone()
                        .filter(|(_, day, _)| day > start && day <= end)
                        .map(|(_, _, amount)| *amount)
                        .sum();
                    (total, (*end - *start).num_days())
                })
                .collect();
            let standard = dso_standard(ar, period_sales, period_days);
            let best = dso_standard(current, period_sales, period_days);
            CurrencyKpis {
                currency: code,
                receivables: ar,
                current_receivables: current,
                overdue_receivables: ar - current,
                opening_receivables: opening_ar,
                credit_sales: period_sales,
                dso_standard: standard,
                dso_count_back: dso_count_back(ar, &monthly),
                best_possible_dso: best,
                average_days_delinquent: standard.zip(best).map(|(dso, best)| dso - best),
                cei: cei(opening_ar, period_sales, ar, current),
            }
        })
        .collect())
}

/// The most points a trend may ask for.
pub const MAX_TREND_MONTHS: u32 = 36;

/// The dates of a trend of `months` points ending on `as_of`, one month
/// apart, oldest first (a month end stays a month end: 31 March, then 28
/// or 29 February).
pub fn trend_dates(as_of: NaiveDate, months: u32) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = (0..months)
        .filter_map(|back| as_of.checked_sub_months(Months::new(back)))
        .collect();
    dates.reverse();
    dates
}

/// The KPIs at each of `dates`.
pub async fn trend(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    dates: &[NaiveDate],
    period_days: u32,
    currency: Option<&str>,
) -> Result<Vec<(NaiveDate, Vec<CurrencyKpis>)>, sqlx::Error> {
    let mut points = Vec::with_capacity(dates.len());
    for date in dates {
        let figures = tenant_kpis(&mut *conn, tenant, *date, period_days, currency).await?;
        points.push((*date, figures));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn trend_dates_step_back_a_month_at_a_time_oldest_first() {
        let day = |text: &str| text.parse::<NaiveDate>().unwrap_or_default();
        assert_eq!(
            trend_dates(day("2026-03-31"), 3),
            vec![day("2026-01-31"), day("2026-02-28"), day("2026-03-31")]
        );
        assert!(trend_dates(day("2026-03-31"), 0).is_empty());
    }

    #[test]
    fn standard_dso_is_receivables_over_sales_times_the_period() {
        // 1,500 owed against 4,500 sold in 90 days: 30 days.
        assert_eq!(dso_standard(dec!(1500), dec!(4500), 90), Some(dec!(30.0)));
        // 1,000 / 3,000 × 91 = 30.333…: 30.3.
        assert_eq!(dso_standard(dec!(1000), dec!(3000), 91), Some(dec!(30.3)));
        assert_eq!(dso_standard(dec!(1000), dec!(0), 90), None);
    }

    #[test]
    fn count_back_walks_the_months_latest_first() {
        // 2,500 owed; last month sold 1,000 (30 days), the month before 2,000
        // (31 days): 30 + 1,500 / 2,000 × 31 = 53.25 → 53.2 (half-even).
        let months = [(dec!(1000), 30), (dec!(2000), 31), (dec!(500), 31)];
        assert_eq!(dso_count_back(dec!(2500), &months), Some(dec!(53.2)));
        // Less than the last month: its share of it.
        assert_eq!(dso_count_back(dec!(250), &months), Some(dec!(7.5)));
        // Exactly the last month: its days.
        assert_eq!(dso_count_back(dec!(1000), &months), Some(dec!(30)));
        assert_eq!(dso_count_back(dec!(0), &months), Some(dec!(0)));
        // Not covered by the months given: absent.
        assert_eq!(dso_count_back(dec!(9000), &months), None);
    }

    #[test]
    fn cei_compares_what_was_collected_with_what_could_have_been() {
        // Opening 1,000, sold 4,000, closing 1,500 of which 1,000 current:
        // (1,000 + 4,000 − 1,500) / (1,000 + 4,000 − 1,000) × 100 = 87.5.
        assert_eq!(
            cei(dec!(1000), dec!(4000), dec!(1500), dec!(1000)),
            Some(dec!(87.50))
        );
        // 2 / 3 = 66.666…: 66.67.
        assert_eq!(cei(dec!(0), dec!(3), dec!(1), dec!(0)), Some(dec!(66.67)));
        assert_eq!(cei(dec!(0), dec!(0), dec!(0), dec!(0)), None);
    }
}
