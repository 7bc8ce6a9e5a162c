//! A labelled, deterministic synthetic ledger (customers, open invoices, receipts with
//! the allocation a cash-application specialist would post) and its evaluation.
//!
//! The world: customers with company names from a mixed German/English/French/Spanish
//! vocabulary (so near-duplicate names exist), one or two bank accounts each, about 2 %
//! parent companies with 2–4 subsidiaries; 70 % EUR, 14 % USD, 11 % GBP, 5 % CHF
//! customers, 3 % of invoices in a second currency. Invoices `INV`/`DN-YYYY-NNNNNN`
//! numbered gaplessly per series and year, issued mostly in the last six weeks (60 %), a
//! quarter 6–17 weeks ago and the rest up to nine months ago; only about two thirds of the
//! numbers are still open (so a mistyped number often names a settled or foreign invoice); a fifth of the
//! invoices go to a few large accounts; a fifth of the customers are billed the same
//! subscription amount every month (so amounts repeat); 15 % of invoices carry a 2 %
//! early-payment discount for ten days.
//!
//! The receipt mix (per mille, see `scenarios::KINDS`):
//!
//! | kind | ‰ | what arrives |
//! | --- | ---: | --- |
//! | clean_reference | 385 | one invoice number, amount equal; account known 85 %, unknown 10 %, none 5 % |
//! | noisy_reference | 110 | one number with labels, spacing, missing prefix/zeros, odd separators, OCR letters |
//! | typo_reference | 25 | one digit wrong or two swapped; account known 90 % |
//! | multi_reference | 70 | 2–4 numbers of one customer, amount equals their sum |
//! | multi_no_reference | 40 | 2–4 (mostly oldest) invoices, no usable text, account known |
//! | iban_only | 80 | no usable text, one invoice, account known |
//! | short_pay_within_tolerance | 30 | bank charges or rounding below the tolerance; 20 % without a number |
//! | short_pay_beyond_tolerance | 20 | 3–15 % short with a number: a partial payment |
//! | early_payment_discount | 40 | open less the discount within the discount period; 30 % without a number |
//! | partial_payment | 30 | 20–70 % of one referenced invoice |
//! | overpayment | 20 | one referenced invoice plus 0.01–500 |
//! | name_variant | 60 | a new account, the payer name abbreviated/mistyped/upper-cased; 50 % with a number |
//! | parent_payment | 30 | the parent company pays 1–3 invoices of its subsidiaries (account or name) |
//! | unknown_payer | 30 | someone outside the master; text may hold numbers of their own |
//! | channel_known | 30 | a provider webhook with the customer id, mostly no number |
//!
//! Truth for partial, short-beyond-tolerance and overpayments is the cash actually
//! applied; for unknown payers it is "no customer, nothing applied".

mod evaluate;
mod scenarios;
mod text;
mod world;

use uuid::Uuid;

pub use evaluate::{Figures, KindFigures, evaluate};

use crate::index::Index;
use crate::model::{Customer, OpenInvoice, Receipt};
use rust_decimal::Decimal;

/// What a specialist would post for a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    /// The paying customer; `None` for a payer outside the customer master.
    pub customer_id: Option<Uuid>,
    /// Cash applied per invoice.
    pub invoices: Vec<(Uuid, Decimal)>,
}

/// A receipt with its truth and the scenario that produced it.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub receipt: Receipt,
    pub truth: Truth,
    pub kind: &'static str,
}

/// A generated ledger and its receipts.
#[derive(Debug, Clone)]
pub struct DataSet {
    pub customers: Vec<Customer>,
    pub invoices: Vec<OpenInvoice>,
    pub receipts: Vec<Labelled>,
}

impl DataSet {
    /// An index holding all customers and invoices of the data set.
    pub fn index(&self) -> Index {
        let mut index = Index::new();
        for c in &self.customers {
            index.upsert_customer(c.clone());
        }
        for i in &self.invoices {
            index.upsert_invoice(i.clone());
        }
        index
    }
}

/// Generates a data set; the same arguments always give the same data.
pub fn generate(seed: u64, customers: usize, open_invoices: usize, receipts: usize) -> DataSet {
    let mut rng = fastrand::Rng::with_seed(seed);
    let world = world::World::generate(&mut rng, customers.max(1), open_invoices);
    let receipts = scenarios::receipts(&mut rng, &world, receipts);
    DataSet {
        customers: world.customers,
        invoices: world.invoices,
        receipts,
    }
}

/// A deterministic random id.
pub(crate) fn uuid(rng: &mut fastrand::Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid()
}

/// True with `per_mille` / 1000 probability.
pub(crate) fn chance(rng: &mut fastrand::Rng, per_mille: u32) -> bool {
    rng.u32(0..1000) < per_mille
}

/// A copy of one element of a non-empty slice.
pub(crate) fn one<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    *pick(rng, items)
}

/// One element of a non-empty slice.
pub(crate) fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(0..items.len().max(1))]
}
