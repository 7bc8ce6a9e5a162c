//! Renders a [`DocumentView`] to an A4 PDF with the built-in Helvetica faces
//! (nothing embedded), flowing the line table over as many pages as needed.
//!
//! The same view always gives the same bytes: printpdf's random trailer
//! `/ID` is replaced by one derived from the view, and no clock is read.

mod canvas;
mod layout;
#[cfg(test)]
mod tests;
mod text;

use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};
use sha2::{Digest, Sha256};

use super::view::DocumentView;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the document view could not be serialised to derive the PDF id: {0}")]
    View(#[from] serde_json::Error),
    #[error("writing the PDF failed: {0}")]
    Write(#[from] std::io::Error),
}

const A4_WIDTH: Mm = Mm(210.0);
const A4_HEIGHT: Mm = Mm(297.0);

/// Renders `view` to PDF bytes. CPU-bound (a few milliseconds for a
/// 300-line invoice): async callers should use `spawn_blocking`.
pub fn render_pdf(view: &DocumentView) -> Result<Vec<u8>, RenderError> {
    let document_id = document_id(view)?;
    let pages = layout::compose(view);
    let heading = format!("{} {}", view.kind.title(), view.number);
    let mut document = PdfDocument::new(&heading);
    document.metadata.info.author = view.seller.name.clone();
    document.metadata.info.subject = heading;
    document.metadata.info.producer = "otc billing".to_owned();
    document.with_pages(
        pages
            .into_iter()
            .map(|ops| PdfPage::new(A4_WIDTH, A4_HEIGHT, ops))
            .collect(),
    );
    let options = PdfSaveOptions {
        image_optimization: None,
        ..PdfSaveOptions::default()
    };
    let mut warnings = Vec::new();
    let mut pdf = document.to_lopdf_document(&options, &mut warnings);
    for warning in &warnings {
        tracing::debug!(message = %warning.msg, page = warning.page, "pdf writer warning");
    }
    make_reproducible(&mut pdf, &document_id);
    pdf.compress();
    let mut bytes = Vec::new();
    pdf.save_to(&mut bytes)?;
    Ok(bytes)
}

/// The first 16 bytes of the SHA-256 of the view: the same document keeps
/// its id across re-renders, as the PDF spec intends for the first id.
fn document_id(view: &DocumentView) -> Result<Vec<u8>, serde_json::Error> {
    let digest = Sha256::digest(serde_json::to_vec(view)?);
    Ok(digest.iter().take(16).copied().collect())
}

fn make_reproducible(pdf: &mut lopdf::Document, document_id: &[u8]) {
    let id = lopdf::Object::String(document_id.to_vec(), lopdf::StringFormat::Hexadecimal);
    pdf.trailer
        .set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    // printpdf writes the Unix epoch here; an absent date is more honest.
    if let Ok(info_id) = pdf
        .trailer
        .get(b"Info")
        .and_then(lopdf::Object::as_reference)
        && let Ok(info) = pdf
            .get_object_mut(info_id)
            .and_then(lopdf::Object::as_dict_mut)
    {
        info.remove(b"CreationDate");
        info.remove(b"ModDate");
    }
}
