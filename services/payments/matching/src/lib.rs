//! Cash application engine: identifies the payer of a receipt and proposes the open
//! invoices it settles, with a calibrated confidence and an explanation for a human.
//!
//! Evidence, strongest first: invoice numbers in the remittance text (tolerant of labels,
//! spacing, missing prefixes or zeros and OCR noise), then the amount against the payer's
//! open invoices (exact, early-payment discount, short pay within tolerance, a unique
//! combination). The payer comes from the channel, a known bank account or a fuzzy name
//! match with a unique strong winner; a parent company may pay for its group.
//!
//! Money is [`rust_decimal::Decimal`] throughout; confidences are integer percents. A
//! proposal is applied without a human only when [`Proposal::is_automatic`] says so: the
//! confidences are set so that at the default threshold (90) a wrong automatic
//! application is very rare, and every ambiguity lands below it.

mod by_amount;
mod by_reference;
mod combination;
mod draft;
mod index;
mod model;
mod name_index;
mod names;
mod payer;
mod propose;
mod reconcile;
mod references;

#[cfg(feature = "dataset")]
pub mod dataset;

pub use index::{Index, normalise_account};
pub use model::{Allocation, Customer, Method, OpenInvoice, Policy, Proposal, Receipt};
pub use names::{Folded, fold, fold_tokens};
pub use payer::identify_payer;
pub use propose::{check_proposal, propose};
pub use references::{
    RefKey, Reference, SERIES, extract as extract_references, invoice_references, parse_number,
};
