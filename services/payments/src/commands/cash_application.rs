//! Cash application of one receipt: the candidates (customers that may have
//! paid, their open items, items named in the remittance) are read from the
//! projection into a small index, the matching engine ranks proposals, and
//! the best is applied when it reaches the tenant's threshold; otherwise the
//! receipt waits in the exception queue with its suggestions.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::apply::{ApplicationMode, PlannedAllocation, apply_allocations};
use super::{Actor, CommandError};
use crate::domain::suggestions::{self, Suggestion};
use crate::store::policies::PolicyRow;
use crate::store::receipts::ReceiptRow;
use crate::store::{Tx, customers, open_items};
use otc_cash_matching as matching;

/// How many customers a fuzzy payer name is compared with, at most.
const NAME_CANDIDATES: i64 = 8;
/// How many open items of the candidate customers are matched against.
const ITEM_CANDIDATES: i64 = 2_000;

pub fn engine_policy(policy: &PolicyRow) -> matching::Policy {
    matching::Policy {
        auto_apply_threshold: u8::try_from(policy.auto_apply_threshold).unwrap_or(100),
        max_combination: usize::try_from(policy.max_combination).unwrap_or(1),
        short_pay_tolerance_amount: policy.short_pay_tolerance_amount,
        short_pay_tolerance_percent: policy.short_pay_tolerance_percent,
        ..matching::Policy::default()
    }
}

fn engine_receipt(receipt: &ReceiptRow) -> matching::Receipt {
    matching::Receipt {
        amount: receipt.unapplied,
        currency: receipt.currency.clone(),
        value_date: receipt.value_date,
        payer_name: Some(receipt.payer_name.clone()).filter(|name| !name.trim().is_empty()),
        payer_account: Some(receipt.payer_account.clone())
            .filter(|account| !account.trim().is_empty()),
        remittance: receipt.remittance.clone(),
        customer_id: receipt.customer_id,
    }
}

/// Reads what the engine needs to judge this receipt.
async fn candidate_index(
    tx: &mut Tx,
    receipt: &matching::Receipt,
) -> Result<matching::Index, sqlx::Error> {
    let keys = crate::domain::keys::reference_keys(&receipt.remittance);
    let referenced = if keys.is_empty() {
        Vec::new()
    } else {
        open_items::by_keys(tx, &keys).await?
    };
    let mut customer_ids: BTreeSet<Uuid> = referenced.iter().map(|item| item.customer_id).collect();
    customer_ids.extend(receipt.customer_id);
    if let Some(account) = &receipt.payer_account {
        let account = crate::domain::normalise_account(account);
        customer_ids.extend(customers::by_account(tx, &account).await?);
    }
    if let Some(name) = &receipt.payer_name {
        let folded = crate::domain::keys::match_name(name);
        if !folded.is_empty() {
            customer_ids.extend(customers::by_name(tx, &folded, NAME_CANDIDATES).await?);
        }
    }
    let ids: Vec<Uuid> = customer_ids.into_iter().collect();
    let mut index = matching::Index::new();
    for customer in customers::load(tx, &ids).await? {
        index.upsert_customer(matching::Customer {
            customer_id: customer.id,
            name: customer.legal_name,
            bank_accounts: customer.accounts,
            parent_id: None,
        });
    }
    let items = open_items::open_of_customers(tx, &ids, ITEM_CANDIDATES).await?;
    for item in referenced.into_iter().chain(items) {
        index.upsert_invoice(matching::OpenInvoice {
            invoice_id: item.id,
            number: item.number,
            customer_id: item.customer_id,
            currency: item.currency,
            open_amount: item.open_amount,
            issue_date: item.issue_date,
            due_date: item.due_date,
            discount_date: item.discount_date,
            discount_amount: item.discount_amount,
        });
    }
    Ok(index)
}

/// What cash application did with a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    AutoApplied,
    Exception,
}

/// Matches the unapplied cash of a locked receipt and applies it when the
/// best proposal reaches the threshold; the caller writes the receipt back.
pub async fn run(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    receipt: &mut ReceiptRow,
) -> Result<Outcome, CommandError> {
    let engine_policy = engine_policy(policy);
    let engine_receipt = engine_receipt(receipt);
    let index = candidate_index(tx, &engine_receipt).await?;
    let proposals = matching::propose(&index, &engine_receipt, &engine_policy);
    if let Some(best) = proposals
        .first()
        .filter(|best| best.is_automatic(&engine_policy))
        && let Some(customer_id) = best.customer_id
    {
        let planned: Vec<PlannedAllocation> = best
            .allocations
            .iter()
            .map(|allocation| PlannedAllocation {
                invoice_id: allocation.invoice_id,
                currency: None,
                amount: allocation.amount,
                discount: allocation.discount,
                deduction: allocation.deduction,
            })
            .collect();
        let mode = ApplicationMode {
            automatic: true,
            confidence: best.confidence,
            method: best.method.as_str().to_owned(),
        };
        if try_apply(tx, actor, receipt, customer_id, &planned, &mode).await? {
            return Ok(Outcome::AutoApplied);
        }
    }
    let ranked: Vec<Suggestion> = proposals.iter().map(Suggestion::from_proposal).collect();
    receipt.match_state = "exception".to_owned();
    receipt.suggestions = suggestions::to_json(&ranked);
    Ok(Outcome::Exception)
}

/// Applies automatically, or leaves no trace (savepoint) when the items are
/// no longer open for that much because another receipt settled them first.
async fn try_apply(
    tx: &mut Tx,
    actor: &Actor,
    receipt: &mut ReceiptRow,
    customer_id: Uuid,
    planned: &[PlannedAllocation],
    mode: &ApplicationMode,
) -> Result<bool, CommandError> {
    let before = receipt.clone();
    sqlx::query("SAVEPOINT cash_application")
        .execute(&mut **tx)
        .await?;
    match apply_allocations(tx, actor, receipt, customer_id, planned, mode).await {
        Ok(_) => {
            sqlx::query("RELEASE SAVEPOINT cash_application")
                .execute(&mut **tx)
                .await?;
            receipt.match_state = "auto".to_owned();
            receipt.suggestions = suggestions::to_json(&[]);
            Ok(true)
        }
        Err(CommandError::FailedPrecondition(reason)) => {
            tracing::info!(receipt = %receipt.id, %reason, "automatic application no longer fits");
            sqlx::query("ROLLBACK TO SAVEPOINT cash_application")
                .execute(&mut **tx)
                .await?;
            *receipt = before;
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// A receipt whose invoice is known in advance (a direct-debit collection
/// settled by the bank) is applied to it; if that no longer fits, it is
/// matched like any other receipt.
pub async fn apply_known(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    receipt: &mut ReceiptRow,
    customer_id: Uuid,
    known: &PlannedAllocation,
    method: &str,
) -> Result<Outcome, CommandError> {
    let mode = ApplicationMode {
        automatic: true,
        confidence: 100,
        method: method.to_owned(),
    };
    if try_apply(
        tx,
        actor,
        receipt,
        customer_id,
        std::slice::from_ref(known),
        &mode,
    )
    .await?
    {
        return Ok(Outcome::AutoApplied);
    }
    run(tx, actor, policy, receipt).await
}
