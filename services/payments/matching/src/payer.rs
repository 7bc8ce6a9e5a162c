//! Identifies the paying customer: the channel's customer id, a known bank account, then
//! a fuzzy company-name match that must have a unique strong winner.

use uuid::Uuid;

use crate::index::{Index, normalise_account};
use crate::model::Receipt;
use crate::names::{Weighted, fold_tokens, name_similarity};

/// A name match identifies the payer only from this score (percent) ...
pub(crate) const NAME_IDENTIFIES: u8 = 90;
/// ... and only this many points ahead of the runner-up.
const NAME_LEAD: u8 = 6;
/// Name candidates below this score are not worth showing.
const NAME_FLOOR: u8 = 70;
const NAME_CANDIDATES: usize = 5;

/// What identified a payer candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    Channel,
    Account,
    Name,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub slot: u32,
    pub score: u8,
    pub evidence: Evidence,
    pub reason: String,
}

/// The outcome of payer identification for one receipt.
#[derive(Debug, Default)]
pub(crate) struct Payer {
    /// Ranked, best first.
    pub candidates: Vec<Candidate>,
    /// The candidate trusted as the payer, when one is.
    pub identified: Option<Candidate>,
    /// The identified payer and the group companies it pays for.
    pub family: Vec<u32>,
    /// Sentences for the explanation.
    pub notes: Vec<String>,
}

impl Payer {
    /// Channel or bank account: strong enough to settle invoices found by amount alone.
    pub fn is_strong(&self) -> bool {
        self.identified
            .as_ref()
            .is_some_and(|c| c.evidence != Evidence::Name)
    }

    pub fn in_family(&self, slot: u32) -> bool {
        self.family.contains(&slot)
    }
}

/// Ranked candidate customers for a receipt with score (percent) and reason.
pub fn identify_payer(index: &Index, receipt: &Receipt) -> Vec<(Uuid, u8, String)> {
    identify(index, receipt)
        .candidates
        .into_iter()
        .map(|c| (index.customer(c.slot).id, c.score, c.reason))
        .collect()
}

pub(crate) fn identify(index: &Index, receipt: &Receipt) -> Payer {
    let mut payer = Payer::default();
    by_channel(index, receipt, &mut payer);
    by_account(index, receipt, &mut payer);
    let mut sure = payer
        .candidates
        .iter()
        .filter(|c| c.score >= 95)
        .map(|c| c.slot);
    let decided = sure.next().is_some_and(|first| sure.all(|s| s == first));
    if decided {
        name_agreement(index, receipt, &mut payer);
    } else {
        by_name(index, receipt, &mut payer);
    }
    payer
        .candidates
        .sort_by(|a, b| b.score.cmp(&a.score).then(a.slot.cmp(&b.slot)));
    let mut seen = Vec::with_capacity(payer.candidates.len());
    payer.candidates.retain(|c| {
        let fresh = !seen.contains(&c.slot);
        seen.push(c.slot);
        fresh
    });
    payer.identified = pick(&payer.candidates);
    if let Some(who) = &payer.identified {
        payer.family = index.family(who.slot);
        payer.notes.insert(0, who.reason.clone());
    }
    payer
}

/// The trusted payer: the best candidate when it is strong and clearly ahead.
fn pick(candidates: &[Candidate]) -> Option<Candidate> {
    let best = candidates.first()?;
    let runner_up = candidates.get(1).map_or(0, |c| c.score);
    let ahead = best.score >= runner_up.saturating_add(NAME_LEAD);
    (best.score >= NAME_IDENTIFIES && ahead).then(|| best.clone())
}

fn by_channel(index: &Index, receipt: &Receipt, payer: &mut Payer) {
    let Some(id) = receipt.customer_id else {
        return;
    };
    match index.customer_slot(id) {
        Some(slot) => payer.candidates.push(Candidate {
            slot,
            score: 100,
            evidence: Evidence::Channel,
            reason: format!(
                "payer {} given by the payment channel",
                index.customer_name(slot)
            ),
        }),
        None => payer.notes.push(format!(
            "the channel names customer {id}, unknown to the customer master"
        )),
    }
}

fn by_account(index: &Index, receipt: &Receipt, payer: &mut Payer) {
    let Some(raw) = receipt.payer_account.as_deref() else {
        return;
    };
    let account = normalise_account(raw);
    if account.is_empty() {
        return;
    }
    let owners = index.by_account(&account);
    let channel = payer.candidates.first().map(|c| c.slot);
    for slot in owners {
        let related = channel.is_none_or(|c| c == *slot || index.family(*slot).contains(&c));
        let score = match (owners.len(), related) {
            (1, true) => 98,
            (_, true) => 85,
            (_, false) => 60,
        };
        let shared = if owners.len() > 1 {
            format!(" (shared by {} customers)", owners.len())
        } else {
            String::new()
        };
        payer.candidates.push(Candidate {
            slot: *slot,
            score,
            evidence: Evidence::Account,
            reason: format!(
                "payer identified by IBAN {}{shared}: {}",
                mask(&account),
                index.customer_name(*slot)
            ),
        });
    }
    if let (Some(c), false) = (channel, owners.is_empty()) {
        if !owners
            .iter()
            .any(|o| *o == c || index.family(*o).contains(&c))
        {
            payer.notes.push(format!(
                "IBAN {} belongs to another customer than the channel names",
                mask(&account)
            ));
            payer.candidates[0].score = 85;
        }
    } else if owners.is_empty() {
        payer.notes.push(format!(
            "IBAN {} is not in the customer master",
            mask(&account)
        ));
    }
}

fn by_name(index: &Index, receipt: &Receipt, payer: &mut Payer) {
    let Some(name) = receipt
        .payer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    else {
        return;
    };
    let shared: Vec<u32> = payer.candidates.iter().map(|c| c.slot).collect();
    for (slot, bp) in index.names().search(name).into_iter().take(NAME_CANDIDATES) {
        let score = u8::try_from(bp / 100).unwrap_or(100);
        if score < NAME_FLOOR {
            break;
        }
        let master = index.customer_name(slot);
        if let Some(c) = payer
            .candidates
            .iter_mut()
            .find(|c| c.slot == slot && shared.contains(&slot))
        {
            // A shared account narrowed down by the name.
            if score >= NAME_IDENTIFIES {
                c.score = 95;
                c.reason = format!("{} and payer name '{name}' matches {master}", c.reason);
            }
            continue;
        }
        payer.candidates.push(Candidate {
            slot,
            score,
            evidence: Evidence::Name,
            reason: format!("payer name '{name}' matches {master} ({score}%)"),
        });
    }
}

/// With the payer known by channel or account, says whether the name agrees.
fn name_agreement(index: &Index, receipt: &Receipt, payer: &mut Payer) {
    let (Some(name), Some(best)) = (
        receipt.payer_name.as_deref(),
        payer.candidates.iter().max_by_key(|c| c.score),
    ) else {
        return;
    };
    let master = index.customer_name(best.slot);
    let (a, b) = (fold_tokens(name), fold_tokens(master));
    let score = name_similarity(&unweighted(&a), &unweighted(&b)) / 100;
    if score >= 80 {
        payer
            .notes
            .push(format!("payer name '{name}' agrees with the master name"));
    } else {
        payer.notes.push(format!(
            "payer name '{name}' differs from the master name {master}"
        ));
    }
}

fn unweighted(tokens: &[String]) -> Vec<Weighted<'_>> {
    tokens
        .iter()
        .map(|t| Weighted { text: t, weight: 1 })
        .collect()
}

/// `DE89…3000`: enough of an account to recognise it, not to copy it.
pub(crate) fn mask(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    if chars.len() <= 8 {
        return account.to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}
