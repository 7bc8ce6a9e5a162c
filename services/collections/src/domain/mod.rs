//! Pure rules of the ledger and of credit control, unit-tested without I/O.

pub mod balances;
pub mod credit;
pub mod functional;
pub mod orders;
pub mod statement;

/// Wire names of ledger movement kinds (`cash_applied` -> `CASH_APPLIED`).
pub fn wire_name(kind: &str) -> String {
    kind.to_uppercase()
}
