//! Cash forecast by week, and the accuracy of past forecasts.
//!
//! The forecast made as of F: every item open as of F is expected on its due
//! date moved by its customer's average days late (weighted by amount, over
//! payments with a value date before F; none: the due date), never before
//! F; an item under a promise to pay open on F (recorded by F, no outcome by
//! F) is expected on the promised date instead (never before F). Week w
//! (1 to 13) is [F + 7(w − 1), F + 7w); later items go to a `later` line.
//! Everything it uses is what was known on F, so the forecast of a past F
//! is reproducible, after a rebuild too.
//!
//! Accuracy: for each of the last K week starts F = D − 7k (k = 1..K), the
//! forecast made as of F for its first week, against the cash actually
//! applied with a value date in that week (applications not unapplied by
//! D), per currency; error = actual − forecast, and its share of the actual.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::aging;
use super::kpis::fixed;

/// Weeks forecast.
pub const WEEKS: usize = 13;

/// One currency's forecast: an amount per week and what comes later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyForecast {
    pub currency: String,
    pub weeks: Vec<Decimal>,
    pub later: Decimal,
}

/// The week (0-based; `WEEKS` = later) an amount expected on `expected` falls in.
pub fn week_of(made_on: NaiveDate, expected: NaiveDate) -> usize {
    let days = (expected - made_on).num_days().max(0);
    usize::try_from(days / 7).unwrap_or(WEEKS).min(WEEKS)
}

/// The day an item is expected: its due date moved by the days late,
/// or the promised date; never before the forecast's date.
pub fn expected_on(
    made_on: NaiveDate,
    due: NaiveDate,
    days_late: Option<Decimal>,
    promised: Option<NaiveDate>,
) -> NaiveDate {
    let expected = match promised {
        Some(date) => date,
        None => {
            let shift = days_late
                .map(|days| days.round())
                .and_then(|days| i64::try_from(days).ok())
                .unwrap_or(0);
            due.checked_add_signed(chrono::TimeDelta::days(shift))
                .unwrap_or(due)
        }
    };
    expected.max(made_on)
}

/// The forecast of a tenant made as of `made_on`.
pub async fn forecast(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    made_on: NaiveDate,
) -> Result<Vec<CurrencyForecast>, sqlx::Error> {
    let items = aging::open_items(&mut *conn, tenant, made_on, None).await?;
    let lateness = sqlx::query!(
        r#"SELECT a.customer_id AS "customer_id!",
                  SUM(a.amount * (a.value_date - d.due_date)) / SUM(a.amount) AS "days_late!"
           FROM applications a
           JOIN documents d ON d.tenant = a.tenant AND d.document_id = a.invoice_id
           WHERE a.tenant = $1 AND a.amount > 0 AND a.value_date < $2
             AND (a.unapplied_at IS NULL OR (a.unapplied_at AT TIME ZONE 'UTC')::date >= $2)
           GROUP BY a.customer_id"#,
        tenant,
        made_on,
    )
    .fetch_all(&mut *conn)
    .await?;
    let lateness: HashMap<Uuid, Decimal> = lateness
        .into_iter()
        .map(|row| (row.customer_id, row.days_late))
        .collect();
    let promised = sqlx::query!(
        r#"SELECT i.invoice_id AS "invoice_id!", MIN(p.promised_date) AS "promised_date!"
           FROM promises p CROSS JOIN LATERAL UNNEST(p.invoice_ids) AS i(invoice_id)
           WHERE p.tenant = $1 AND p.promised_date IS NOT NULL
             AND (p.recorded_at AT TIME ZONE 'UTC')::date <= $2
             AND (p.outcome_at IS NULL OR (p.outcome_at AT TIME ZONE 'UTC')::date > $2)
           GROUP BY i.invoice_id"#,
        tenant,
        made_on,
    )
    .fetch_all(&mut *conn)
    .await?;
    let promised: HashMap<Uuid, NaiveDate> = promised
        .into_iter()
        .map(|row| (row.invoice_id, row.promised_date))
        .collect();
    let mut currencies: BTreeMap<String, CurrencyForecast> = BTreeMap::new();
    for item in items.iter().filter(|item| item.open > Decimal::ZERO) {
        let expected = expected_on(
            made_on,
            item.due_date,
            lateness.get(&item.customer_id).copied(),
            promised.get(&item.document_id).copied(),
        );
        let entry = currencies
            .entry(item.currency.clone())
            .or_insert_with(|| CurrencyForecast {
                currency: item.currency.clone(),
                weeks: vec![Decimal::ZERO; WEEKS],
                later: Decimal::ZERO,
            });
        match entry.weeks.get_mut(week_of(made_on, expected)) {
            Some(week) => *week += item.open,
            None => entry.later += item.open,
        }
    }
    Ok(currencies.into_values().collect())
}

/// One past week: what was forecast for it as of its start, and what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accuracy {
    pub week_start: NaiveDate,
    pub currency: String,
    pub forecast: Decimal,
    pub actual: Decimal,
    /// actual − forecast.
    pub error: Decimal,
    /// |error| / actual in percent, two decimals; absent when nothing came.
    pub error_percent: Option<Decimal>,
}

/// The accuracy of the forecasts made at each of the last `weeks` week starts.
pub async fn accuracy(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    as_of: NaiveDate,
    weeks: u32,
) -> Result<Vec<Accuracy>, sqlx::Error> {
    let mut rows = Vec::new();
    for back in (1..=weeks).rev() {
        let Some(start) = as_of.checked_sub_days(Days::new(u64::from(back) * 7)) else {
            continue;
        };
        let end = start.checked_add_days(Days::new(7)).unwrap_or(start);
        let made = forecast(&mut *conn, tenant, start).await?;
        let actual = sqlx::query!(
            r#"SELECT currency AS "currency!: String", SUM(amount) AS "amount!"
               FROM applications
               WHERE tenant = $1 AND currency IS NOT NULL AND amount IS NOT NULL
                 AND value_date >= $2 AND value_date < $3
                 AND (unapplied_at IS NULL OR (unapplied_at AT TIME ZONE 'UTC')::date > $4)
               GROUP BY currency"#,
            tenant,
            start,
            end,
            as_of,
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut by_currency: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for line in &made {
            by_currency.entry(line.currency.clone()).or_default().0 +=
                line.weeks.first().copied().unwrap_or_default();
        }
        for row in actual {
            by_currency
                .entry(row.currency.trim().to_owned())
                .or_default()
                .1 += row.amount;
        }
        for (currency, (forecast, actual)) in by_currency {
            let error = actual - forecast;
            let error_percent = if actual.is_zero() {
                None
            } else {
                error
                    .abs()
                    .checked_div(actual)
                    .and_then(|share| share.checked_mul(Decimal::ONE_HUNDRED))
                    .map(|percent| fixed(percent, 2))
            };
            rows.push(Accuracy {
                week_start: start,
                currency,
                forecast,
                actual,
                error,
                error_percent,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn weeks_start_on_the_forecast_day() {
        let made = day("2026-07-01");
        assert_eq!(week_of(made, day("2026-07-01")), 0);
        assert_eq!(week_of(made, day("2026-07-07")), 0);
        assert_eq!(week_of(made, day("2026-07-08")), 1);
        assert_eq!(week_of(made, day("2026-09-29")), 12);
        assert_eq!(week_of(made, day("2026-09-30")), WEEKS);
        assert_eq!(week_of(made, day("2026-06-01")), 0);
    }

    #[test]
    fn items_are_expected_late_by_their_customers_habit_or_when_promised() {
        let made = day("2026-07-01");
        // Due 10 July, customer pays 4.6 days late on average: 15 July.
        assert_eq!(
            expected_on(made, day("2026-07-10"), Some(dec!(4.6)), None),
            day("2026-07-15")
        );
        // Early payers pay early, but not before today.
        assert_eq!(
            expected_on(made, day("2026-07-03"), Some(dec!(-5)), None),
            made
        );
        // A promise wins over the habit.
        assert_eq!(
            expected_on(
                made,
                day("2026-06-01"),
                Some(dec!(30)),
                Some(day("2026-07-20"))
            ),
            day("2026-07-20")
        );
        assert_eq!(
            expected_on(made, day("2026-08-01"), None, None),
            day("2026-08-01")
        );
    }
}
