//! sqlx queries over billing's own tables; every query runs in the caller's
//! tenant-scoped transaction (row-level security does the rest).

pub mod config;
pub mod customers;
pub mod documents;
pub mod invoices;
pub mod orders;

pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
