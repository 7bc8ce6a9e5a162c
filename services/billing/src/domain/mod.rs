//! Billing's pure domain logic: tax, FX, credit-note amounts and document
//! numbers. No I/O here, so every rule is unit-tested on its own.

pub mod credit;
pub mod discrepancy;
pub mod ecb;
pub mod fx;
pub mod numbering;
pub mod tax;
