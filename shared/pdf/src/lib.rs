//! Reproducible A4 PDFs with the built-in Helvetica faces (nothing
//! embedded). Documents are laid out on a [`Canvas`] in whole points (so no
//! layout code touches a float), with text measured and fitted by [`text`]
//! and tables by [`table`]; [`write_pdf`] turns the pages into bytes.
//!
//! The same pages and the same id source always give the same bytes:
//! printpdf's random trailer `/ID` is replaced by one derived from bytes the
//! caller gives (the document's content), and no clock is read.

pub mod canvas;
pub mod table;
pub mod text;

pub use canvas::{Canvas, Grey};
pub use printpdf::Op;
pub use table::{Align, Column, Row, Style};
pub use text::{Face, printable, truncate, width_millipoints, width_points, wrap};

use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};
use sha2::{Digest, Sha256};

/// An A4 page in whole points (595 x 842), from the bottom-left corner.
pub const A4_WIDTH_POINTS: u16 = 595;
pub const A4_HEIGHT_POINTS: u16 = 842;

const A4_WIDTH: Mm = Mm(210.0);
const A4_HEIGHT: Mm = Mm(297.0);

/// The document information dictionary.
#[derive(Debug, Clone, Copy)]
pub struct DocumentInfo<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub subject: &'a str,
    pub producer: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("writing the PDF failed: {0}")]
    Write(#[from] std::io::Error),
}

/// The pages (from [`Canvas::finish`]) as A4 PDF bytes. `id_source` are the
/// bytes the document is made from (e.g. its view serialised): the first 16
/// bytes of their SHA-256 are the trailer `/ID`, so a re-render of the same
/// content keeps its id, as the PDF spec intends for the first id.
/// CPU-bound (milliseconds per hundred table rows): async callers should
/// use `spawn_blocking`.
pub fn write_pdf(
    pages: Vec<Vec<Op>>,
    info: &DocumentInfo<'_>,
    id_source: &[u8],
) -> Result<Vec<u8>, PdfError> {
    let mut document = PdfDocument::new(info.title);
    document.metadata.info.author = info.author.to_owned();
    document.metadata.info.subject = info.subject.to_owned();
    document.metadata.info.producer = info.producer.to_owned();
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
    make_reproducible(&mut pdf, &document_id(id_source));
    pdf.compress();
    let mut bytes = Vec::new();
    pdf.save_to(&mut bytes)?;
    Ok(bytes)
}

fn document_id(id_source: &[u8]) -> Vec<u8> {
    Sha256::digest(id_source).iter().take(16).copied().collect()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn pages(text: &str) -> Vec<Vec<Op>> {
        let mut canvas = Canvas::default();
        canvas.text(42, 780, Face::Bold, 12, text.to_owned());
        canvas.next_page();
        canvas.text(42, 780, Face::Regular, 9, "second page".to_owned());
        canvas.finish(|canvas, page, count| {
            canvas.text_right(553, 34, Face::Regular, 8, format!("Page {page} of {count}"));
        })
    }

    fn info() -> DocumentInfo<'static> {
        DocumentInfo {
            title: "Statement",
            author: "Nordwind",
            subject: "Statement",
            producer: "otc",
        }
    }

    #[test]
    fn the_same_pages_and_id_source_give_the_same_bytes() {
        let first = write_pdf(pages("Hello"), &info(), b"content").unwrap();
        let second = write_pdf(pages("Hello"), &info(), b"content").unwrap();
        assert_eq!(first, second);
        let other_id = write_pdf(pages("Hello"), &info(), b"other").unwrap();
        assert_ne!(first, other_id);
        assert!(!String::from_utf8_lossy(&first).contains("CreationDate"));
    }

    #[test]
    fn the_text_reads_back_page_by_page() {
        let bytes = write_pdf(pages("Müller & Söhne"), &info(), b"x").unwrap();
        let document = lopdf::Document::load_mem(&bytes).unwrap();
        assert_eq!(document.get_pages().len(), 2);
        let first = document.extract_text(&[1]).unwrap();
        assert!(first.contains("Müller & Söhne"), "{first}");
        assert!(first.contains("Page 1 of 2"), "{first}");
        let second = document.extract_text(&[2]).unwrap();
        assert!(second.contains("second page") && second.contains("Page 2 of 2"));
    }
}
