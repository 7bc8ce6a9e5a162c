//! Scores the engine against the labelled receipts: automatic rate, wrong automatic
//! applications, and how often a human's queue shows the right answer first.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Labelled, Truth};
use crate::index::Index;
use crate::model::{Policy, Proposal};
use crate::propose::propose;

/// Counts for one scenario kind (or all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindFigures {
    pub receipts: u64,
    pub auto_applied: u64,
    /// Applied automatically, but to another customer or other invoices than the truth.
    pub wrong_auto_applied: u64,
    pub exceptions: u64,
    /// Exceptions whose first suggestion is the truth (or, for unknown payers, nothing).
    pub exceptions_with_correct_top_suggestion: u64,
}

/// The evaluation of a data set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub receipts: u64,
    pub auto_applied: u64,
    pub wrong_auto_applied: u64,
    pub exceptions: u64,
    pub exceptions_with_correct_top_suggestion: u64,
    pub per_kind: BTreeMap<&'static str, KindFigures>,
}

impl Figures {
    /// Automatic applications in basis points of all receipts.
    pub fn auto_rate_bp(&self) -> u64 {
        ratio_bp(self.auto_applied, self.receipts)
    }

    /// Wrong automatic applications in basis points of all receipts.
    pub fn wrong_auto_rate_bp(&self) -> u64 {
        ratio_bp(self.wrong_auto_applied, self.receipts)
    }

    fn total(&self) -> KindFigures {
        KindFigures {
            receipts: self.receipts,
            auto_applied: self.auto_applied,
            wrong_auto_applied: self.wrong_auto_applied,
            exceptions: self.exceptions,
            exceptions_with_correct_top_suggestion: self.exceptions_with_correct_top_suggestion,
        }
    }
}

fn ratio_bp(part: u64, whole: u64) -> u64 {
    (part * 10_000).checked_div(whole).unwrap_or(0)
}

/// `12.34%` from basis points.
fn percent(bp: u64) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

/// Runs [`propose`] on every labelled receipt and compares the first proposal with the truth.
pub fn evaluate(index: &Index, data: &[Labelled], policy: &Policy) -> Figures {
    let mut figures = Figures::default();
    for item in data {
        let proposals = propose(index, &item.receipt, policy);
        let top = proposals.first();
        let auto = top.is_some_and(|p| p.is_automatic(policy));
        let correct = matches_truth(top, &item.truth);
        count(
            figures.per_kind.entry(item.kind).or_default(),
            auto,
            correct,
        );
        figures.receipts += 1;
        figures.auto_applied += u64::from(auto);
        figures.wrong_auto_applied += u64::from(auto && !correct);
        figures.exceptions += u64::from(!auto);
        figures.exceptions_with_correct_top_suggestion += u64::from(!auto && correct);
    }
    figures
}

fn count(f: &mut KindFigures, auto: bool, correct: bool) {
    f.receipts += 1;
    f.auto_applied += u64::from(auto);
    f.wrong_auto_applied += u64::from(auto && !correct);
    f.exceptions += u64::from(!auto);
    f.exceptions_with_correct_top_suggestion += u64::from(!auto && correct);
}

/// Same customer and the same cash on the same invoices; for an unknown payer, no
/// proposal (or one applying nothing to nobody).
fn matches_truth(top: Option<&Proposal>, truth: &Truth) -> bool {
    let Some(p) = top else {
        return truth.customer_id.is_none() && truth.invoices.is_empty();
    };
    if truth.customer_id.is_none() {
        return p.customer_id.is_none() && p.allocations.is_empty();
    }
    let mut proposed: Vec<(Uuid, Decimal)> = p
        .allocations
        .iter()
        .map(|a| (a.invoice_id, a.amount.normalize()))
        .collect();
    let mut expected: Vec<(Uuid, Decimal)> = truth
        .invoices
        .iter()
        .map(|(i, a)| (*i, a.normalize()))
        .collect();
    proposed.sort_unstable();
    expected.sort_unstable();
    p.customer_id == truth.customer_id && proposed == expected
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "kind", "receipts", "auto", "auto %", "wrong", "wrong %", "exc. ok %"
        )?;
        for (kind, k) in &self.per_kind {
            row(f, kind, k)?;
        }
        row(f, "ALL", &self.total())
    }
}

fn row(f: &mut fmt::Formatter<'_>, kind: &str, k: &KindFigures) -> fmt::Result {
    writeln!(
        f,
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        kind,
        k.receipts,
        k.auto_applied,
        percent(ratio_bp(k.auto_applied, k.receipts)),
        k.wrong_auto_applied,
        percent(ratio_bp(k.wrong_auto_applied, k.receipts)),
        if k.exceptions == 0 {
            "-".to_string()
        } else {
            percent(ratio_bp(
                k.exceptions_with_correct_top_suggestion,
                k.exceptions,
            ))
        },
    )
}
