//! Receipts and applications as the API shows them.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::CommandError;
use crate::domain::{self, suggestions};
use crate::store::Tx;
use crate::store::applications::{self, ApplicationRow};
use crate::store::receipts::{self, ReceiptRow};
use otc_proto::payments as api;
use otc_shared::money::column_to_proto as money;

pub fn application(row: &ApplicationRow) -> api::Application {
    api::Application {
        application_id: row.id.to_string(),
        receipt_id: row.receipt_id.to_string(),
        customer_id: row.customer_id.to_string(),
        invoice_id: row.invoice_id.to_string(),
        invoice_number: row.invoice_number.clone(),
        amount: Some(money(row.amount, &row.currency)),
        discount: Some(money(row.discount, &row.currency)),
        deduction: Some(money(row.deduction, &row.currency)),
        automatic: row.automatic,
        confidence: u32::try_from(row.confidence).unwrap_or_default(),
        method: row.method.clone(),
        applied_by: row.applied_by.clone(),
        applied_at: Some(otc_shared::time::to_proto(row.applied_at)),
        reversed: row.reversed_at.is_some(),
        reversal_reason: row.reversal_reason.clone().unwrap_or_default(),
    }
}

fn suggestion(
    rank: usize,
    currency: &str,
    suggestion: &suggestions::Suggestion,
) -> api::Suggestion {
    api::Suggestion {
        rank: u32::try_from(rank).unwrap_or(u32::MAX),
        customer_id: suggestion
            .customer_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        allocations: suggestion
            .allocations
            .iter()
            .map(|allocation| api::Allocation {
                invoice_id: allocation.invoice_id.to_string(),
                invoice_number: allocation.invoice_number.clone(),
                amount: Some(money(allocation.amount, currency)),
                discount: Some(money(allocation.discount, currency)),
                deduction: Some(money(allocation.deduction, currency)),
            })
            .collect(),
        unapplied: Some(money(suggestion.unapplied, currency)),
        confidence: u32::from(suggestion.confidence),
        method: suggestion.method.clone(),
        explanation: suggestion.explanation.clone(),
    }
}

pub fn receipt(row: &ReceiptRow, applications: &[ApplicationRow]) -> api::Receipt {
    let currency = &row.currency;
    api::Receipt {
        receipt_id: row.id.to_string(),
        customer_id: row.customer_id.map(|id| id.to_string()).unwrap_or_default(),
        channel: domain::channel_of(&row.channel).into(),
        amount: Some(money(row.amount, currency)),
        value_date: row.value_date.to_string(),
        payer_name: row.payer_name.clone(),
        payer_account: row.payer_account.clone(),
        remittance_text: row.remittance.clone(),
        external_reference: row.external_reference.clone(),
        status: domain::receipt_status(row.applied, row.unapplied, row.refunded, row.reversed)
            .to_owned(),
        match_state: row.match_state.to_uppercase(),
        applied: Some(money(row.applied, currency)),
        unapplied: Some(money(row.unapplied, currency)),
        refunded: Some(money(row.refunded, currency)),
        applications: applications.iter().map(application).collect(),
        suggestions: suggestions::from_json(&row.suggestions)
            .iter()
            .enumerate()
            .map(|(index, item)| suggestion(index + 1, currency, item))
            .collect(),
        received_at: Some(otc_shared::time::to_proto(row.received_at)),
        statement_id: row
            .statement_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        reversal_reason: row.reversal_reason.clone().unwrap_or_default(),
    }
}

/// Receipts with their applications, in the order given.
pub async fn receipts_with_applications(
    tx: &mut Tx,
    rows: &[ReceiptRow],
) -> Result<Vec<api::Receipt>, CommandError> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut by_receipt: BTreeMap<Uuid, Vec<ApplicationRow>> = BTreeMap::new();
    if !ids.is_empty() {
        for application in applications::list(tx, Some(&ids), None, None, i64::MAX, None).await? {
            by_receipt
                .entry(application.receipt_id)
                .or_default()
                .push(application);
        }
    }
    Ok(rows
        .iter()
        .map(|row| receipt(row, by_receipt.get(&row.id).map_or(&[][..], Vec::as_slice)))
        .collect())
}

pub async fn receipt_by_id(tx: &mut Tx, id: Uuid) -> Result<api::Receipt, CommandError> {
    let row = receipts::get(tx, id)
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("no receipt {id}")))?;
    let mut views = receipts_with_applications(tx, std::slice::from_ref(&row)).await?;
    views
        .pop()
        .ok_or_else(|| CommandError::NotFound(format!("no receipt {id}")))
}
