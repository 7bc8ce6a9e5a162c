//! Documents collections sends to customers, rendered with `otc-pdf`:
//! customer statements (dunning letters will follow).

pub mod statement;

pub use statement::render_statement;
