//! sqlx queries over the payments service's own tables; every query runs in
//! the caller's tenant-scoped transaction (row-level security does the rest).

pub mod applications;
pub mod customers;
pub mod open_items;
pub mod policies;
pub mod receipts;
pub mod statements;
pub mod webhooks;

pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
