//! Consolidated invoicing (one invoice per customer, currency and closed
//! period) and the re-evaluation of held drafts. Both are restart-safe by
//! construction: a line is claimed by the invoice that bills it, in the
//! transaction that issues it, so running again finds nothing to bill twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use super::issue::{self, Billed, BillingRun};
use super::{CommandError, IssueOptions};
use crate::store::Tx;
use crate::store::invoices::{self, BillableLine, InvoiceRecord};
use otc_shared::TenantId;

pub const PER_SHIPMENT: &str = "PER_SHIPMENT";
const PER_SHIPMENT_FREQUENCY: &str = "per_shipment";
/// Per-shipment lines are invoiced by the consumer in the transaction that
/// records them; one still open after this long was left behind (its
/// customer was invoiced per period then) and the scheduler bills it.
const STRAGGLER_AGE: TimeDelta = TimeDelta::minutes(1);

/// The period a shipment date falls in for a frequency, and the first day
/// after it (the period is closed once that day has begun).
pub fn period_of(frequency: &str, shipped: NaiveDate) -> Option<(String, NaiveDate)> {
    match frequency {
        "daily" => Some((
            shipped.to_string(),
            shipped.checked_add_signed(TimeDelta::days(1))?,
        )),
        "weekly" => {
            let week = shipped.iso_week();
            let monday =
                NaiveDate::from_isoywd_opt(week.year(), week.week(), chrono::Weekday::Mon)?;
            Some((
                format!("{}-W{:02}", week.year(), week.week()),
                monday.checked_add_signed(TimeDelta::days(7))?,
            ))
        }
        "monthly" => {
            let first = shipped.with_day(1)?;
            Some((
                format!("{}-{:02}", shipped.year(), shipped.month()),
                first.checked_add_months(Months::new(1))?,
            ))
        }
        _ => None,
    }
}

/// Invoices every closed period up to `as_of` for the tenant in scope.
pub async fn run_cycle(
    tx: &mut Tx,
    tenant: &TenantId,
    as_of: NaiveDate,
    now: DateTime<Utc>,
    options: IssueOptions,
    actor: &str,
) -> Result<(u32, u32), CommandError> {
    let before = as_of
        .and_hms_opt(0, 0, 0)
        .map_or(now, |start| start.and_utc());
    let stragglers_before = now - STRAGGLER_AGE;
    let open = invoices::open_lines_due(tx, before, stragglers_before, 20_000).await?;
    let mut groups: BTreeMap<(Uuid, String, String), Vec<BillableLine>> = BTreeMap::new();
    for (line, frequency) in open {
        let group = if frequency == PER_SHIPMENT_FREQUENCY {
            // Keyed by shipment so each becomes its own invoice.
            format!("{PER_SHIPMENT}:{}", line.shipment_id)
        } else {
            let Some((period, end)) = period_of(&frequency, line.shipped_at.date_naive()) else {
                continue;
            };
            if end > as_of {
                continue;
            }
            period
        };
        groups
            .entry((line.customer_id, line.currency.clone(), group))
            .or_default()
            .push(line);
    }
    let runs: Vec<BillingRun> = groups
        .into_iter()
        .map(|((_, _, group), lines)| BillingRun {
            tenant: tenant.clone(),
            lines,
            billing_period: if group.starts_with(PER_SHIPMENT) {
                PER_SHIPMENT.to_owned()
            } else {
                group
            },
            issue_date: as_of,
            now,
            actor: actor.to_owned(),
            draft: None,
            accepted_by: None,
        })
        .collect();
    let (mut issued, mut held) = (0_u32, 0_u32);
    for billed in issue::bill_all(tx, runs, options).await? {
        match billed {
            Billed::Issued(_) => issued = issued.saturating_add(1),
            Billed::Held(_) => held = held.saturating_add(1),
        }
    }
    Ok((issued, held))
}

/// Evaluates a held draft again (after a rule, rate or customer arrived, or
/// when a clerk releases it); `accepted_by` accepts a flagged discrepancy.
pub async fn reevaluate(
    tx: &mut Tx,
    tenant: &TenantId,
    draft: &InvoiceRecord,
    now: DateTime<Utc>,
    options: IssueOptions,
    actor: &str,
    accepted_by: Option<&str>,
) -> Result<Billed, CommandError> {
    let lines = invoices::billable_lines_of_invoice(tx, draft.id).await?;
    let run = BillingRun {
        tenant: tenant.clone(),
        lines,
        billing_period: draft.billing_period.clone(),
        issue_date: now.date_naive(),
        now,
        actor: actor.to_owned(),
        draft: Some(draft.clone()),
        accepted_by: accepted_by.map(str::to_owned),
    };
    issue::bill(tx, run, options).await
}

/// A clerk's release of a held draft.
pub async fn release(
    tx: &mut Tx,
    tenant: &TenantId,
    invoice_id: Uuid,
    accept_discrepancy: bool,
    actor: &str,
    options: IssueOptions,
) -> Result<Billed, CommandError> {
    let draft = invoices::load_for_update(tx, invoice_id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("invoice {invoice_id} does not exist")))?;
    if draft.status != "held" {
        return Err(CommandError::FailedPrecondition(format!(
            "invoice {invoice_id} is {} ({}), not held",
            draft.status,
            draft.number.clone().unwrap_or_default()
        )));
    }
    let accepted_by = accept_discrepancy.then_some(actor);
    reevaluate(
        tx,
        tenant,
        &draft,
        otc_shared::time::now(),
        options,
        actor,
        accepted_by,
    )
    .await
}
