//! Dunning letters: the notice as stored (subject and body, which already
//! list the items and amounts) printed on A4 for a window envelope, in the
//! built-in Courier face. A fixed-pitch face keeps the body's item columns
//! aligned as the template wrote them and lets lines be fitted by counting
//! characters, so no font metrics (and no float) are needed.

use printpdf::{
    BuiltinFont, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
};

use crate::store::dunning::{NoticeItemRow, NoticeRow};

const PAGE_WIDTH: Mm = Mm(210.0);
const PAGE_HEIGHT: Mm = Mm(297.0);
/// Left margin and the address window's top (DIN 5008 B: 45 mm from the top).
const LEFT: u16 = 71;
const ADDRESS_TOP: u16 = 714;
const TOP: u16 = 790;
const BOTTOM: u16 = 70;
const BODY_SIZE: u16 = 10;
const LINE: u16 = 13;
/// Courier advances 600/1000 em: 6 pt per character at 10 pt, so the
/// 453 pt between the margins hold 75 characters.
const COLUMNS: usize = 75;

struct Pages {
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    baseline: u16,
}

impl Pages {
    fn new() -> Self {
        Self {
            pages: Vec::new(),
            ops: Vec::new(),
            baseline: TOP,
        }
    }

    fn text(&mut self, x: u16, baseline: u16, bold: bool, size: u16, text: &str) {
        let font = if bold {
            BuiltinFont::CourierBold
        } else {
            BuiltinFont::Courier
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(f32::from(size)),
            },
            Op::SetTextCursor {
                pos: Point {
                    x: Pt(f32::from(x)),
                    y: Pt(f32::from(baseline)),
                },
            },
            Op::ShowText {
                items: vec![TextItem::Text(printable(text))],
            },
            Op::EndTextSection,
        ]);
    }

    /// The next line of running text, on a new page when this one is full.
    fn line(&mut self, bold: bool, text: &str) {
        if self.baseline < BOTTOM {
            self.pages.push(std::mem::take(&mut self.ops));
            self.baseline = TOP;
        }
        let baseline = self.baseline;
        self.text(LEFT, baseline, bold, BODY_SIZE, text);
        self.baseline = self.baseline.saturating_sub(LINE);
    }

    fn gap(&mut self) {
        self.baseline = self.baseline.saturating_sub(LINE);
    }

    fn finish(mut self, footer: &str) -> Vec<Vec<Op>> {
        self.pages.push(std::mem::take(&mut self.ops));
        let mut pages = std::mem::take(&mut self.pages);
        let count = pages.len();
        for (index, page) in pages.iter_mut().enumerate() {
            self.ops = std::mem::take(page);
            let text = format!("{footer}  -  page {} of {count}", index.saturating_add(1));
            self.text(LEFT, 40, false, 8, &text);
            *page = std::mem::take(&mut self.ops);
        }
        pages
    }
}

/// WinAnsi is what the built-in faces can show: control characters become
/// spaces and anything outside Latin-1 (but the euro sign) a `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\t' => ' ',
            '€' => '€',
            _ if character.is_control() => ' ',
            _ if u32::from(character) <= 0xFF => character,
            _ => '?',
        })
        .collect()
}

/// Breaks `text` into lines of at most [`COLUMNS`] characters, at spaces
/// where it can, keeping leading indentation and empty lines.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for source in text.lines() {
        let mut rest: Vec<char> = source.trim_end().chars().collect();
        if rest.is_empty() {
            lines.push(String::new());
            continue;
        }
        while rest.len() > COLUMNS {
            let cut = rest[..=COLUMNS]
                .iter()
                .rposition(|character| *character == ' ')
                .filter(|position| *position > 0)
                .unwrap_or(COLUMNS);
            lines.push(rest[..cut].iter().collect::<String>().trim_end().to_owned());
            rest = rest[cut..]
                .iter()
                .copied()
                .skip_while(|c| *c == ' ')
                .collect();
        }
        lines.push(rest.into_iter().collect());
    }
    lines
}

/// The letter's PDF bytes. `notice.recipient` holds the printed address
/// lines (the customer's billing address when the notice was generated).
pub fn render(notice: &NoticeRow, items: &[NoticeItemRow]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        !items.is_empty(),
        "dunning notice {} has no items to print",
        notice.id
    );
    let mut pages = Pages::new();
    // The address window: the customer's name, then the address lines.
    let mut baseline = ADDRESS_TOP;
    for line in std::iter::once(notice.customer_name.as_str()).chain(notice.recipient.lines()) {
        pages.text(LEFT, baseline, false, BODY_SIZE, line);
        baseline = baseline.saturating_sub(LINE);
    }
    pages.text(
        LEFT,
        600,
        false,
        BODY_SIZE,
        &format!("Date: {}", notice.as_of),
    );
    pages.text(
        LEFT,
        587,
        false,
        BODY_SIZE,
        &format!("Reference: {} / level {}", notice.id, notice.level),
    );
    pages.baseline = 560;
    for line in wrap(&notice.subject) {
        pages.line(true, &line);
    }
    pages.gap();
    for line in wrap(&notice.body) {
        pages.line(false, &line);
    }
    let title = format!("Dunning notice {} level {}", notice.as_of, notice.level);
    let mut document = PdfDocument::new(&title);
    document.metadata.info.subject = notice.subject.clone();
    document.metadata.info.producer = "otc collections".to_owned();
    document.with_pages(
        pages
            .finish(&format!("Reference {}", notice.id))
            .into_iter()
            .map(|ops| PdfPage::new(PAGE_WIDTH, PAGE_HEIGHT, ops))
            .collect(),
    );
    let mut warnings = Vec::new();
    let bytes = document.save(&PdfSaveOptions::default(), &mut warnings);
    for warning in &warnings {
        tracing::debug!(message = %warning.msg, "letter pdf warning");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn lines_wrap_at_spaces_within_the_columns_and_keep_blank_lines() {
        let long = "word ".repeat(40);
        let lines = wrap(&format!("short\n\n  indented {long}"));
        assert_eq!(lines[0], "short");
        assert_eq!(lines[1], "");
        assert!(lines[2].starts_with("  indented word"));
        assert!(lines.iter().all(|line| line.chars().count() <= COLUMNS));
        let unbroken = "x".repeat(COLUMNS * 2 + 3);
        let lines = wrap(&unbroken);
        assert_eq!(
            lines.iter().map(|line| line.len()).collect::<Vec<_>>(),
            vec![COLUMNS, COLUMNS, 3]
        );
    }

    #[test]
    fn only_what_the_builtin_faces_can_show_is_drawn() {
        assert_eq!(printable("Müller\tGmbH € 中"), "Müller GmbH € ?");
    }
}
