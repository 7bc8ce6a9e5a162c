//! sqlx queries, all inside the caller's tenant-scoped transaction.

pub mod customers;
pub mod orders;
pub mod pricing;
