//! The receipt scenarios of the labelled data set, their mix, and their truth.

use chrono::Days;
use rust_decimal::Decimal;

use super::text::{
    clean_remittance, empty_remittance, formatted_account, iban, mistyped_number, name_variant,
    noisy_reference, stranger_name,
};
use super::world::World;
use super::{Labelled, Truth, chance, pick};
use crate::model::{Policy, Receipt};

/// Scenario kinds and their share per mille (documented in the module above).
pub(crate) const KINDS: [(&str, u32); 15] = [
    ("clean_reference", 385),
    ("noisy_reference", 110),
    ("typo_reference", 25),
    ("multi_reference", 70),
    ("multi_no_reference", 40),
    ("iban_only", 80),
    ("short_pay_within_tolerance", 30),
    ("short_pay_beyond_tolerance", 20),
    ("early_payment_discount", 40),
    ("partial_payment", 30),
    ("overpayment", 20),
    ("name_variant", 60),
    ("parent_payment", 30),
    ("unknown_payer", 30),
    ("channel_known", 30),
];

/// How the payer's account shows on the statement.
#[derive(Clone, Copy)]
enum Account {
    Known,
    Unknown,
    Missing,
}

pub(crate) fn receipts(rng: &mut fastrand::Rng, world: &World, n: usize) -> Vec<Labelled> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n && !world.invoices.is_empty() {
        let kind = kind(rng);
        if let Some(labelled) = scenario(rng, world, kind) {
            out.push(labelled);
        }
    }
    out
}

fn kind(rng: &mut fastrand::Rng) -> &'static str {
    let mut roll = rng.u32(0..1000);
    for (kind, share) in KINDS {
        if roll < share {
            return kind;
        }
        roll -= share;
    }
    "clean_reference"
}

fn scenario(rng: &mut fastrand::Rng, w: &World, kind: &'static str) -> Option<Labelled> {
    let i = rng.usize(0..w.invoices.len());
    match kind {
        "noisy_reference" => {
            let (text, account) = (noisy_reference(rng, &w.invoices[i].number), usual(rng));
            Some(single(rng, w, kind, i, text, account))
        }
        "typo_reference" => {
            let account = if chance(rng, 900) {
                Account::Known
            } else {
                Account::Unknown
            };
            let text = mistyped_number(rng, &w.invoices[i].number);
            Some(single(rng, w, kind, i, text, account))
        }
        "multi_reference" => several(rng, w, kind, i, true),
        "multi_no_reference" => several(rng, w, kind, i, false),
        "iban_only" => {
            let text = empty_remittance(rng);
            Some(single(rng, w, kind, i, text, Account::Known))
        }
        "short_pay_within_tolerance"
        | "short_pay_beyond_tolerance"
        | "partial_payment"
        | "overpayment" => Some(off_amount(rng, w, kind, i)),
        "early_payment_discount" => discount(rng, w, i),
        "name_variant" => {
            let text = if chance(rng, 500) {
                ref_text(rng, w, &[i])
            } else {
                empty_remittance(rng)
            };
            Some(single(rng, w, kind, i, text, Account::Unknown))
        }
        "parent_payment" => parent(rng, w),
        "unknown_payer" => Some(stranger(rng, w)),
        "channel_known" => Some(channel(rng, w, i)),
        _ => {
            let (text, account) = (ref_text(rng, w, &[i]), usual(rng));
            Some(single(rng, w, "clean_reference", i, text, account))
        }
    }
}

/// Known 85 %, new account 10 %, none 5 %.
fn usual(rng: &mut fastrand::Rng) -> Account {
    match rng.u32(0..100) {
        0..85 => Account::Known,
        85..95 => Account::Unknown,
        _ => Account::Missing,
    }
}

fn ref_text(rng: &mut fastrand::Rng, w: &World, invoices: &[usize]) -> String {
    let numbers: Vec<&str> = invoices
        .iter()
        .map(|i| w.invoices[*i].number.as_str())
        .collect();
    clean_remittance(rng, &numbers)
}

/// A receipt from customer `c` (its account as `account` says) for `amount`.
fn receipt(
    rng: &mut fastrand::Rng,
    w: &World,
    c: usize,
    currency: &str,
    amount: Decimal,
    text: String,
    account: Account,
) -> Receipt {
    let customer = &w.customers[c];
    let payer_account = match account {
        Account::Known => customer
            .bank_accounts
            .first()
            .map(|a| formatted_account(rng, a)),
        Account::Unknown => {
            let fresh = iban(rng, w.country[c]);
            Some(formatted_account(rng, &fresh))
        }
        Account::Missing => None,
    };
    let payer_name = match account {
        Account::Missing if chance(rng, 500) => None,
        _ => Some(name_variant(rng, &customer.name)),
    };
    Receipt {
        amount,
        currency: currency.to_string(),
        value_date: w.today - Days::new(rng.u64(0..3)),
        payer_name,
        payer_account,
        remittance: text,
        customer_id: None,
    }
}

fn labelled(
    w: &World,
    receipt: Receipt,
    c: Option<usize>,
    applied: Vec<(usize, Decimal)>,
    kind: &'static str,
) -> Labelled {
    let invoices = applied
        .into_iter()
        .map(|(i, a)| (w.invoices[i].invoice_id, a))
        .collect();
    Labelled {
        receipt,
        truth: Truth {
            customer_id: c.map(|c| w.customers[c].customer_id),
            invoices,
        },
        kind,
    }
}

/// One invoice paid in full.
fn single(
    rng: &mut fastrand::Rng,
    w: &World,
    kind: &'static str,
    i: usize,
    text: String,
    account: Account,
) -> Labelled {
    let (inv, c) = (&w.invoices[i], w.owner[i]);
    let r = receipt(rng, w, c, &inv.currency, inv.open_amount, text, account);
    labelled(w, r, Some(c), vec![(i, inv.open_amount)], kind)
}

/// 2–4 invoices of one customer in one currency; with references, or the oldest ones
/// (mostly) without.
fn several(
    rng: &mut fastrand::Rng,
    w: &World,
    kind: &'static str,
    i: usize,
    refs: bool,
) -> Option<Labelled> {
    let (c, cur) = (w.owner[i], &w.invoices[i].currency);
    let open: Vec<usize> = w.open[c]
        .iter()
        .copied()
        .filter(|j| w.invoices[*j].currency == *cur)
        .collect();
    if open.len() < 2 {
        return None;
    }
    let k = rng.usize(2..=4).min(open.len());
    let chosen: Vec<usize> = if !refs && chance(rng, 700) {
        open[..k].to_vec()
    } else {
        let mut pool = open;
        rng.shuffle(&mut pool);
        pool.truncate(k);
        pool
    };
    let amount: Decimal = chosen.iter().map(|j| w.invoices[*j].open_amount).sum();
    let (text, account) = if !refs {
        (empty_remittance(rng), Account::Known)
    } else if chance(rng, 700) {
        (ref_text(rng, w, &chosen), usual(rng))
    } else {
        let noisy: Vec<String> = chosen
            .iter()
            .map(|j| noisy_reference(rng, &w.invoices[*j].number))
            .collect();
        (noisy.join(", "), usual(rng))
    };
    let r = receipt(rng, w, c, cur, amount, text, account);
    let applied = chosen
        .iter()
        .map(|j| (*j, w.invoices[*j].open_amount))
        .collect();
    Some(labelled(w, r, Some(c), applied, kind))
}

/// Short payments, partial payments and overpayments of one referenced invoice.
fn off_amount(rng: &mut fastrand::Rng, w: &World, kind: &'static str, i: usize) -> Labelled {
    let (inv, c) = (&w.invoices[i], w.owner[i]);
    let open = inv.open_amount;
    let tolerance = Policy::default().tolerance_for(open);
    let cents =
        |rng: &mut fastrand::Rng, lo: i64, hi: i64| Decimal::new(rng.i64(lo..hi.max(lo + 1)), 2);
    let amount = match kind {
        "short_pay_within_tolerance" => match rng.u32(0..10) {
            0..6 => open - cents(rng, 50, 500).min(tolerance),
            6..8 if open.fract() > Decimal::ZERO => open.trunc(),
            _ => {
                open - (open * Decimal::new(rng.i64(1..5), 3))
                    .round_dp(2)
                    .max(Decimal::new(1, 2))
                    .min(tolerance)
            }
        },
        "short_pay_beyond_tolerance" => {
            open - (open * Decimal::new(rng.i64(3..15), 2))
                .round_dp(2)
                .max(tolerance + Decimal::ONE)
        }
        "partial_payment" => {
            let part = (open * Decimal::new(rng.i64(20..70), 2)).round_dp(0);
            if part > Decimal::ONE_THOUSAND {
                (part / Decimal::TEN).trunc() * Decimal::TEN
            } else {
                part
            }
        }
        _ => open + cents(rng, 1, 50_000),
    };
    let amount = amount.max(Decimal::new(1, 2));
    let with_ref = kind != "short_pay_within_tolerance" || chance(rng, 800);
    let text = if with_ref {
        ref_text(rng, w, &[i])
    } else {
        empty_remittance(rng)
    };
    let account = if chance(rng, 900) {
        Account::Known
    } else {
        Account::Unknown
    };
    let r = receipt(rng, w, c, &inv.currency, amount, text, account);
    labelled(w, r, Some(c), vec![(i, amount.min(open))], kind)
}

/// Open amount less the early-payment discount, paid within the discount period.
fn discount(rng: &mut fastrand::Rng, w: &World, start: usize) -> Option<Labelled> {
    let n = w.invoices.len();
    let i = (0..n.min(5_000))
        .map(|k| (start + k * 7919) % n)
        .find(|j| w.invoices[*j].discount_date.is_some())?;
    let (inv, c) = (&w.invoices[i], w.owner[i]);
    let until = inv.discount_date?;
    let amount = inv.open_amount - inv.discount_amount;
    let text = if chance(rng, 700) {
        ref_text(rng, w, &[i])
    } else {
        empty_remittance(rng)
    };
    let account = if chance(rng, 900) {
        Account::Known
    } else {
        Account::Unknown
    };
    let mut r = receipt(rng, w, c, &inv.currency, amount, text, account);
    r.value_date = (until - Days::new(rng.u64(0..6))).max(inv.issue_date);
    Some(labelled(
        w,
        r,
        Some(c),
        vec![(i, amount)],
        "early_payment_discount",
    ))
}

/// A parent company pays 1–3 invoices of its subsidiaries.
fn parent(rng: &mut fastrand::Rng, w: &World) -> Option<Labelled> {
    if w.parents.is_empty() {
        return None;
    }
    let p = *pick(rng, &w.parents);
    let open: Vec<usize> = w.children[p]
        .iter()
        .flat_map(|c| w.open[*c].iter().copied())
        .collect();
    let first = *open.first()?;
    let cur = w.invoices[first].currency.clone();
    let mut pool: Vec<usize> = open
        .into_iter()
        .filter(|j| w.invoices[*j].currency == cur)
        .collect();
    rng.shuffle(&mut pool);
    pool.truncate(rng.usize(1..=3));
    let amount: Decimal = pool.iter().map(|j| w.invoices[*j].open_amount).sum();
    let text = if chance(rng, 800) {
        ref_text(rng, w, &pool)
    } else {
        empty_remittance(rng)
    };
    let account = if chance(rng, 750) {
        Account::Known
    } else {
        Account::Unknown
    };
    let r = receipt(rng, w, p, &cur, amount, text, account);
    let applied = pool
        .iter()
        .map(|j| (*j, w.invoices[*j].open_amount))
        .collect();
    Some(labelled(w, r, Some(p), applied, "parent_payment"))
}

/// Someone outside the customer master: a private person, a stranger firm, a misdirected
/// payment; sometimes with round amounts or numbers of their own in the text.
fn stranger(rng: &mut fastrand::Rng, w: &World) -> Labelled {
    let amount = if chance(rng, 300) {
        Decimal::new(*pick(rng, &[10_000, 25_000, 50_000, 100_000, 119_000]), 2)
    } else {
        Decimal::new(rng.i64(1_000..2_000_000), 2)
    };
    let remittance = match rng.u32(0..7) {
        0 => "Donation".to_string(),
        1 => "Spende".to_string(),
        2 => format!("Order 2026-0{}", rng.u32(10_000..99_999)),
        3 => "Mitgliedsbeitrag 2026".to_string(),
        4 => "Refund request".to_string(),
        5 => String::new(),
        _ => format!("Ref {}", rng.u32(100_000..999_999)),
    };
    let country = pick(rng, &["DE", "FR", "GB", "NL"]);
    let account = iban(rng, country);
    let receipt = Receipt {
        amount,
        currency: pick(rng, &["EUR", "EUR", "EUR", "USD", "GBP"]).to_string(),
        value_date: w.today,
        payer_name: Some(stranger_name(rng)),
        payer_account: Some(formatted_account(rng, &account)),
        remittance,
        customer_id: None,
    };
    Labelled {
        receipt,
        truth: Truth {
            customer_id: None,
            invoices: Vec::new(),
        },
        kind: "unknown_payer",
    }
}

/// A provider webhook or gRPC entry that already knows the customer.
fn channel(rng: &mut fastrand::Rng, w: &World, i: usize) -> Labelled {
    let text = if chance(rng, 300) {
        ref_text(rng, w, &[i])
    } else {
        let id: String = (0..24).map(|_| rng.alphanumeric()).collect();
        format!("pi_{id}")
    };
    let mut labelled = single(rng, w, "channel_known", i, text, Account::Missing);
    labelled.receipt.payer_name = None;
    labelled.receipt.customer_id = Some(w.customers[w.owner[i]].customer_id);
    labelled
}
