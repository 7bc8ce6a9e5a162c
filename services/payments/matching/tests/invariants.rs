//! Property tests of the money invariants on random small ledgers and receipts: every
//! proposal adds up to the receipt, never exceeds an open amount, never goes negative,
//! stays in the receipt currency, names no invoice twice, and comes out the same twice.

mod common;

use common::*;
use otc_cash_matching::{Index, OpenInvoice, Policy, Receipt, check_proposal, propose};
use proptest::prelude::*;
use rust_decimal::Decimal;

const CURRENCIES: [&str; 2] = ["EUR", "USD"];

#[derive(Debug, Clone)]
struct Inv {
    owner: u128,
    cents: i64,
    usd: bool,
    discount_cents: i64,
    discount_day: u32,
    due: u32,
}

fn inv() -> impl Strategy<Value = Inv> {
    (
        1u128..=4,
        1i64..300_000,
        any::<bool>(),
        0i64..3_000,
        1u32..28,
        1u32..28,
    )
        .prop_map(
            |(owner, cents, usd, discount_cents, discount_day, due)| Inv {
                owner,
                cents,
                usd,
                discount_cents,
                discount_day,
                due,
            },
        )
}

#[allow(
    clippy::unwrap_used,
    reason = "fewer than 14 invoices: the index always fits"
)]
fn build(invoices: &[Inv]) -> (Index, Vec<OpenInvoice>) {
    let mut index = Index::new();
    index.upsert_customer(customer(1, "ACME Holding AG", &[HOLDING_IBAN], None));
    index.upsert_customer(customer(2, "ACME Europe GmbH", &[EUROPE_IBAN], Some(1)));
    index.upsert_customer(customer(3, "Beta Logistics Ltd", &[BETA_IBAN], None));
    index.upsert_customer(customer(4, "Gamma SARL", &[GAMMA_IBAN], None));
    let mut all = Vec::new();
    for (n, i) in invoices.iter().enumerate() {
        let number = format!("INV-2026-{:06}", n + 1);
        let seq = u128::try_from(n).unwrap();
        let mut invoice = invoice(seq, &number, i.owner, "1", i.due);
        invoice.open_amount = Decimal::new(i.cents, 2);
        invoice.currency = CURRENCIES[usize::from(i.usd)].to_string();
        if i.discount_cents > 0 {
            invoice.discount_amount = Decimal::new(i.discount_cents, 2);
            invoice.discount_date = Some(day(i.discount_day));
        }
        index.upsert_invoice(invoice.clone());
        all.push(invoice);
    }
    (index, all)
}

fn receipt_for(
    all: &[OpenInvoice],
    picks: &[usize],
    delta: i64,
    account: usize,
    noisy: bool,
    usd: bool,
) -> Receipt {
    let chosen: Vec<&OpenInvoice> = picks
        .iter()
        .filter_map(|p| all.get(p % all.len().max(1)))
        .collect();
    let sum: Decimal = chosen.iter().map(|i| i.open_amount).sum();
    let text: Vec<String> = chosen
        .iter()
        .map(|i| {
            if noisy {
                i.number.replace('0', "O").replace('-', " ")
            } else {
                i.number.clone()
            }
        })
        .collect();
    let accounts = [
        None,
        Some(HOLDING_IBAN),
        Some(EUROPE_IBAN),
        Some(BETA_IBAN),
        Some(GAMMA_IBAN),
    ];
    Receipt {
        amount: (sum + Decimal::new(delta, 2)).max(Decimal::new(1, 2)),
        currency: CURRENCIES[usize::from(usd)].to_string(),
        value_date: day(16),
        payer_name: None,
        payer_account: accounts[account % accounts.len()].map(str::to_string),
        remittance: text.join(", "),
        customer_id: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn proposals_keep_the_money_invariants(
        invoices in prop::collection::vec(inv(), 1..14),
        picks in prop::collection::vec(0usize..14, 0..4),
        delta in prop_oneof![Just(0i64), -2_000i64..2_000, -100_000i64..100_000],
        account in 0usize..5,
        noisy in any::<bool>(),
        usd in any::<bool>(),
    ) {
        let (index, all) = build(&invoices);
        let receipt = receipt_for(&all, &picks, delta, account, noisy, usd);
        let policy = Policy::default();
        let proposals = propose(&index, &receipt, &policy);
        prop_assert!(proposals.len() <= policy.max_suggestions);
        for p in &proposals {
            prop_assert_eq!(check_proposal(&index, &receipt, p), Ok(()), "{:?}", p);
            prop_assert!(p.confidence <= 100);
            prop_assert!(p.allocations.iter().all(|a| a.amount >= Decimal::ZERO));
        }
        prop_assert_eq!(&proposals, &propose(&index, &receipt, &policy), "deterministic");
    }
}
