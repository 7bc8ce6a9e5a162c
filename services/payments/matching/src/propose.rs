//! Runs the strategies for one receipt, ranks their proposals, guards against ambiguity
//! and checks the money invariants of every proposal.

use rust_decimal::Decimal;

use crate::by_amount;
use crate::by_reference;
use crate::draft::Draft;
use crate::index::Index;
use crate::model::{Method, Policy, Proposal, Receipt};
use crate::payer::{Payer, identify};
use crate::references::extract;

/// Proposals this close to the best one with other allocations make it ambiguous ...
const AMBIGUITY_GAP: i32 = 4;
/// ... and cap it here, below any sensible automatic threshold.
const AMBIGUOUS_CAP: i32 = 80;
/// A reference proposal this strong makes the amount-only search pointless.
const SETTLED: i32 = 95;

/// Everything the strategies need about one receipt.
pub(crate) struct Ctx<'a> {
    pub index: &'a Index,
    pub receipt: &'a Receipt,
    pub policy: &'a Policy,
    /// The receipt currency in the index.
    pub cur: u16,
    pub payer: Payer,
}

/// Ranked proposals for a receipt, best first, at most `policy.max_suggestions`; empty
/// when nothing is plausible (or the amount is not positive).
pub fn propose(index: &Index, receipt: &Receipt, policy: &Policy) -> Vec<Proposal> {
    if receipt.amount <= Decimal::ZERO || policy.max_suggestions == 0 {
        return Vec::new();
    }
    let payer = identify(index, receipt);
    let Some(cur) = index.currency_id(&receipt.currency) else {
        return payer_only(index, receipt, &payer).into_iter().collect();
    };
    let ctx = Ctx {
        index,
        receipt,
        policy,
        cur,
        payer,
    };
    let mut drafts = Vec::new();
    by_reference::proposals(&ctx, &extract(&receipt.remittance), &mut drafts);
    let settled = drafts.iter().any(|d| d.confidence >= SETTLED);
    if !settled {
        by_amount::proposals(&ctx, &mut drafts);
    }
    let proposals = rank(drafts, policy)
        .into_iter()
        .map(|d| d.finish(index, receipt, &ctx.payer.notes))
        .chain(payer_only(index, receipt, &ctx.payer))
        .take(policy.max_suggestions)
        .collect::<Vec<_>>();
    for p in &proposals {
        debug_assert_eq!(check_proposal(index, receipt, p), Ok(()), "{p:?}");
    }
    proposals
}

/// Cash on account of an identified payer: the last resort, never automatic.
fn payer_only(index: &Index, receipt: &Receipt, payer: &Payer) -> Option<Proposal> {
    let who = payer.identified.as_ref()?;
    let confidence = if payer.is_strong() { 50 } else { 40 };
    let mut draft = Draft::new(Some(who.slot), Method::PayerOnly, confidence);
    draft
        .notes
        .push("no open invoice reconciles with the amount: cash on account".to_string());
    Some(draft.finish(index, receipt, &payer.notes))
}

/// Best first, duplicates dropped, close alternatives capped as ambiguous.
fn rank(mut drafts: Vec<Draft>, policy: &Policy) -> Vec<Draft> {
    drafts.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then(a.method.cmp(&b.method))
            .then_with(|| first_number(a).cmp(first_number(b)))
            .then_with(|| a.allocations.len().cmp(&b.allocations.len()))
    });
    let mut kept: Vec<Draft> = Vec::with_capacity(drafts.len());
    for d in drafts {
        if d.allocations.is_empty() {
            continue;
        }
        // The same application found another way: one proposal, with both explanations.
        match kept.iter_mut().find(|k| k.same_as(&d)) {
            Some(k) => {
                let fresh: Vec<String> = d
                    .notes
                    .into_iter()
                    .filter(|n| !k.notes.contains(n))
                    .collect();
                k.notes.extend(fresh);
            }
            None => kept.push(d),
        }
    }
    if let [best, second, ..] = kept.as_mut_slice() {
        let close = second.confidence >= best.confidence - AMBIGUITY_GAP;
        if close && best.confidence > AMBIGUOUS_CAP {
            let note = format!(
                "ambiguous: another proposal ({}) fits almost as well",
                second.method
            );
            best.confidence = AMBIGUOUS_CAP;
            second.confidence = second.confidence.min(AMBIGUOUS_CAP - 1);
            best.notes.push(note);
        }
    }
    kept.truncate(policy.max_suggestions);
    kept
}

fn first_number(d: &Draft) -> &str {
    d.allocations
        .first()
        .map_or("", |a| a.invoice_number.as_str())
}

/// Verifies the money invariants of a proposal against the index it came from:
/// allocations plus unapplied equal the receipt, nothing negative, nothing beyond an
/// invoice's open amount, same currency, no invoice twice.
pub fn check_proposal(index: &Index, receipt: &Receipt, proposal: &Proposal) -> Result<(), String> {
    if proposal.applied() + proposal.unapplied != receipt.amount {
        return Err("allocations and unapplied do not add up to the receipt amount".to_string());
    }
    if proposal.unapplied < Decimal::ZERO {
        return Err("negative unapplied amount".to_string());
    }
    for (i, a) in proposal.allocations.iter().enumerate() {
        if a.amount < Decimal::ZERO || a.discount < Decimal::ZERO || a.deduction < Decimal::ZERO {
            return Err(format!("negative amount on {}", a.invoice_number));
        }
        let Some(inv) = index.invoice(a.invoice_id) else {
            return Err(format!("{} is not in the index", a.invoice_number));
        };
        if a.settled() > inv.open_amount {
            return Err(format!(
                "{} settles more than its open amount",
                a.invoice_number
            ));
        }
        if !inv
            .currency
            .trim()
            .eq_ignore_ascii_case(receipt.currency.trim())
        {
            return Err(format!("{} is in another currency", a.invoice_number));
        }
        if proposal.allocations[..i]
            .iter()
            .any(|b| b.invoice_id == a.invoice_id)
        {
            return Err(format!("{} is allocated twice", a.invoice_number));
        }
    }
    Ok(())
}
