//! Renders a [`DocumentView`] to an A4 PDF with the built-in Helvetica faces
//! (nothing embedded), flowing the line table over as many pages as needed.
//!
//! The same view always gives the same bytes: the trailer `/ID` is derived
//! from the view (see [`otc_pdf::write_pdf`]), and no clock is read.

mod layout;
#[cfg(test)]
mod tests;

use otc_pdf::{DocumentInfo, PdfError, write_pdf};

use super::view::DocumentView;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the document view could not be serialised to derive the PDF id: {0}")]
    View(#[from] serde_json::Error),
    #[error(transparent)]
    Write(#[from] PdfError),
}

/// Renders `view` to PDF bytes. CPU-bound (a few milliseconds for a
/// 300-line invoice): async callers should use `spawn_blocking`.
pub fn render_pdf(view: &DocumentView) -> Result<Vec<u8>, RenderError> {
    let id_source = serde_json::to_vec(view)?;
    let pages = layout::compose(view);
    let heading = format!("{} {}", view.kind.title(), view.number);
    let info = DocumentInfo {
        title: &heading,
        author: &view.seller.name,
        subject: &heading,
        producer: "otc billing",
    };
    Ok(write_pdf(pages, &info, &id_source)?)
}
