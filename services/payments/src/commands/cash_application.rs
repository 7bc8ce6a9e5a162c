//! Cash application of a batch of receipts (one from gRPC or a webhook, a
//! whole statement from a file): the candidates (items named in the
//! remittance, the customers known by the payers' accounts or names, and
//! their open items) are read and locked in a few statements into one index,
//! the matching engine proposes for each receipt in turn (each automatic
//! application lowers what is open for the next), and what reaches the
//! tenant's threshold is applied in one go; the rest waits in the exception
//! queue with its suggestions.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::apply::{ApplicationMode, PendingApplication, PlannedAllocation, write_applications};
use super::{Actor, CommandError};
use crate::domain::keys;
use crate::domain::suggestions::{self, Suggestion};
use crate::store::policies::PolicyRow;
use crate::store::receipts::ReceiptRow;
use crate::store::{Tx, customers, open_items};
use otc_cash_matching as matching;

/// How many customers each fuzzy payer name is compared with, at most.
const NAME_CANDIDATES: i64 = 8;
/// How many open items of each candidate customer are matched against.
const ITEMS_PER_CUSTOMER: i64 = 2_000;

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

/// Reads and locks what the engine needs to judge these receipts.
async fn candidate_index(
    tx: &mut Tx,
    receipts: &[matching::Receipt],
    known_items: &[Uuid],
) -> Result<matching::Index, sqlx::Error> {
    let mut reference_keys: Vec<String> = receipts
        .iter()
        .flat_map(|receipt| keys::reference_keys(&receipt.remittance))
        .collect();
    reference_keys.sort();
    reference_keys.dedup();
    let referenced = if reference_keys.is_empty() {
        Vec::new()
    } else {
        open_items::by_keys(tx, &reference_keys).await?
    };
    let mut customer_ids: BTreeSet<Uuid> = referenced.iter().map(|item| item.customer_id).collect();
    customer_ids.extend(receipts.iter().filter_map(|receipt| receipt.customer_id));
    let mut accounts: Vec<String> = receipts
        .iter()
        .filter_map(|receipt| receipt.payer_account.as_deref())
        .map(crate::domain::normalise_account)
        .collect();
    accounts.sort();
    accounts.dedup();
    let by_account = if accounts.is_empty() {
        Vec::new()
    } else {
        customers::by_accounts(tx, &accounts).await?
    };
    let identified: BTreeSet<&str> = by_account
        .iter()
        .map(|(account, _)| account.as_str())
        .collect();
    customer_ids.extend(by_account.iter().map(|(_, customer)| *customer));
    // Names are searched only for payers no account identifies: the
    // trigram search is the costly lookup.
    let mut names: Vec<String> = receipts
        .iter()
        .filter(|receipt| {
            receipt.customer_id.is_none()
                && !receipt.payer_account.as_deref().is_some_and(|account| {
                    identified.contains(crate::domain::normalise_account(account).as_str())
                })
        })
        .filter_map(|receipt| receipt.payer_name.as_deref())
        .map(keys::match_name)
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    if !names.is_empty() {
        customer_ids.extend(customers::by_names(tx, &names, NAME_CANDIDATES).await?);
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
    let mut item_ids: Vec<Uuid> = referenced.iter().map(|item| item.id).collect();
    item_ids.extend_from_slice(known_items);
    for item in open_items::lock_candidates(tx, &ids, &item_ids, ITEMS_PER_CUSTOMER).await? {
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

/// A receipt whose invoice is known in advance (a direct-debit collection
/// settled by the bank): applied to it when it still fits, otherwise
/// matched like any other receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAllocation {
    pub allocation: PlannedAllocation,
    pub method: &'static str,
}

/// Matches the unapplied cash of locked receipts, applies what reaches the
/// threshold and sets each one's match state; the caller writes them back.
pub async fn run_batch(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    receipts: &mut [ReceiptRow],
    known: &[Option<KnownAllocation>],
) -> Result<Vec<Outcome>, CommandError> {
    let engine_policy = engine_policy(policy);
    let engine_receipts: Vec<matching::Receipt> = receipts.iter().map(engine_receipt).collect();
    let known_items: Vec<Uuid> = known
        .iter()
        .flatten()
        .map(|known| known.allocation.invoice_id)
        .collect();
    let mut index = candidate_index(tx, &engine_receipts, &known_items).await?;
    let mut pending = Vec::new();
    let mut outcomes = Vec::with_capacity(receipts.len());
    for (position, engine_receipt) in engine_receipts.iter().enumerate() {
        let decided = match known.get(position).and_then(Option::as_ref) {
            Some(known) => take_known(&mut index, engine_receipt, known),
            None => None,
        };
        let decided = decided.or_else(|| {
            let proposals = matching::propose(&index, engine_receipt, &engine_policy);
            match proposals.first() {
                Some(best) if best.is_automatic(&engine_policy) => best.customer_id.map(|payer| {
                    let mode = ApplicationMode {
                        automatic: true,
                        confidence: best.confidence,
                        method: best.method.as_str().to_owned(),
                    };
                    let allocations = best
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
                    (payer, allocations, mode)
                }),
                _ => {
                    receipts[position].suggestions = suggestions::to_json(
                        &proposals
                            .iter()
                            .map(Suggestion::from_proposal)
                            .collect::<Vec<_>>(),
                    );
                    None
                }
            }
        });
        let Some((payer, allocations, mode)) = decided else {
            receipts[position].match_state = "exception".to_owned();
            outcomes.push(Outcome::Exception);
            continue;
        };
        for allocation in allocations {
            // What the next receipt of the batch sees as open.
            let open = index.invoice(allocation.invoice_id).map(|item| {
                item.open_amount - allocation.amount - allocation.discount - allocation.deduction
            });
            if let Some(open) = open {
                index.set_open_amount(allocation.invoice_id, open.max(Decimal::ZERO));
            }
            pending.push(PendingApplication {
                receipt: position,
                payer,
                allocation,
                mode: mode.clone(),
                same_customer_only: false,
            });
        }
        receipts[position].match_state = "auto".to_owned();
        receipts[position].suggestions = suggestions::to_json(&[]);
        outcomes.push(Outcome::AutoApplied);
    }
    write_applications(tx, actor, receipts, &pending).await?;
    Ok(outcomes)
}

/// The known allocation, if its item is still open for the amount.
fn take_known(
    index: &mut matching::Index,
    receipt: &matching::Receipt,
    known: &KnownAllocation,
) -> Option<(Uuid, Vec<PlannedAllocation>, ApplicationMode)> {
    let item = index.invoice(known.allocation.invoice_id)?;
    let settles = known.allocation.amount + known.allocation.discount + known.allocation.deduction;
    if item.open_amount < settles
        || item.currency != receipt.currency
        || known.allocation.amount > receipt.amount
    {
        return None;
    }
    let mode = ApplicationMode {
        automatic: true,
        confidence: 100,
        method: known.method.to_owned(),
    };
    Some((item.customer_id, vec![known.allocation.clone()], mode))
}
