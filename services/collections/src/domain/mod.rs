//! Pure rules of the ledger, credit control and dunning, unit-tested without I/O.

pub mod balances;
pub mod credit;
pub mod dunning;
pub mod dunning_text;
pub mod functional;
pub mod orders;
pub mod statement;
pub mod worklist;

/// Wire names of ledger movement kinds (`cash_applied` -> `CASH_APPLIED`).
pub fn wire_name(kind: &str) -> String {
    kind.to_uppercase()
}
