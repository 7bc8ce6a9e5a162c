//! Customers' payment behaviour as of a date: how long they take to pay
//! (days from the invoice's issue date to the value date of each payment
//! applied to it, weighted by the amount applied), how late (days from the
//! due date, weighted the same way; negative is early), the class that
//! puts them in, and what is open about them (disputes, promises, a credit
//! hold).
//!
//! Classes by average days late: `prompt` (0 or less), `slightly_late`
//! (up to 15), `late` (up to 45), `chronic` (more than 45), `no_history`
//! (no payment applied yet).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

/// A customer's payment behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    pub average_days_to_pay: Option<Decimal>,
    pub average_days_late: Option<Decimal>,
    pub open_disputes: i64,
    pub open_promises: i64,
    pub on_credit_hold: bool,
}

impl Behaviour {
    pub fn class(&self) -> &'static str {
        class_of(self.average_days_late)
    }
}

/// The class of an average number of days late.
pub fn class_of(average_days_late: Option<Decimal>) -> &'static str {
    match average_days_late {
        None => "no_history",
        Some(days) if days <= Decimal::ZERO => "prompt",
        Some(days) if days <= Decimal::from(15) => "slightly_late",
        Some(days) if days <= Decimal::from(45) => "late",
        Some(_) => "chronic",
    }
}

fn one_decimal(value: Decimal) -> Decimal {
    super::kpis::fixed(value, 1)
}

/// The behaviour of the given customers as of a date (every customer asked
/// for gets an entry).
pub async fn of_customers(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    customers: &[Uuid],
    as_of: NaiveDate,
) -> Result<BTreeMap<Uuid, Behaviour>, sqlx::Error> {
    let mut behaviour: BTreeMap<Uuid, Behaviour> = customers
        .iter()
        .map(|id| (*id, Behaviour::default()))
        .collect();
    let payments = sqlx::query!(
        r#"SELECT a.customer_id AS "customer_id!",
                  SUM(a.amount * (a.value_date - d.issue_date)) / SUM(a.amount) AS "days_to_pay!",
                  SUM(a.amount * (a.value_date - d.due_date)) / SUM(a.amount) AS "days_late!"
           FROM applications a
           JOIN documents d ON d.tenant = a.tenant AND d.document_id = a.invoice_id
           WHERE a.tenant = $1 AND a.customer_id = ANY($2) AND a.unapplied_at IS NULL
             AND a.amount > 0 AND a.value_date <= $3
           GROUP BY a.customer_id"#,
        tenant,
        customers,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in payments {
        if let Some(entry) = behaviour.get_mut(&row.customer_id) {
            entry.average_days_to_pay = Some(one_decimal(row.days_to_pay));
            entry.average_days_late = Some(one_decimal(row.days_late));
        }
    }
    let open = sqlx::query!(
        r#"SELECT c.customer_id AS "customer_id!",
                  (SELECT count(*) FROM disputes d
                   WHERE d.tenant = $1 AND d.customer_id = c.customer_id
                     AND d.opened_at IS NOT NULL AND d.resolved_at IS NULL) AS "disputes!",
                  (SELECT count(*) FROM promises p
                   WHERE p.tenant = $1 AND p.customer_id = c.customer_id
                     AND p.recorded_at IS NOT NULL AND p.outcome IS NULL) AS "promises!",
                  COALESCE((SELECT s.held_at IS NOT NULL
                                   AND s.held_at > COALESCE(s.released_at, '-infinity'::timestamptz)
                            FROM credit_status s
                            WHERE s.tenant = $1 AND s.customer_id = c.customer_id), false) AS "held!"
           FROM UNNEST($2::uuid[]) AS c(customer_id)"#,
        tenant,
        customers,
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in open {
        if let Some(entry) = behaviour.get_mut(&row.customer_id) {
            entry.open_disputes = row.disputes;
            entry.open_promises = row.promises;
            entry.on_credit_hold = row.held;
        }
    }
    Ok(behaviour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn classes_follow_the_average_days_late() {
        assert_eq!(class_of(None), "no_history");
        assert_eq!(class_of(Some(dec!(-3.5))), "prompt");
        assert_eq!(class_of(Some(dec!(0))), "prompt");
        assert_eq!(class_of(Some(dec!(0.1))), "slightly_late");
        assert_eq!(class_of(Some(dec!(15))), "slightly_late");
        assert_eq!(class_of(Some(dec!(15.1))), "late");
        assert_eq!(class_of(Some(dec!(45))), "late");
        assert_eq!(class_of(Some(dec!(45.1))), "chronic");
    }
}
