//! Invoice documents: the view a document shows, its PDF rendering, and the
//! object store that keeps each rendered file with its SHA-256.

pub mod pdf;
pub mod store;
pub mod view;

pub use pdf::{RenderError, render_pdf};
pub use store::{DocumentStore, StoreError, StoredDocument, document_key};
pub use view::{DocumentKindLabel, DocumentView, LineView, Party, TaxSummaryView};
