//! Informal single-core throughput against 1,000,000 open invoices and 100,000 customers.
//! Run: `cargo test -p otc-cash-matching --release --all-features --test throughput -- --ignored --nocapture`

use std::time::Instant;

use otc_cash_matching::dataset::generate;
use otc_cash_matching::{Policy, propose};

#[test]
#[ignore = "a timing, not a check: run in release by hand"]
fn proposals_per_second_against_a_million_invoices() {
    let started = Instant::now();
    let data = generate(7, 100_000, 1_000_000, 50_000);
    eprintln!("generate: {:?}", started.elapsed());
    let started = Instant::now();
    let index = data.index();
    eprintln!(
        "index of {} open invoices: {:?}",
        index.len(),
        started.elapsed()
    );
    let policy = Policy::default();
    let started = Instant::now();
    let mut proposals = 0usize;
    for labelled in &data.receipts {
        proposals += propose(&index, &labelled.receipt, &policy).len();
    }
    let elapsed = started.elapsed();
    let per_second =
        u128::try_from(data.receipts.len()).unwrap_or(0) * 1_000_000 / elapsed.as_micros().max(1);
    eprintln!(
        "{} receipts in {elapsed:?}: {per_second} receipts/s on one core ({proposals} proposals)",
        data.receipts.len()
    );
}
