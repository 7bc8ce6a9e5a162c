//! Renders realistic documents and reads them back with a PDF parser
//! (lopdf), so the checks are on what a reader of the file would see.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use printpdf::{BuiltinFont, Op, PdfFontHandle, Pt, TextItem};
use sha2::{Digest, Sha256};

use super::layout::{FOOTER_BASELINE, LEFT, RIGHT, TOP, compose};
use super::render_pdf;
use crate::documents::view::{DocumentKindLabel, DocumentView, LineView, Party, TaxSummaryView};
use otc_pdf::{Face, width_points};

fn party(name: &str, lines: &[&str], tax_id: Option<&str>) -> Party {
    Party {
        name: name.to_owned(),
        address_lines: lines.iter().map(|line| (*line).to_owned()).collect(),
        tax_id: tax_id.map(str::to_owned),
    }
}

fn line(index: usize) -> LineView {
    LineView {
        description: format!("Industrial widget, anodised aluminium, series {index}"),
        sku: format!("WID-{index:05}"),
        quantity: "12".to_owned(),
        unit_price: "104.50".to_owned(),
        net: "1,254.00".to_owned(),
        tax_rate: "20%".to_owned(),
        tax: "250.80".to_owned(),
    }
}

fn invoice(line_count: usize) -> DocumentView {
    DocumentView {
        kind: DocumentKindLabel::Invoice,
        number: "INV-2026-000042".to_owned(),
        issue_date: "2026-11-20".to_owned(),
        due_date: Some("2026-12-20".to_owned()),
        seller: party(
            "Nordwind Handels GmbH",
            &["Königstraße 12", "70173 Stuttgart", "Germany"],
            Some("DE811234567"),
        ),
        buyer: party(
            "Brasserie Éloïse Müller-Weiß SARL",
            &["14 rue de la Paix", "75002 Paris", "France"],
            Some("FR40123456789"),
        ),
        currency: "EUR".to_owned(),
        lines: (1..=line_count).map(line).collect(),
        tax_summary: vec![
            TaxSummaryView {
                label: "VAT 20%".to_owned(),
                net: "3,762.00".to_owned(),
                tax: "752.40".to_owned(),
            },
            TaxSummaryView {
                label: "Exempt".to_owned(),
                net: "150.00".to_owned(),
                tax: "0.00".to_owned(),
            },
        ],
        net_total: "3,912.00".to_owned(),
        tax_total: "752.40".to_owned(),
        total: "4,664.40".to_owned(),
        functional_total: Some("USD 5,058.54 at 1.0845 (2026-11-20)".to_owned()),
        terms: "2/10 net 30".to_owned(),
        discount: Some("2% (EUR 93.29) if paid by 2026-11-30".to_owned()),
        payment_instructions: vec![
            "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX".to_owned(),
            "Please quote INV-2026-000042 with your payment.".to_owned(),
        ],
        references: vec!["Order 018f3a2c-7d41-7b9e-a0c2-5e1f00d4c9aa".to_owned()],
        notes: vec!["Prices as agreed in framework contract FC-2026-07.".to_owned()],
    }
}

struct Extracted {
    pages: usize,
    /// Text of each page with runs of whitespace collapsed to one space.
    page_texts: Vec<String>,
}

impl Extracted {
    fn all(&self) -> String {
        self.page_texts.join(" ")
    }
}

fn extract(bytes: &[u8]) -> Extracted {
    let document = lopdf::Document::load_mem(bytes).expect("a parseable PDF");
    let page_numbers: Vec<u32> = document.get_pages().keys().copied().collect();
    let page_texts = page_numbers
        .iter()
        .map(|page| {
            let text = document.extract_text(&[*page]).unwrap();
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    Extracted {
        pages: page_numbers.len(),
        page_texts,
    }
}

#[test]
fn a_realistic_invoice_reads_back() {
    let bytes = render_pdf(&invoice(3)).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));

    let extracted = extract(&bytes);
    let text = extracted.all();
    assert_eq!(extracted.pages, 1, "{text}");
    for expected in [
        "Invoice",
        "INV-2026-000042",
        "Nordwind Handels GmbH",
        "Königstraße 12",
        "Brasserie Éloïse Müller-Weiß SARL",
        "Tax ID: FR40123456789",
        "Due date: 2026-12-20",
        "Issue date: 2026-11-20",
        "WID-00003",
        "4,664.40",
        "USD 5,058.54 at 1.0845 (2026-11-20)",
        "Terms: 2/10 net 30",
        "Early-payment discount: 2% (EUR 93.29) if paid by 2026-11-30",
        "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
        "Order 018f3a2c-7d41-7b9e-a0c2-5e1f00d4c9aa",
        "Page 1 of 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    // A tax summary row reads label, net, tax in order.
    assert!(text.contains("VAT 20% 3,762.00 752.40"), "{text}");
    assert!(text.contains("Total EUR 4,664.40"), "{text}");
}

#[test]
fn three_hundred_lines_flow_over_pages_with_the_heading_repeated() {
    let bytes = render_pdf(&invoice(300)).unwrap();
    let extracted = extract(&bytes);
    let pages = extracted.pages;
    assert!(pages >= 5, "only {pages} pages for 300 lines");
    for (index, page_text) in extracted.page_texts.iter().enumerate() {
        let label = format!("Page {} of {pages}", index + 1);
        assert!(page_text.contains(&label), "{label:?} missing: {page_text}");
    }
    // Every page but the last holds table rows under a repeated heading.
    for page_text in &extracted.page_texts[..pages - 1] {
        assert!(
            page_text.contains("Description SKU Qty Unit price Net Tax rate Tax"),
            "{page_text}"
        );
    }
    assert!(extracted.page_texts[1].contains("Invoice INV-2026-000042 (continued)"));
    let text = extracted.all();
    for index in [1, 150, 300] {
        assert!(
            text.contains(&format!("WID-{index:05}")),
            "line {index} missing"
        );
    }
    assert!(text.contains("Total EUR 4,664.40"));
    assert!(text.contains("VAT 20% 3,762.00 752.40"));
}

#[test]
fn rendering_is_byte_for_byte_reproducible() {
    let view = invoice(40);
    let first = render_pdf(&view).unwrap();
    // Other renders in between move printpdf's internal id counter on.
    render_pdf(&invoice(2)).unwrap();
    let second = render_pdf(&view).unwrap();
    assert_eq!(Sha256::digest(&first), Sha256::digest(&second));
    assert_eq!(first, second);

    let from_stored_json: DocumentView =
        serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap();
    assert_eq!(render_pdf(&from_stored_json).unwrap(), first);

    let other = render_pdf(&invoice(41)).unwrap();
    assert_ne!(other, first);
    let raw = String::from_utf8_lossy(&first);
    assert!(
        !raw.contains("CreationDate"),
        "no dates in the info dictionary"
    );
}

#[test]
fn a_credit_note_is_titled_as_one() {
    let mut view = invoice(1);
    view.kind = DocumentKindLabel::CreditNote;
    view.number = "CN-2026-000007".to_owned();
    view.due_date = None;
    view.references = vec!["Corrects invoice INV-2026-000012".to_owned()];
    view.notes = vec!["Reason: goods returned damaged.".to_owned()];

    let text = extract(&render_pdf(&view).unwrap()).all();

    assert!(text.contains("Credit note CN-2026-000007"), "{text}");
    assert!(text.contains("Corrects invoice INV-2026-000012"));
    assert!(text.contains("Reason: goods returned damaged."));
    assert!(!text.contains("Due date"));
    assert!(!text.contains("Invoice INV"));
}

#[test]
fn characters_outside_win_ansi_degrade_to_question_marks() {
    let mut view = invoice(1);
    view.kind = DocumentKindLabel::DebitNote;
    view.buyer.name = "Łódź Trading 東京 🙂 Straße".to_owned();
    view.lines[0].description = "Ünïcödé ✓ widget\u{0007}".to_owned();

    let text = extract(&render_pdf(&view).unwrap()).all();

    assert!(text.contains("Debit note"));
    assert!(text.contains("?ód? Trading ?? ? Straße"), "{text}");
    assert!(text.contains("Ünïcödé ? widget"), "{text}");
}

#[test]
fn long_text_is_wrapped_or_cut_inside_its_column() {
    let mut view = invoice(3);
    view.lines[0].description = "An extraordinarily verbose description ".repeat(40);
    view.lines[1].sku = "SKU-WITHOUT-ANY-SPACES-THAT-IS-FAR-TOO-LONG-FOR-ITS-COLUMN".to_owned();
    view.lines[2].tax_rate = "reverse charge".to_owned();
    view.buyer.name = "Very Long Company Name ".repeat(20);
    view.notes = vec!["Note ".repeat(2_000)];

    let pages = compose(&view);
    for ops in &pages {
        assert_text_stays_on_the_page(ops);
    }
    let text = extract(&render_pdf(&view).unwrap()).all();
    assert!(text.contains("reverse charge"), "{text}");
    assert!(text.contains("..."), "cut text is marked");
}

/// Every text run starts inside the margins and, measured with the same
/// metrics the viewer uses, ends before the right margin.
fn assert_text_stays_on_the_page(ops: &[Op]) {
    let mut size = 0;
    let mut face = Face::Regular;
    let mut x = 0;
    for op in ops {
        match op {
            Op::SetFont { font, size: points } => {
                face = match font {
                    PdfFontHandle::Builtin(BuiltinFont::HelveticaBold) => Face::Bold,
                    _ => Face::Regular,
                };
                size = [8_u16, 9, 10, 11, 20]
                    .into_iter()
                    .find(|candidate| Pt(f32::from(*candidate)) == *points)
                    .expect("a size the layout uses");
            }
            Op::SetTextCursor { pos } => {
                x = (LEFT..=RIGHT)
                    .find(|candidate| Pt(f32::from(*candidate)) == pos.x)
                    .expect("text starts inside the margins");
                assert!(pos.y > Pt(f32::from(FOOTER_BASELINE - 1)) && pos.y < Pt(f32::from(TOP)));
            }
            Op::ShowText { items } => {
                for item in items {
                    if let TextItem::Text(text) = item {
                        let end = x + width_points(face, size, text);
                        assert!(end <= RIGHT, "{text:?} ends at {end}");
                    }
                }
            }
            _ => {}
        }
    }
}
