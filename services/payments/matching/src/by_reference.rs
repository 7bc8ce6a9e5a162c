//! Proposals from invoice numbers in the remittance: resolution (exact key, series, one
//! digit off within the payer's own invoices) and reconciliation of the amount.

use rust_decimal::Decimal;

use crate::by_amount::group_between;
use crate::draft::{Draft, full, money};
use crate::index::InvoiceRec;
use crate::index::compact_number;
use crate::model::Method;
use crate::propose::Ctx;
use crate::reconcile::{Outcome, reconcile};
use crate::references::{RefKey, Reference};

/// How well a remittance reference pins an invoice (worse is larger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Quality {
    Clean,
    Corrected,
    /// One digit wrong: found among the identified payer's invoices only.
    Fuzzy,
}

/// How the referenced invoices relate to the identified payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Strong,
    Name(u8),
    Unknown,
    Conflict,
}

struct Resolved {
    raw: String,
    normalised: String,
    hits: Vec<(u32, Quality)>,
}

/// Most alternatives tried for one ambiguous reference.
const ALTERNATIVES: usize = 4;

pub(crate) fn proposals(ctx: &Ctx<'_>, refs: &[Reference], out: &mut Vec<Draft>) {
    let mut resolved: Vec<Resolved> = refs.iter().map(|r| resolve(ctx, r)).collect();
    resolved.extend(nonstandard(ctx));
    let unresolved: Vec<String> = resolved
        .iter()
        .filter(|r| r.hits.is_empty())
        .map(|r| r.normalised.clone())
        .collect();
    resolved.retain(|r| !r.hits.is_empty());
    if resolved.is_empty() {
        return;
    }
    for (slots, ambiguous) in variants(ctx, &resolved) {
        if let Some(mut draft) = draft(ctx, &resolved, &slots, ambiguous, &unresolved) {
            if let Some(more) = surplus_invoice(ctx, &mut draft) {
                out.push(more);
            }
            out.push(draft);
        }
    }
}

/// An overpayment whose surplus is exactly another open invoice of the payer's group:
/// probably that invoice too, unnamed. Both readings go to a human.
fn surplus_invoice(ctx: &Ctx<'_>, draft: &mut Draft) -> Option<Draft> {
    if draft.method != Method::Overpayment || ctx.payer.identified.is_none() {
        return None;
    }
    let surplus = ctx.receipt.amount - draft.allocations.iter().map(|a| a.amount).sum::<Decimal>();
    let named = |r: &&InvoiceRec| {
        draft
            .allocations
            .iter()
            .any(|a| a.invoice_id == r.inv.invoice_id)
    };
    let extra: Vec<&InvoiceRec> = group_between(ctx, surplus, surplus)
        .into_iter()
        .filter(|r| !named(r))
        .collect();
    let first = extra.first()?;
    let mut more = draft.clone();
    more.method = Method::Combination;
    more.confidence = draft.confidence.min(85);
    more.allocations.push(full(first));
    more.notes.retain(|n| !n.starts_with("overpayment"));
    more.notes.push(format!(
        "the surplus {} equals the open amount of {}",
        money(surplus, &ctx.receipt.currency),
        first.inv.number
    ));
    draft.confidence = draft.confidence.min(80);
    Some(more)
}

fn resolve(ctx: &Ctx<'_>, r: &Reference) -> Resolved {
    let base = if r.corrected {
        Quality::Corrected
    } else {
        Quality::Clean
    };
    let mut hits: Vec<(u32, Quality)> =
        ctx.index.by_key(r.key).iter().map(|s| (*s, base)).collect();
    if let Some(series) = r.series {
        let same_series = |s: &u32| {
            ctx.index
                .rec(*s)
                .is_some_and(|rec| rec.series.as_deref() == Some(series))
        };
        if hits.iter().any(|(s, _)| same_series(s)) {
            hits.retain(|(s, _)| same_series(s));
        } else {
            hits.iter_mut().for_each(|h| h.1 = Quality::Corrected);
        }
    }
    if ctx.payer.identified.is_some() {
        let ours = |s: &u32| {
            ctx.index
                .rec(*s)
                .is_some_and(|rec| ctx.payer.in_family(rec.cust))
        };
        if hits.iter().any(|(s, _)| ours(s)) {
            hits.retain(|(s, _)| ours(s));
        } else if hits.len() <= 1 || ctx.payer.is_strong() {
            hits.extend(
                one_digit_off(ctx, r.key)
                    .into_iter()
                    .map(|s| (s, Quality::Fuzzy)),
            );
        }
    }
    hits.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then_with(|| number_of(ctx, a.0).cmp(number_of(ctx, b.0)))
    });
    hits.dedup_by_key(|h| h.0);
    let raw = if r.raw.trim().is_empty() {
        r.normalised()
    } else {
        r.raw.clone()
    };
    Resolved {
        raw,
        normalised: r.normalised(),
        hits,
    }
}

fn number_of<'a>(ctx: &'a Ctx<'_>, slot: u32) -> &'a str {
    ctx.index.rec(slot).map_or("", |r| r.inv.number.as_str())
}

/// Invoices of the payer's group whose number differs from `key` by one digit or one
/// swap of neighbouring digits.
fn one_digit_off(ctx: &Ctx<'_>, key: RefKey) -> Vec<u32> {
    let mut found = Vec::new();
    for member in &ctx.payer.family {
        for entry in ctx.index.open_of(*member, ctx.cur) {
            let near = ctx
                .index
                .rec(entry.slot)
                .and_then(|r| r.key)
                .is_some_and(|k| near_miss(k, key));
            if near {
                found.push(entry.slot);
            }
        }
    }
    found
}

/// One digit different, or two neighbouring digits swapped (`YYYYNNNNNN` compared).
fn near_miss(a: RefKey, b: RefKey) -> bool {
    let digits = |k: RefKey| {
        let mut d = [0u32; 10];
        let mut v = k.digits();
        for slot in d.iter_mut().rev() {
            *slot = v % 10;
            v /= 10;
        }
        d
    };
    let (x, y) = (digits(a), digits(b));
    let mut diff = (0..10).filter(|i| x[*i] != y[*i]);
    match (diff.next(), diff.next(), diff.next()) {
        (Some(_), None, None) => true,
        (Some(i), Some(j), None) => j == i + 1 && x[i] == y[j] && x[j] == y[i],
        _ => false,
    }
}

/// Numbers outside the `SERIES-YYYY-NNNNNN` scheme, matched word by word.
fn nonstandard(ctx: &Ctx<'_>) -> Vec<Resolved> {
    if !ctx.index.has_nonstandard_numbers() {
        return Vec::new();
    }
    let words = ctx
        .receipt
        .remittance
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';');
    let mut found: Vec<Resolved> = Vec::new();
    for word in words {
        let compact = compact_number(word);
        let hits = ctx.index.by_number(&compact);
        if !hits.is_empty() && !found.iter().any(|f| f.normalised == compact) {
            let hits = hits.iter().map(|s| (*s, Quality::Clean)).collect();
            found.push(Resolved {
                raw: word.to_string(),
                normalised: compact,
                hits,
            });
        }
    }
    found
}

/// Invoice lists to try: one per alternative of a lone ambiguous reference, otherwise one
/// list with the best hit of each reference.
fn variants(ctx: &Ctx<'_>, resolved: &[Resolved]) -> Vec<(Vec<u32>, bool)> {
    if let [only] = resolved {
        let ambiguous = only.hits.len() > 1;
        return only
            .hits
            .iter()
            .take(ALTERNATIVES)
            .map(|h| (vec![h.0], ambiguous))
            .collect();
    }
    let anchor = resolved
        .iter()
        .find(|r| r.hits.len() == 1)
        .and_then(|r| ctx.index.rec(r.hits[0].0))
        .map(|r| r.cust);
    let mut slots: Vec<u32> = Vec::new();
    let mut ambiguous = false;
    for r in resolved {
        ambiguous |= r.hits.len() > 1;
        let same_owner = |s: u32| ctx.index.rec(s).map(|x| x.cust) == anchor;
        let best = r
            .hits
            .iter()
            .map(|h| h.0)
            .find(|s| same_owner(*s))
            .or(r.hits.first().map(|h| h.0));
        if let Some(slot) = best.filter(|s| !slots.contains(s)) {
            slots.push(slot);
        }
    }
    vec![(slots, ambiguous)]
}

fn draft(
    ctx: &Ctx<'_>,
    resolved: &[Resolved],
    slots: &[u32],
    ambiguous: bool,
    unresolved: &[String],
) -> Option<Draft> {
    let (index, receipt) = (ctx.index, ctx.receipt);
    let recs_all: Vec<_> = slots.iter().filter_map(|s| index.rec(*s)).collect();
    let recs: Vec<_> = recs_all
        .iter()
        .copied()
        .filter(|r| r.cur == ctx.cur)
        .collect();
    if recs.is_empty() {
        return None;
    }
    let quality = slots
        .iter()
        .filter_map(|s| {
            resolved
                .iter()
                .flat_map(|r| &r.hits)
                .find(|h| h.0 == *s)
                .map(|h| h.1)
        })
        .max()
        .unwrap_or(Quality::Clean);
    let relation = relation(ctx, &recs.iter().map(|r| r.cust).collect::<Vec<_>>());
    let rec = reconcile(&recs, receipt, ctx.policy);
    let mut confidence =
        base(rec.outcome, slots.len()) - quality_penalty(quality, rec.outcome, relation);
    confidence -= relation_penalty(relation, rec.outcome);
    let mut notes = reference_notes(ctx, resolved, slots);
    if !unresolved.is_empty() {
        confidence -= if matches!(rec.outcome, Outcome::Exact | Outcome::Discount) {
            3
        } else {
            10
        };
        notes.push(format!(
            "no open invoice found for {}",
            unresolved.join(", ")
        ));
    }
    if ambiguous {
        confidence -= 15;
        notes.push("the reference fits several open documents".to_string());
    }
    for other in recs_all.iter().filter(|r| r.cur != ctx.cur) {
        confidence -= 10;
        notes.push(format!(
            "{} is in {}, the receipt in {}",
            other.inv.number, other.inv.currency, receipt.currency
        ));
    }
    let (customer, note) = customer(
        ctx,
        relation,
        &recs.iter().map(|r| r.cust).collect::<Vec<_>>(),
    );
    notes.extend(note);
    notes.extend(rec.notes);
    Some(Draft::new(customer, rec.outcome.method(), confidence).with(rec.allocations, notes))
}

fn relation(ctx: &Ctx<'_>, owners: &[u32]) -> Relation {
    match &ctx.payer.identified {
        None => Relation::Unknown,
        Some(_) if !owners.iter().all(|o| ctx.payer.in_family(*o)) => Relation::Conflict,
        Some(_) if ctx.payer.is_strong() => Relation::Strong,
        Some(c) => Relation::Name(c.score),
    }
}

fn base(outcome: Outcome, invoices: usize) -> i32 {
    match outcome {
        Outcome::Exact => 99,
        Outcome::Discount => 97,
        Outcome::Tolerance => 94,
        // Several references paid short or over: the order of application is a guess, or a
        // reference was not read.
        Outcome::Partial | Outcome::Over if invoices > 1 => 86,
        Outcome::Partial | Outcome::Over => 92,
    }
}

fn quality_penalty(quality: Quality, outcome: Outcome, relation: Relation) -> i32 {
    let settles = matches!(outcome, Outcome::Exact | Outcome::Discount);
    match (quality, relation) {
        (Quality::Clean, _) => 0,
        (Quality::Corrected, _) => 2,
        (Quality::Fuzzy, Relation::Strong) if settles => 8,
        (Quality::Fuzzy, Relation::Strong) => 15,
        (Quality::Fuzzy, _) => 30,
    }
}

fn relation_penalty(relation: Relation, outcome: Outcome) -> i32 {
    match (relation, outcome) {
        (Relation::Strong, _) => 0,
        (Relation::Name(score), _) => {
            if score >= 95 {
                1
            } else {
                3
            }
        }
        (Relation::Unknown, Outcome::Exact | Outcome::Discount) => 3,
        (Relation::Unknown, Outcome::Tolerance) => 8,
        (Relation::Unknown, _) => 25,
        (Relation::Conflict, _) => 40,
    }
}

/// The customer applied for: the identified payer, else the invoices' common owner or
/// their common parent.
fn customer(ctx: &Ctx<'_>, relation: Relation, owners: &[u32]) -> (Option<u32>, Option<String>) {
    if let (Relation::Strong | Relation::Name(_), Some(c)) = (relation, &ctx.payer.identified) {
        return (Some(c.slot), None);
    }
    // A name that did not identify the payer alone may still pick the group company
    // whose invoices the remittance names (a holding paying for a subsidiary).
    let named = ctx.payer.candidates.iter().find(|c| {
        let family = ctx.index.family(c.slot);
        owners.iter().all(|o| family.contains(o))
    });
    if let Some(c) = named {
        return (
            Some(c.slot),
            Some(format!("{}; the invoices belong to its group", c.reason)),
        );
    }
    let first = owners.first().copied();
    if owners.iter().all(|o| Some(*o) == first) {
        let note = first.map(|o| format!("invoices belong to {}", ctx.index.customer_name(o)));
        return (first, note);
    }
    let parent = first.and_then(|o| ctx.index.customer(o).parent);
    let shared = parent.filter(|p| {
        owners
            .iter()
            .all(|o| o == p || ctx.index.customer(*o).parent == Some(*p))
    });
    let note = shared.map(|p| {
        format!(
            "invoices belong to the group of {}",
            ctx.index.customer_name(p)
        )
    });
    (shared.or(first), note)
}

fn reference_notes(ctx: &Ctx<'_>, resolved: &[Resolved], slots: &[u32]) -> Vec<String> {
    let mut notes = Vec::new();
    for r in resolved {
        for (slot, quality) in r.hits.iter().filter(|h| slots.contains(&h.0)) {
            let number = number_of(ctx, *slot);
            let note = match quality {
                Quality::Clean => format!("remittance names {number}"),
                Quality::Corrected => format!("remittance names {number} (read as '{}')", r.raw),
                Quality::Fuzzy => format!(
                    "remittance '{}' is one digit off {number}, an invoice of the payer",
                    r.raw
                ),
            };
            notes.push(note);
        }
    }
    notes
}
