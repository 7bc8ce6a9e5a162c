//! sqlx queries over the collections service's own tables; every query runs
//! in the caller's tenant-scoped transaction (row-level security does the
//! rest) and inserts name the tenant explicitly.

pub mod credit;
pub mod customers;
pub mod movements;
pub mod open_items;
pub mod orders;

pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
