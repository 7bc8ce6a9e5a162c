//! Proposals from the amount alone, within the payer's group: exact single invoice,
//! early-payment discount, short pay within tolerance, then a combination of invoices.
//! Without a payer only low-confidence suggestions from the whole ledger.

use rust_decimal::Decimal;

use crate::combination;
use crate::draft::{Draft, allocation, full, money, numbers};
use crate::index::{InvoiceRec, OpenEntry};
use crate::model::Method;
use crate::propose::Ctx;
use crate::reconcile::discount_available;

/// Combination candidates: the oldest open invoices of the group below the amount.
const COMBINATION_CANDIDATES: usize = 25;
/// Name candidates (not identified) whose invoices are still searched for the amount.
const NAME_CANDIDATES: usize = 3;

/// Confidence when the payer is strong (channel, account) or only named.
fn by_evidence(ctx: &Ctx<'_>, strong: i32, named: i32) -> i32 {
    let score = ctx.payer.identified.as_ref().map_or(0, |c| c.score);
    match (ctx.payer.is_strong(), score >= 95) {
        (true, _) => strong,
        (false, true) => named,
        (false, false) => named - 3,
    }
}

pub(crate) fn proposals(ctx: &Ctx<'_>, out: &mut Vec<Draft>) {
    match ctx.payer.identified.as_ref().map(|c| c.slot) {
        Some(payer) => for_payer(ctx, payer, out),
        None => without_payer(ctx, out),
    }
}

fn for_payer(ctx: &Ctx<'_>, payer: u32, out: &mut Vec<Draft>) {
    let start = out.len();
    if exact(ctx, payer, out) {
        return;
    }
    let same_amount = out.len() > start;
    let start = out.len();
    discount(ctx, payer, out);
    tolerance(ctx, payer, out);
    let singles = out.len() - start;
    combination(ctx, payer, out);
    // One invoice less a discount or deduction, or several in full: two different stories
    // for the same amount, so neither may apply by itself.
    if singles > 0 && out.len() > start + singles {
        cap(
            &mut out[start..],
            "a single invoice and a combination both explain the amount",
        );
    }
    if same_amount {
        cap(
            &mut out[start..],
            "open invoices with exactly this amount exist as well",
        );
    }
    // In a large account a deduction window or a combination fits by chance too easily.
    let open: usize = ctx
        .payer
        .family
        .iter()
        .map(|m| ctx.index.open_of(*m, ctx.cur).len())
        .sum();
    if open > COMBINATION_CANDIDATES {
        let loose =
            |d: &&mut Draft| matches!(d.method, Method::ShortPayTolerance | Method::Combination);
        for draft in out[start..].iter_mut().filter(loose) {
            draft.confidence = draft.confidence.min(80);
            draft.notes.push(
                "the payer has many open invoices: a fit by deduction or combination may be chance"
                    .to_string(),
            );
        }
    }
}

fn cap(drafts: &mut [Draft], why: &str) {
    for draft in drafts {
        draft.confidence = draft.confidence.min(80);
        draft.notes.push(why.to_string());
    }
}

/// The group's open invoices in the receipt currency with an amount in `lo..=hi`, oldest
/// due first. Each member's list is sorted by amount: no scan of large customers.
pub(crate) fn group_between<'a>(ctx: &'a Ctx<'_>, lo: Decimal, hi: Decimal) -> Vec<&'a InvoiceRec> {
    let mut found: Vec<&InvoiceRec> = Vec::new();
    for member in &ctx.payer.family {
        let open = ctx.index.open_of(*member, ctx.cur);
        let from = open.partition_point(|e| e.amount < lo);
        let to = open.partition_point(|e| e.amount <= hi);
        found.extend(
            open[from..to.max(from)]
                .iter()
                .filter_map(|e: &OpenEntry| ctx.index.rec(e.slot)),
        );
    }
    found.sort_by(|a, b| oldest_first(a, b));
    found
}

fn oldest_first(a: &InvoiceRec, b: &InvoiceRec) -> std::cmp::Ordering {
    a.inv
        .due_date
        .cmp(&b.inv.due_date)
        .then_with(|| a.inv.number.cmp(&b.inv.number))
}

/// One invoice with exactly the amount; several with it: the oldest due, not automatic.
/// True when a unique match settles the question.
fn exact(ctx: &Ctx<'_>, payer: u32, out: &mut Vec<Draft>) -> bool {
    let amount = ctx.receipt.amount;
    let hits = group_between(ctx, amount, amount);
    let text = money(amount, &ctx.receipt.currency);
    match hits.as_slice() {
        [] => false,
        [only] => {
            let note = format!(
                "amount equals the open amount {text} of {}",
                only.inv.number
            );
            let draft = Draft::new(Some(payer), Method::ExactAmount, by_evidence(ctx, 95, 91));
            out.push(draft.with(vec![full(only)], vec![note]));
            true
        }
        several => {
            for (rank, rec) in several.iter().take(3).enumerate() {
                let note = format!(
                    "{} open invoices have the amount {text}; {} is the {} due",
                    several.len(),
                    rec.inv.number,
                    if rank == 0 { "oldest" } else { "next" }
                );
                let confidence = by_evidence(ctx, 75, 70) - i32::try_from(rank).unwrap_or(0) * 5;
                out.push(
                    Draft::new(Some(payer), Method::ExactAmount, confidence)
                        .with(vec![full(rec)], vec![note]),
                );
            }
            false
        }
    }
}

fn discount(ctx: &Ctx<'_>, payer: u32, out: &mut Vec<Draft>) {
    let receipt = ctx.receipt;
    let mut hits: Vec<&InvoiceRec> = ctx
        .payer
        .family
        .iter()
        .flat_map(|m| ctx.index.customer(*m).discounted.iter())
        .filter_map(|s| ctx.index.rec(*s))
        .filter(|r| r.cur == ctx.cur)
        .filter(|r| {
            let d = discount_available(r, receipt);
            d > Decimal::ZERO && r.inv.open_amount - d == receipt.amount
        })
        .collect();
    hits.sort_by(|a, b| oldest_first(a, b));
    let confidence = if hits.len() == 1 {
        by_evidence(ctx, 93, 88)
    } else {
        by_evidence(ctx, 72, 68)
    };
    for rec in hits.iter().take(3) {
        let d = discount_available(rec, receipt);
        let until = rec
            .inv
            .discount_date
            .map(|x| x.to_string())
            .unwrap_or_default();
        let note = format!(
            "amount equals open {} of {} less the early-payment discount {} (valid until {until})",
            money(rec.inv.open_amount, &receipt.currency),
            rec.inv.number,
            money(d, &receipt.currency)
        );
        let alloc = allocation(rec, rec.inv.open_amount - d, d, Decimal::ZERO);
        out.push(
            Draft::new(Some(payer), Method::EarlyPaymentDiscount, confidence)
                .with(vec![alloc], vec![note]),
        );
    }
}

fn tolerance(ctx: &Ctx<'_>, payer: u32, out: &mut Vec<Draft>) {
    let amount = ctx.receipt.amount;
    let hits: Vec<&InvoiceRec> = group_between(ctx, amount, tolerance_ceiling(ctx))
        .into_iter()
        .filter(|r| {
            r.inv.open_amount > amount
                && r.inv.open_amount - amount <= ctx.policy.tolerance_for(r.inv.open_amount)
        })
        .collect();
    for rec in hits.iter().take(3) {
        let short = rec.inv.open_amount - amount;
        // Bank charges stay within the absolute tolerance; a percentage window on a large
        // invoice is wide enough to catch an unrelated amount.
        let confidence = match (hits.len(), short <= ctx.policy.short_pay_tolerance_amount) {
            (1, true) => by_evidence(ctx, 90, 85),
            (1, false) => by_evidence(ctx, 86, 82),
            _ => by_evidence(ctx, 70, 65),
        };
        let cur = &ctx.receipt.currency;
        let note = format!(
            "amount is {} short of the open {} of {}, within the tolerance: deduction for a dispute",
            money(short, cur),
            money(rec.inv.open_amount, cur),
            rec.inv.number
        );
        let alloc = allocation(rec, amount, Decimal::ZERO, short);
        out.push(
            Draft::new(Some(payer), Method::ShortPayTolerance, confidence)
                .with(vec![alloc], vec![note]),
        );
    }
}

/// The largest open amount a short payment of the receipt amount may settle.
fn tolerance_ceiling(ctx: &Ctx<'_>) -> Decimal {
    let (amount, policy) = (ctx.receipt.amount, ctx.policy);
    let by_amount = amount + policy.short_pay_tolerance_amount.max(Decimal::ZERO);
    let rest = Decimal::ONE_HUNDRED - policy.short_pay_tolerance_percent;
    // open - amount <= open * p / 100  <=>  open <= amount * 100 / (100 - p)
    let by_percent = if rest > Decimal::ZERO {
        amount
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(rest))
            .unwrap_or(Decimal::MAX)
    } else {
        Decimal::MAX
    };
    by_amount.max(by_percent)
}

fn combination(ctx: &Ctx<'_>, payer: u32, out: &mut Vec<Draft>) {
    let amount = ctx.receipt.amount;
    let mut pool = group_between(ctx, Decimal::ZERO, amount);
    pool.retain(|r| r.inv.open_amount < amount);
    pool.truncate(COMBINATION_CANDIDATES);
    if pool.len() < 2 || ctx.policy.max_combination < 2 {
        return;
    }
    let amounts: Vec<Decimal> = pool.iter().map(|r| r.inv.open_amount).collect();
    let found = combination::find(&amounts, amount, ctx.policy.max_combination, 3);
    for (rank, solution) in found.solutions.iter().take(2).enumerate() {
        let allocations: Vec<_> = solution.iter().map(|i| full(pool[*i])).collect();
        let confidence = if found.unique() {
            let by_size = 94 - i32::try_from(solution.len()).unwrap_or(9);
            by_evidence(ctx, by_size, by_size - 5)
        } else {
            by_evidence(ctx, 70, 65) - i32::try_from(rank).unwrap_or(0) * 5
        };
        let mut notes = vec![format!(
            "amount equals the sum of {} open invoices: {}",
            allocations.len(),
            numbers(&allocations)
        )];
        if !found.unique() {
            notes.push("other combinations of open invoices may also fit: not unique".to_string());
        }
        out.push(Draft::new(Some(payer), Method::Combination, confidence).with(allocations, notes));
    }
}

/// No trusted payer: likely name candidates' invoices, else the whole ledger, by amount.
fn without_payer(ctx: &Ctx<'_>, out: &mut Vec<Draft>) {
    let amount = ctx.receipt.amount;
    let text = money(amount, &ctx.receipt.currency);
    let mut found = false;
    for candidate in ctx.payer.candidates.iter().take(NAME_CANDIDATES) {
        for member in ctx.index.family(candidate.slot) {
            let open = ctx.index.open_of(member, ctx.cur);
            let at = open.partition_point(|e| e.amount < amount);
            for entry in open[at..].iter().take_while(|e| e.amount == amount).take(2) {
                let Some(rec) = ctx.index.rec(entry.slot) else {
                    continue;
                };
                let note = format!(
                    "{}; {} has the open amount {text}",
                    candidate.reason, rec.inv.number
                );
                let confidence = i32::from(candidate.score).min(80) - 15;
                out.push(
                    Draft::new(Some(candidate.slot), Method::ExactAmount, confidence)
                        .with(vec![full(rec)], vec![note]),
                );
                found = true;
            }
        }
    }
    if found {
        return;
    }
    let mut ledger: Vec<&InvoiceRec> = ctx
        .index
        .by_amount(ctx.cur, amount)
        .iter()
        .filter_map(|s| ctx.index.rec(*s))
        .collect();
    // Round amounts repeat thousands of times in a large ledger: only the oldest few count.
    let keep = ctx.policy.max_suggestions;
    if ledger.len() > keep {
        ledger.select_nth_unstable_by(keep, |a, b| oldest_first(a, b));
    }
    let total = ledger.len();
    ledger.truncate(keep);
    ledger.sort_by(|a, b| oldest_first(a, b));
    let confidence = if total == 1 { 40 } else { 20 };
    for rec in ledger.iter().take(ctx.policy.max_suggestions) {
        let note = format!(
            "payer unknown; {} of {total} open invoices in the ledger with the amount {text}",
            rec.inv.number
        );
        out.push(
            Draft::new(Some(rec.cust), Method::ExactAmount, confidence)
                .with(vec![full(rec)], vec![note]),
        );
    }
}
