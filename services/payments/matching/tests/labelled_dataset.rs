//! The goal of the issue on a labelled synthetic ledger: at least 90 % of receipts
//! applied automatically, at most 0.1 % applied wrongly.

use otc_cash_matching::Policy;
use otc_cash_matching::dataset::{evaluate, generate};

#[test]
fn auto_match_rate_and_wrong_automatic_applications() {
    let data = generate(20_260_316, 4_000, 50_000, 10_000);
    let index = data.index();
    let policy = Policy::default();
    let figures = evaluate(&index, &data.receipts, &policy);
    eprintln!("{figures}");
    eprintln!(
        "auto-match rate {} bp, wrong automatic {} bp ({} of {})",
        figures.auto_rate_bp(),
        figures.wrong_auto_rate_bp(),
        figures.wrong_auto_applied,
        figures.receipts
    );
    assert_eq!(figures.receipts, 10_000);
    assert!(
        figures.auto_rate_bp() >= 9_000,
        "auto-match rate below 90 %"
    );
    assert!(
        figures.wrong_auto_rate_bp() <= 10,
        "wrong automatic applications above 0.1 %"
    );
}
