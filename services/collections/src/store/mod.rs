//! sqlx queries over the collections service's own tables; every query runs
//! in the caller's tenant-scoped transaction (row-level security does the
//! rest) and inserts name the tenant explicitly.

pub mod balances;
pub mod credit;
pub mod customers;
pub mod disputes;
pub mod dunning;
pub mod movements;
pub mod open_items;
pub mod orders;
pub mod promises;
pub mod settings;
pub mod statements;
pub mod worklist;
pub mod write_offs;

pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
