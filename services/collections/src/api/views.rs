//! Rows and assessments as wire messages.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::credit::{Assessment, CreditPosition, LimitSource};
use crate::domain::wire_name;
use crate::store::credit::{HistoryRow, PolicyRow, Terms};
use crate::store::movements::MovementRow;
use crate::store::open_items::{BalanceRow, ItemRow};
use otc_proto::collections as wire;
use otc_shared::money::column_to_proto as money;
use otc_shared::time::to_proto as timestamp;

/// Days past the due date on `today` for what is still owed.
pub fn days_overdue(item: &ItemRow, today: NaiveDate) -> i32 {
    if item.open_amount <= Decimal::ZERO {
        return 0;
    }
    let days = (today - item.due_date).num_days().max(0);
    i32::try_from(days).unwrap_or(i32::MAX)
}

fn item_status(open: Decimal) -> &'static str {
    if open > Decimal::ZERO {
        "OPEN"
    } else if open.is_zero() {
        "SETTLED"
    } else {
        "CREDIT_BALANCE"
    }
}

/// `disputed`: what open disputes contest on the item (zero when none);
/// `promised`: whether an open promise to pay covers it.
pub fn open_item(
    item: &ItemRow,
    today: NaiveDate,
    disputed: Decimal,
    promised: bool,
) -> wire::OpenItem {
    wire::OpenItem {
        item_id: item.id.to_string(),
        kind: wire_name(&item.kind),
        number: item.number.clone(),
        customer_id: item.customer_id.to_string(),
        original_amount: Some(money(item.original_amount, &item.currency)),
        open_amount: Some(money(item.open_amount, &item.currency)),
        functional_open_amount: item
            .functional_open
            .zip(item.functional_currency.as_deref())
            .map(|(amount, currency)| money(amount, currency)),
        issue_date: item.issue_date.to_string(),
        due_date: item.due_date.to_string(),
        days_overdue: days_overdue(item, today),
        status: item_status(item.open_amount).to_owned(),
        disputed_amount: Some(money(disputed, &item.currency)),
        disputed: disputed > Decimal::ZERO,
        promised,
    }
}

pub fn balance(row: &BalanceRow) -> wire::CurrencyBalance {
    wire::CurrencyBalance {
        balance: Some(money(row.balance, &row.currency)),
        functional_balance: row
            .functional_balance
            .zip(row.functional_currency.as_deref())
            .map(|(amount, currency)| money(amount, currency)),
        open_items: u32::try_from(row.open_items).unwrap_or(u32::MAX),
        overdue: Some(money(row.overdue, &row.currency)),
    }
}

pub fn movement(row: &MovementRow) -> wire::LedgerMovement {
    wire::LedgerMovement {
        movement_id: row.id.to_string(),
        item_id: row.item_id.to_string(),
        customer_id: row.customer_id.to_string(),
        kind: wire_name(&row.kind),
        amount: Some(money(row.amount, &row.currency)),
        functional_amount: row
            .functional_amount
            .zip(row.functional_currency.as_deref())
            .map(|(amount, currency)| money(amount, currency)),
        document_id: row.document_id.to_string(),
        event_id: row.event_id.clone(),
        occurred_at: Some(timestamp(row.occurred_at)),
        posted_at: row.posted_at.map(timestamp),
    }
}

pub fn limit_change(row: &HistoryRow) -> wire::CreditLimitChange {
    wire::CreditLimitChange {
        credit_limit: Some(money(row.amount, &row.currency)),
        previous_limit: row
            .previous_amount
            .zip(row.previous_currency.as_deref())
            .map(|(amount, currency)| money(amount, currency)),
        risk_class: row.risk_class.clone().unwrap_or_default(),
        previous_risk_class: row.previous_risk_class.clone().unwrap_or_default(),
        changed_by: row.changed_by.clone(),
        changed_at: Some(timestamp(row.changed_at)),
        reason: row.reason.clone(),
        version: u64::try_from(row.version).unwrap_or(0),
    }
}

pub fn policy(row: &PolicyRow) -> wire::CreditPolicy {
    wire::CreditPolicy {
        overdue_hold_days: u32::try_from(row.overdue_hold_days).unwrap_or(0),
        default_credit_limit: row
            .default_limit_amount
            .zip(row.default_limit_currency.as_deref())
            .map(|(amount, currency)| money(amount, currency)),
        version: u64::try_from(row.version).unwrap_or(0),
        updated_by: row.updated_by.clone(),
        updated_at: row.updated_at.map(timestamp),
    }
}

/// A profile without its history (the caller adds the page it read).
pub fn profile(
    customer_id: uuid::Uuid,
    terms: &Terms,
    position: &CreditPosition,
    standing: &Assessment,
) -> wire::CreditProfile {
    let currency = &standing.currency;
    wire::CreditProfile {
        customer_id: customer_id.to_string(),
        customer_name: terms.customer_name.clone().unwrap_or_default(),
        customer_status: terms.customer_status.clone().unwrap_or_default(),
        credit_limit: position
            .limit
            .as_ref()
            .map(|limit| money(limit.amount, &limit.currency)),
        limit_source: LimitSource::wire_name(position.limit.as_ref().map(|limit| limit.source))
            .to_owned(),
        risk_class: terms.risk_class.clone().unwrap_or_default(),
        version: terms
            .limit_version
            .and_then(|version| u64::try_from(version).ok())
            .unwrap_or(0),
        open_receivables: Some(money(standing.receivables, currency)),
        unbilled_orders: Some(money(standing.unbilled, currency)),
        exposure: Some(money(standing.exposure, currency)),
        available_credit: standing
            .limit
            .map(|limit| money(limit - standing.exposure, currency)),
        overdue_items: u32::try_from(position.overdue_items()).unwrap_or(u32::MAX),
        on_hold: terms.on_hold,
        hold_reason: terms.hold_reason.clone(),
        held_since: terms.held_since.map(timestamp),
        standing: standing.decision.wire_name().to_owned(),
        standing_reason: standing.reason(),
        history: Vec::new(),
        history_page: None,
    }
}
