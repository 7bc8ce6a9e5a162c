//! Background work of the payments service.

pub mod direct_debit;
pub mod rematch;
