//! A customer's payment history: its invoices and debit notes of a range of
//! issue dates, each with every movement of its open amount up to a date,
//! its status then, the day it was settled and how long that took.
//!
//! Settlement is the last day the open amount reached zero; days to pay and
//! days late run from the issue and due dates to the latest value date of
//! the cash applied to the item by then (the day the customer paid, not the
//! day the payment was matched). An item settled by credit notes and
//! write-offs alone is `credited` and has no days to pay.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

/// One change of an item's open amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub kind: String,
    /// Signed: negative lowers what is owed.
    pub amount: Decimal,
    pub occurred_on: NaiveDate,
    /// For cash and discounts: the receipt's value date.
    pub value_date: Option<NaiveDate>,
    pub source_id: Uuid,
}

/// An item and how it was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemHistory {
    pub document_id: Uuid,
    pub number: String,
    pub kind: String,
    pub currency: String,
    pub amount: Decimal,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub open: Decimal,
    pub status: &'static str,
    pub settled_on: Option<NaiveDate>,
    pub days_to_pay: Option<i64>,
    pub days_late: Option<i64>,
    pub movements: Vec<Movement>,
}

/// The open amount, status and settlement of an item from its movements
/// (in date order) as of a date.
pub fn settle(item: &mut ItemHistory, as_of: NaiveDate) {
    let mut open = item.amount;
    let mut settled_on = None;
    for movement in &item.movements {
        let was_open = !open.is_zero();
        open += movement.amount;
        if open.is_zero() {
            if was_open {
                settled_on = Some(movement.occurred_on);
            }
        } else {
            settled_on = None;
        }
    }
    item.open = open;
    item.settled_on = settled_on;
    let paid_on = settled_on.and_then(|_| {
        item.movements
            .iter()
            .filter(|movement| movement.kind == "cash_applied")
            .filter_map(|movement| movement.value_date)
            .max()
    });
    item.days_to_pay = paid_on.map(|day| (day - item.issue_date).num_days());
    item.days_late = paid_on.map(|day| (day - item.due_date).num_days());
    item.status = match (settled_on, item.days_late) {
        (Some(_), Some(late)) if late > 0 => "paid_late",
        (Some(_), Some(_)) => "paid",
        (Some(_), None) => "credited",
        (None, _) if item.due_date < as_of => "overdue",
        (None, _) => "open",
    };
}

/// The customer's items issued in [`from`, `to`] with their movements up to
/// `as_of`, by issue date then number.
pub async fn of_customer(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    customer: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    as_of: NaiveDate,
) -> Result<Vec<ItemHistory>, sqlx::Error> {
    let documents = sqlx::query!(
        r#"SELECT document_id, number, kind, currency AS "currency!: String", amount,
                  issue_date, due_date
           FROM documents
           WHERE tenant = $1 AND customer_id = $2 AND issue_date BETWEEN $3 AND $4
             AND issue_date <= $5
           ORDER BY issue_date, number, document_id"#,
        tenant,
        customer,
        from,
        to,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<Uuid> = documents.iter().map(|row| row.document_id).collect();
    let movements = sqlx::query!(
        r#"SELECT m.item_id, m.kind, m.amount, m.occurred_on, m.source_id, a.value_date
           FROM movements m
           LEFT JOIN applications a
             ON a.tenant = m.tenant AND a.application_id = m.source_id
            AND m.kind IN ('cash_applied', 'cash_unapplied', 'discount_taken', 'discount_unapplied')
           WHERE m.tenant = $1 AND m.item_id = ANY($2) AND m.occurred_on <= $3
           ORDER BY m.item_id, m.occurred_on, m.occurred_at, m.event_id, m.kind"#,
        tenant,
        &ids,
        as_of,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut items: Vec<ItemHistory> = documents
        .into_iter()
        .map(|row| ItemHistory {
            document_id: row.document_id,
            number: row.number,
            kind: row.kind,
            currency: row.currency.trim().to_owned(),
            amount: row.amount,
            issue_date: row.issue_date,
            due_date: row.due_date,
            open: row.amount,
            status: "open",
            settled_on: None,
            days_to_pay: None,
            days_late: None,
            movements: Vec::new(),
        })
        .collect();
    let index: std::collections::HashMap<Uuid, usize> = items
        .iter()
        .enumerate()
        .map(|(position, item)| (item.document_id, position))
        .collect();
    for row in movements {
        if let Some(item) = index
            .get(&row.item_id)
            .and_then(|position| items.get_mut(*position))
        {
            item.movements.push(Movement {
                kind: row.kind,
                amount: row.amount,
                occurred_on: row.occurred_on,
                value_date: row.value_date,
                source_id: row.source_id,
            });
        }
    }
    for item in &mut items {
        settle(item, as_of);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    fn item(amount: Decimal, movements: Vec<Movement>) -> ItemHistory {
        ItemHistory {
            document_id: Uuid::nil(),
            number: "INV-1".into(),
            kind: "invoice".into(),
            currency: "EUR".into(),
            amount,
            issue_date: day("2026-03-01"),
            due_date: day("2026-03-31"),
            open: amount,
            status: "open",
            settled_on: None,
            days_to_pay: None,
            days_late: None,
            movements,
        }
    }

    fn moved(kind: &str, amount: Decimal, on: &str, value_date: Option<&str>) -> Movement {
        Movement {
            kind: kind.into(),
            amount,
            occurred_on: day(on),
            value_date: value_date.map(day),
            source_id: Uuid::nil(),
        }
    }

    #[test]
    fn an_item_paid_in_two_parts_is_settled_on_the_last_and_late_by_its_value_date() {
        let mut paid = item(
            dec!(100),
            vec![
                moved("cash_applied", dec!(-40), "2026-03-20", Some("2026-03-19")),
                // Matched on the 12th, paid (value date) on the 9th: 9 days late.
                moved("cash_applied", dec!(-60), "2026-04-12", Some("2026-04-09")),
            ],
        );
        settle(&mut paid, day("2026-06-30"));
        assert_eq!(paid.open, dec!(0));
        assert_eq!(paid.settled_on, Some(day("2026-04-12")));
        assert_eq!(paid.days_to_pay, Some(39));
        assert_eq!(paid.days_late, Some(9));
        assert_eq!(paid.status, "paid_late");
    }

    #[test]
    fn an_unapplication_reopens_the_item_and_a_credit_note_settles_without_cash() {
        let mut reopened = item(
            dec!(100),
            vec![
                moved("cash_applied", dec!(-100), "2026-03-20", Some("2026-03-20")),
                moved(
                    "cash_unapplied",
                    dec!(100),
                    "2026-03-25",
                    Some("2026-03-20"),
                ),
            ],
        );
        settle(&mut reopened, day("2026-03-30"));
        assert_eq!(reopened.open, dec!(100));
        assert_eq!(reopened.settled_on, None);
        assert_eq!(reopened.status, "open");
        settle(&mut reopened, day("2026-04-01"));
        assert_eq!(reopened.status, "overdue");

        let mut credited = item(
            dec!(100),
            vec![moved("credit_note", dec!(-100), "2026-03-10", None)],
        );
        settle(&mut credited, day("2026-06-30"));
        assert_eq!(credited.status, "credited");
        assert_eq!(credited.days_to_pay, None);

        let mut early = item(
            dec!(100),
            vec![moved(
                "cash_applied",
                dec!(-100),
                "2026-03-29",
                Some("2026-03-28"),
            )],
        );
        settle(&mut early, day("2026-06-30"));
        assert_eq!(early.status, "paid");
        assert_eq!(early.days_late, Some(-3));
        assert_eq!(early.days_to_pay, Some(27));
    }
}
