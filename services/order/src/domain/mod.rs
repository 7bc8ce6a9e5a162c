//! Pure order logic: request validation, pricing, shipment arithmetic and the
//! lifecycle. No I/O here; everything is unit-tested directly.

pub mod lifecycle;
pub mod pricing;
pub mod request;
pub mod shipping;

pub use otc_shared::address::Address;
pub use otc_shared::violations::{FieldViolation, Violations};
