//! Payer identification: channel, bank account, fuzzy company name, parent companies.

mod common;

use common::*;
use otc_cash_matching::{Policy, Receipt, fold_tokens, identify_payer, propose};

fn top(r: &Receipt) -> Option<(uuid::Uuid, u8)> {
    identify_payer(&ledger(), r)
        .first()
        .map(|(id, score, _)| (*id, *score))
}

#[test]
fn known_account_in_any_spacing_and_case() {
    let r = from_account("1.00", "", "de89 3704 0044 0532 0130 00");
    assert_eq!(top(&r), Some((id(EUROPE), 98)));
    let (_, _, reason) = identify_payer(&ledger(), &r).remove(0);
    assert!(reason.contains("IBAN DE89"), "{reason}");
}

#[test]
fn channel_customer_id_is_trusted() {
    let r = Receipt {
        customer_id: Some(id(BETA)),
        ..receipt("1.00", "")
    };
    assert_eq!(top(&r), Some((id(BETA), 100)));
}

#[test]
fn name_variants_find_the_customer() {
    for name in [
        "ACME EUROPE GMBH",
        "Acme Europe",
        "ACME EUR. GMBH",
        "Acme Erope GmbH",
        "ACME Europe GmbH Berlin",
    ] {
        let r = from_name("1.00", "", name);
        let (who, score) = top(&r).unwrap_or_else(|| panic!("{name}: nobody"));
        assert_eq!(who, id(EUROPE), "{name}");
        assert!(score >= 90, "{name}: {score}");
    }
}

#[test]
fn accents_and_legal_forms_fold_away() {
    assert_eq!(
        fold_tokens("Gamma Systèmes S.A.R.L."),
        ["gamma", "systemes"]
    );
    assert_eq!(fold_tokens("Müller GmbH & Co. KG, Hamburg"), ["muller"]);
    assert_eq!(fold_tokens("O'Brien Ltd"), ["obrien"]);
    let r = from_name("1.00", "", "GAMMA SYSTEMES");
    assert_eq!(top(&r).map(|t| t.0), Some(id(GAMMA)));
}

#[test]
fn a_name_shared_by_several_customers_identifies_nobody() {
    let r = from_name("250.00", "", "ACME");
    let candidates = identify_payer(&ledger(), &r);
    let runner_up = candidates.get(1).map_or(0, |c| c.1);
    let unique_strong = candidates
        .first()
        .is_some_and(|c| c.1 >= 90 && c.1 >= runner_up + 6);
    assert!(!unique_strong, "no unique strong winner: {candidates:?}");
    let proposals = propose(&ledger(), &r, &Policy::default());
    assert!(
        proposals
            .iter()
            .all(|p| !p.is_automatic(&Policy::default())),
        "{proposals:?}"
    );
}

#[test]
fn unknown_payer_has_no_candidates() {
    let r = from_name("1.00", "", "Zyxw Qvop Trading");
    assert!(top(&r).is_none());
    let r = from_account("1.00", "", "NL91ABNA0417164300");
    assert!(top(&r).is_none());
}

#[test]
fn parent_pays_for_a_subsidiary() {
    let r = from_account("2000.00", "", HOLDING_IBAN);
    let proposals = propose(&ledger(), &r, &Policy::default());
    let best = &proposals[0];
    assert_eq!(best.customer_id, Some(id(HOLDING)));
    assert_eq!(best.allocations[0].invoice_number, "INV-2026-000131");
    assert!(best.is_automatic(&Policy::default()), "{best:?}");
}

#[test]
fn parent_named_on_the_statement_with_a_subsidiary_reference() {
    let r = from_name("1190.00", "INV-2026-000123", "ACME HOLDING");
    let best = &propose(&ledger(), &r, &Policy::default())[0];
    assert_eq!(best.customer_id, Some(id(HOLDING)));
    assert!(best.is_automatic(&Policy::default()));
}
