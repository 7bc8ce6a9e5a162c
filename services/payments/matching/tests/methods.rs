//! Each matching method, its confidence band and the ambiguities that must not auto-apply.

mod common;

use common::*;
use otc_cash_matching::{Index, Method, OpenInvoice, Policy, Proposal, Receipt, propose};
use rust_decimal::Decimal;

fn run(index: &Index, r: &Receipt) -> Vec<Proposal> {
    propose(index, r, &Policy::default())
}

fn auto(p: &Proposal) -> bool {
    p.is_automatic(&Policy::default())
}

fn numbers(p: &Proposal) -> Vec<&str> {
    p.allocations
        .iter()
        .map(|a| a.invoice_number.as_str())
        .collect()
}

#[test]
fn invoice_reference_exact() {
    let best = &run(
        &ledger(),
        &from_account("1190.00", "RE: INV-2026-000123", EUROPE_IBAN),
    )[0];
    assert_eq!(best.method, Method::InvoiceReference);
    assert_eq!(numbers(best), ["INV-2026-000123"]);
    assert!(best.confidence >= 95 && auto(best));
    assert!(
        best.explanation
            .iter()
            .any(|e| e.contains("remittance names INV-2026-000123")),
        "{best:?}"
    );
    assert!(
        best.explanation.iter().any(|e| e.contains("1,190.00 EUR")),
        "{best:?}"
    );
}

#[test]
fn noisy_reference_without_any_payer_data() {
    let best = &run(&ledger(), &receipt("1190.00", "lNV 2O26 000l23"))[0];
    assert_eq!(numbers(best), ["INV-2026-000123"]);
    assert_eq!(best.customer_id, Some(id(EUROPE)));
    assert!(auto(best), "{best:?}");
    assert!(
        best.explanation
            .iter()
            .any(|e| e.contains("read as 'lNV 2O26 000l23'")),
        "{best:?}"
    );
}

#[test]
fn several_references_settle_several_invoices() {
    let best = &run(
        &ledger(),
        &from_account("1440.00", "INV-2026-000123, INV-2026-000124", EUROPE_IBAN),
    )[0];
    assert_eq!(numbers(best), ["INV-2026-000123", "INV-2026-000124"]);
    assert!(auto(best));
}

#[test]
fn one_wrong_digit_only_within_the_payers_invoices() {
    // 000133 does not exist; 000130 of the payer differs by one digit. A second invoice of
    // the same amount keeps the amount alone from deciding.
    let mut index = ledger();
    index.upsert_invoice(invoice(30, "INV-2026-000140", EUROPE, "480.50", 28));
    let with_payer = &run(
        &index,
        &from_account("480.50", "INV-2026-000133", EUROPE_IBAN),
    )[0];
    assert_eq!(numbers(with_payer), ["INV-2026-000130"]);
    assert!(
        with_payer.confidence < 95,
        "lower confidence: {with_payer:?}"
    );
    assert!(
        with_payer
            .explanation
            .iter()
            .any(|e| e.contains("one digit off")),
        "{with_payer:?}"
    );
    let unknown = run(&index, &receipt("480.50", "INV-2026-000133"));
    assert!(unknown.iter().all(|p| !auto(p)), "{unknown:?}");
}

#[test]
fn exact_amount_of_one_invoice() {
    let best = &run(&ledger(), &from_account("480.50", "", EUROPE_IBAN))[0];
    assert_eq!(
        (best.method, numbers(best)),
        (Method::ExactAmount, vec!["INV-2026-000130"])
    );
    assert!(auto(best));
}

#[test]
fn same_amount_twice_proposes_the_oldest_below_threshold() {
    let best = &run(&ledger(), &from_account("99.00", "", BETA_IBAN))[0];
    assert_eq!(numbers(best), ["INV-2026-000200"]);
    assert!(best.confidence < 90 && !auto(best), "{best:?}");
}

#[test]
fn combination_of_invoices() {
    let best = &run(
        &ledger(),
        &from_account("730.50", "Sammelzahlung", EUROPE_IBAN),
    )[0];
    assert_eq!(best.method, Method::Combination);
    assert_eq!(numbers(best), ["INV-2026-000124", "INV-2026-000130"]);
    assert!(auto(best), "{best:?}");
}

#[test]
fn ambiguous_combination_does_not_auto_apply() {
    // 99 + 310 = 409 and 99 (the other one) + 310 = 409.
    let proposals = run(&ledger(), &from_account("409.00", "", BETA_IBAN));
    assert_eq!(proposals[0].method, Method::Combination);
    assert!(proposals.iter().all(|p| !auto(p)), "{proposals:?}");
}

#[test]
fn early_payment_discount_within_the_period() {
    let mut index = ledger();
    let discounted = OpenInvoice {
        discount_date: Some(day(20)),
        discount_amount: dec("20.00"),
        ..invoice(20, "INV-2026-000500", GAMMA, "1000.00", 30)
    };
    index.upsert_invoice(discounted.clone());
    index.remove_invoice(id(1009));
    let best = &run(
        &index,
        &from_account("980.00", "INV-2026-000500", GAMMA_IBAN),
    )[0];
    assert_eq!(best.method, Method::EarlyPaymentDiscount);
    assert_eq!(
        (best.allocations[0].amount, best.allocations[0].discount),
        (dec("980.00"), dec("20.00"))
    );
    assert!(auto(best));
    let without_reference = &run(&index, &from_account("980.00", "", GAMMA_IBAN))[0];
    assert_eq!(without_reference.method, Method::EarlyPaymentDiscount);
    // After the discount date the same amount is a short payment, not a discount.
    let late = Receipt {
        value_date: day(25),
        ..from_account("980.00", "INV-2026-000500", GAMMA_IBAN)
    };
    let best = &run(&index, &late)[0];
    assert_ne!(best.method, Method::EarlyPaymentDiscount);
    assert_eq!(best.allocations[0].discount, Decimal::ZERO);
}

#[test]
fn short_payment_within_tolerance_is_a_deduction() {
    let best = &run(
        &ledger(),
        &from_account("1187.50", "INV-2026-000123", EUROPE_IBAN),
    )[0];
    assert_eq!(best.method, Method::ShortPayTolerance);
    let a = &best.allocations[0];
    assert_eq!((a.amount, a.deduction), (dec("1187.50"), dec("2.50")));
    assert_eq!(best.unapplied, Decimal::ZERO);
    assert!(auto(best));
}

#[test]
fn partial_payment_applies_in_the_listed_order() {
    let best = &run(
        &ledger(),
        &from_account("1300.00", "INV-2026-000123 INV-2026-000124", EUROPE_IBAN),
    )[0];
    assert_eq!(best.method, Method::Partial);
    let amounts: Vec<Decimal> = best.allocations.iter().map(|a| a.amount).collect();
    assert_eq!(amounts, [dec("1190.00"), dec("110.00")]);
    let single = &run(
        &ledger(),
        &from_account("500.00", "INV-2026-000123", EUROPE_IBAN),
    )[0];
    assert_eq!(
        (single.method, single.allocations[0].amount),
        (Method::Partial, dec("500.00"))
    );
}

#[test]
fn overpayment_leaves_the_rest_unapplied() {
    let best = &run(
        &ledger(),
        &from_account("1200.00", "INV-2026-000123", EUROPE_IBAN),
    )[0];
    assert_eq!(best.method, Method::Overpayment);
    assert_eq!(best.unapplied, dec("10.00"));
}

#[test]
fn payer_only_when_nothing_fits() {
    let proposals = run(&ledger(), &from_account("7.77", "", EUROPE_IBAN));
    assert_eq!(proposals.len(), 1);
    assert_eq!(proposals[0].method, Method::PayerOnly);
    assert_eq!(proposals[0].unapplied, dec("7.77"));
    assert!(!auto(&proposals[0]));
}

#[test]
fn unknown_payer_without_reference_only_gets_suggestions() {
    let proposals = run(&ledger(), &from_name("1000.00", "Donation", "Jane Doe"));
    assert_eq!(numbers(&proposals[0]), ["INV-2026-000300"]);
    assert!(proposals.iter().all(|p| !auto(p)));
    assert!(run(&ledger(), &receipt("12345.67", "")).is_empty());
}

#[test]
fn other_currency_invoices_are_never_allocated() {
    let usd = Receipt {
        currency: "USD".to_string(),
        ..from_account("1190.00", "INV-2026-000123", EUROPE_IBAN)
    };
    for p in run(&ledger(), &usd) {
        assert!(p.allocations.is_empty(), "{p:?}");
    }
}

#[test]
fn conflicting_payer_and_reference_go_to_a_human() {
    // Beta's account, but Europe's invoice number and amount.
    let proposals = run(
        &ledger(),
        &from_account("1190.00", "INV-2026-000123", BETA_IBAN),
    );
    assert!(proposals.iter().all(|p| !auto(p)), "{proposals:?}");
}

#[test]
fn index_updates_take_effect() {
    let mut index = ledger();
    assert_eq!(index.len(), 9);
    index.set_open_amount(id(1001), Decimal::ZERO);
    assert_eq!(index.len(), 8);
    let settled = run(
        &index,
        &from_account("1190.00", "INV-2026-000123", EUROPE_IBAN),
    );
    assert!(
        settled
            .iter()
            .all(|p| !auto(p) && p.allocations.iter().all(|a| a.invoice_id != id(1001)))
    );
    index.set_open_amount(id(1001), dec("190.00"));
    let best = &run(
        &index,
        &from_account("190.00", "INV-2026-000123", EUROPE_IBAN),
    )[0];
    assert!(auto(best));
    index.remove_invoice(id(1001));
    assert!(index.invoice(id(1001)).is_none());
    assert_eq!(index.len(), 8);
}

#[test]
fn deterministic_whatever_the_insertion_order() {
    let forward = ledger();
    let mut backward = Index::new();
    backward.upsert_customer(customer(BETA, "Beta Logistics Ltd", &[BETA_IBAN], None));
    backward.upsert_invoice(invoice(6, "INV-2026-000201", BETA, "99.00", 15));
    backward.upsert_invoice(invoice(5, "INV-2026-000200", BETA, "99.00", 15));
    backward.upsert_invoice(invoice(7, "INV-2026-000202", BETA, "310.00", 25));
    let mut forward_only_beta = Index::new();
    forward_only_beta.upsert_customer(customer(BETA, "Beta Logistics Ltd", &[BETA_IBAN], None));
    forward_only_beta.upsert_invoice(invoice(5, "INV-2026-000200", BETA, "99.00", 15));
    forward_only_beta.upsert_invoice(invoice(6, "INV-2026-000201", BETA, "99.00", 15));
    forward_only_beta.upsert_invoice(invoice(7, "INV-2026-000202", BETA, "310.00", 25));
    let r = from_account("99.00", "", BETA_IBAN);
    assert_eq!(run(&backward, &r), run(&forward_only_beta, &r));
    assert_eq!(
        numbers(&run(&backward, &r)[0]),
        ["INV-2026-000200"],
        "ties broken by number"
    );
    assert_eq!(run(&forward, &r), run(&forward, &r));
}
