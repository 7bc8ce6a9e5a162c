//! Where each part of a document goes: the header blocks, the line table
//! (heading repeated after every page break), tax summary, totals, terms
//! and free text, then a "page n of m" footer on every page.

use otc_pdf::{Align, Canvas, Column, Face, Grey, Op, Row, Style, truncate, wrap};

use crate::documents::view::{DocumentView, Party};

// Whole points on A4 (595 x 842), measured from the bottom-left corner.
pub(super) const LEFT: u16 = 42;
pub(super) const RIGHT: u16 = 553;
pub(super) const TOP: u16 = 800;
/// Content stops here; the footer lives below.
const BOTTOM: u16 = 62;
pub(super) const FOOTER_BASELINE: u16 = 34;
const CONTENT_WIDTH: u16 = RIGHT - LEFT;
/// More address lines than this are cut, so a party block cannot push the
/// table off the first page.
const MAX_PARTY_LINES: usize = 8;
/// Free text may be long, but a runaway note must not fill pages.
const MAX_PARAGRAPH_LINES: usize = 12;

const fn style(face: Face, size: u16, leading: u16) -> Style {
    Style::new(face, size, leading)
}

const TITLE: Style = style(Face::Bold, 20, 26);
const EMPHASIS: Style = style(Face::Bold, 11, 15);
const LABEL: Style = style(Face::Bold, 8, 11);
const BODY: Style = style(Face::Regular, 9, 12);
const HEADING: Style = style(Face::Bold, 9, 14);
const CONTINUED: Style = style(Face::Bold, 10, 26);
const TABLE: Style = style(Face::Regular, 8, 10);
const TABLE_HEADING: Style = style(Face::Bold, 8, 10);

const fn column(
    heading: &'static str,
    left: u16,
    right: u16,
    align: Align,
    max_lines: usize,
) -> Column {
    Column::new(heading, left, right, align, max_lines)
}

const COLUMNS: [Column; 7] = [
    column("Description", 42, 214, Align::Left, 4),
    column("SKU", 218, 280, Align::Left, 2),
    column("Qty", 284, 318, Align::Right, 2),
    column("Unit price", 322, 382, Align::Right, 2),
    column("Net", 386, 446, Align::Right, 2),
    column("Tax rate", 452, 500, Align::Left, 2),
    column("Tax", 504, 553, Align::Right, 2),
];
/// The tax summary's net sits under the line table's net.
const SUMMARY_NET_RIGHT: u16 = 446;
const TOTALS_LEFT: u16 = 330;

/// Lays the view out into the operations of each page, footers included.
pub(super) fn compose(view: &DocumentView) -> Vec<Vec<Op>> {
    let mut composer = Composer {
        view,
        canvas: Canvas::default(),
        y: TOP,
        in_table: false,
    };
    composer.header();
    composer.line_table();
    composer.tax_summary();
    composer.totals();
    composer.closing_sections();
    let document = format!("{} {}", view.kind.title(), view.number);
    let document = truncate(TABLE.face, TABLE.size, &document, 300);
    composer.canvas.finish(|canvas, page, page_count| {
        canvas.rule(LEFT, RIGHT, FOOTER_BASELINE.saturating_add(12), Grey::Light);
        canvas.text(
            LEFT,
            FOOTER_BASELINE,
            TABLE.face,
            TABLE.size,
            document.clone(),
        );
        let label = format!("Page {page} of {page_count}");
        canvas.text_right(RIGHT, FOOTER_BASELINE, TABLE.face, TABLE.size, label);
    })
}

struct Composer<'a> {
    view: &'a DocumentView,
    canvas: Canvas,
    /// Top of the next block, in points from the bottom of the page.
    y: u16,
    /// A page break inside the line table repeats its heading row.
    in_table: bool,
}

impl Composer<'_> {
    fn header(&mut self) {
        let view = self.view;
        let mut left_y = TOP;
        self.party_block(&view.seller, None, &mut left_y, 260);

        let mut right_y = TOP;
        let width = 220;
        self.header_line(Align::Right, &mut right_y, TITLE, view.kind.title(), width);
        self.header_line(Align::Right, &mut right_y, EMPHASIS, &view.number, width);
        let issue = format!("Issue date: {}", view.issue_date);
        self.header_line(Align::Right, &mut right_y, BODY, &issue, width);
        if let Some(due_date) = &view.due_date {
            let due = format!("Due date: {due_date}");
            self.header_line(Align::Right, &mut right_y, BODY, &due, width);
        }
        let currency = format!("Currency: {}", view.currency);
        self.header_line(Align::Right, &mut right_y, BODY, &currency, width);

        let mut buyer_y = left_y.min(right_y).saturating_sub(18);
        self.party_block(&view.buyer, Some("Bill to"), &mut buyer_y, 300);
        self.y = buyer_y.saturating_sub(16);
    }

    fn party_block(&mut self, party: &Party, label: Option<&str>, y: &mut u16, width: u16) {
        if let Some(label) = label {
            self.header_line(Align::Left, y, LABEL, label, width);
        }
        self.header_line(Align::Left, y, EMPHASIS, &party.name, width);
        for address_line in party.address_lines.iter().take(MAX_PARTY_LINES) {
            self.header_line(Align::Left, y, BODY, address_line, width);
        }
        if let Some(tax_id) = &party.tax_id {
            let tax_id = format!("Tax ID: {tax_id}");
            self.header_line(Align::Left, y, BODY, &tax_id, width);
        }
    }

    /// One cut-to-fit line of the first-page header, whose blocks sit side
    /// by side and so keep their own `y`.
    fn header_line(&mut self, align: Align, y: &mut u16, style: Style, text: &str, width: u16) {
        let edge = match align {
            Align::Left => LEFT,
            Align::Right => RIGHT,
        };
        self.fitted(
            align,
            edge,
            y.saturating_sub(style.size),
            style,
            text,
            width,
        );
        *y = y.saturating_sub(style.leading);
    }

    fn line_table(&mut self) {
        self.table_heading();
        self.in_table = true;
        let view = self.view;
        for line in &view.lines {
            let cells = [
                &line.description,
                &line.sku,
                &line.quantity,
                &line.unit_price,
                &line.net,
                &line.tax_rate,
                &line.tax,
            ];
            let row = Row::wrap(&COLUMNS, &cells, TABLE);
            let row_height = row.height(TABLE, 3);
            self.ensure_space(row_height);
            let row_top = self.y;
            self.canvas.row(&COLUMNS, row_top, TABLE, row);
            self.y = row_top.saturating_sub(row_height);
        }
        self.in_table = false;
        self.canvas.rule(LEFT, RIGHT, self.y, Grey::Light);
        self.y = self.y.saturating_sub(14);
    }

    fn table_heading(&mut self) {
        self.ensure_space(TABLE.leading.saturating_mul(3));
        let baseline = self.y.saturating_sub(TABLE_HEADING.size);
        self.canvas.headings(&COLUMNS, baseline, TABLE_HEADING);
        let rule_y = baseline.saturating_sub(4);
        self.canvas.rule(LEFT, RIGHT, rule_y, Grey::Light);
        self.y = rule_y.saturating_sub(4);
    }

    fn tax_summary(&mut self) {
        let view = self.view;
        if view.tax_summary.is_empty() {
            return;
        }
        let heading_baseline = self.section_heading("Tax summary");
        let amount_width = 120;
        for (right, label) in [(SUMMARY_NET_RIGHT, "Net"), (RIGHT, "Tax")] {
            self.fitted(
                Align::Right,
                right,
                heading_baseline,
                LABEL,
                label,
                amount_width,
            );
        }
        for row in &view.tax_summary {
            self.ensure_space(BODY.leading);
            let baseline = self.y.saturating_sub(BODY.size);
            self.fitted(Align::Left, LEFT, baseline, BODY, &row.label, 300);
            self.fitted(
                Align::Right,
                SUMMARY_NET_RIGHT,
                baseline,
                BODY,
                &row.net,
                amount_width,
            );
            self.fitted(Align::Right, RIGHT, baseline, BODY, &row.tax, amount_width);
            self.y = self.y.saturating_sub(BODY.leading);
        }
        self.y = self.y.saturating_sub(8);
    }

    fn totals(&mut self) {
        let view = self.view;
        let total = style(Face::Regular, 9, 13);
        // The whole block on one page, so the rule stays above its total.
        self.ensure_space(BODY.leading.saturating_mul(5));
        self.total_row(total, "Net total", &view.net_total);
        self.total_row(total, "Tax total", &view.tax_total);
        self.canvas.rule(TOTALS_LEFT, RIGHT, self.y, Grey::Dark);
        self.y = self.y.saturating_sub(3);
        self.total_row(EMPHASIS, &format!("Total {}", view.currency), &view.total);
        if let Some(functional) = &view.functional_total {
            let width = RIGHT.saturating_sub(TOTALS_LEFT);
            for line in wrap(TABLE.face, TABLE.size, functional, width, 3) {
                self.ensure_space(TABLE.leading);
                let baseline = self.y.saturating_sub(TABLE.size);
                self.canvas
                    .text_right(RIGHT, baseline, TABLE.face, TABLE.size, line);
                self.y = self.y.saturating_sub(TABLE.leading);
            }
        }
        self.y = self.y.saturating_sub(10);
    }

    fn total_row(&mut self, style: Style, label: &str, value: &str) {
        self.ensure_space(style.leading);
        let baseline = self.y.saturating_sub(style.size);
        self.fitted(Align::Left, TOTALS_LEFT, baseline, style, label, 90);
        self.fitted(Align::Right, RIGHT, baseline, style, value, 130);
        self.y = self.y.saturating_sub(style.leading);
    }

    fn closing_sections(&mut self) {
        let view = self.view;
        let mut terms = vec![format!("Terms: {}", view.terms)];
        if let Some(due_date) = &view.due_date {
            terms.push(format!("Due date: {due_date}"));
        }
        if let Some(discount) = &view.discount {
            terms.push(format!("Early-payment discount: {discount}"));
        }
        self.paragraphs("Payment terms", &terms);
        self.paragraphs("Payment instructions", &view.payment_instructions);
        self.paragraphs("References", &view.references);
        self.paragraphs("Notes", &view.notes);
    }

    fn paragraphs(&mut self, heading: &str, paragraphs: &[String]) {
        if paragraphs.is_empty() {
            return;
        }
        self.section_heading(heading);
        for paragraph in paragraphs {
            let lines = wrap(
                BODY.face,
                BODY.size,
                paragraph,
                CONTENT_WIDTH,
                MAX_PARAGRAPH_LINES,
            );
            for line in lines {
                self.ensure_space(BODY.leading);
                let baseline = self.y.saturating_sub(BODY.size);
                self.canvas.text(LEFT, baseline, BODY.face, BODY.size, line);
                self.y = self.y.saturating_sub(BODY.leading);
            }
        }
        self.y = self.y.saturating_sub(8);
    }

    /// Draws a section heading kept with at least its first line; returns
    /// its baseline for column labels beside it.
    fn section_heading(&mut self, heading: &str) -> u16 {
        self.ensure_space(HEADING.leading.saturating_add(BODY.leading));
        let baseline = self.y.saturating_sub(HEADING.size);
        self.fitted(Align::Left, LEFT, baseline, HEADING, heading, CONTENT_WIDTH);
        self.y = self.y.saturating_sub(HEADING.leading);
        baseline
    }

    /// One line cut to `width`, starting at `edge` (left) or ending there
    /// (right).
    fn fitted(
        &mut self,
        align: Align,
        edge: u16,
        baseline: u16,
        style: Style,
        text: &str,
        width: u16,
    ) {
        self.canvas
            .fitted(align, edge, baseline, style, text, width);
    }

    fn ensure_space(&mut self, height: u16) {
        if self.y >= BOTTOM.saturating_add(height) {
            return;
        }
        self.canvas.next_page();
        let view = self.view;
        let continued = format!("{} {} (continued)", view.kind.title(), view.number);
        let baseline = TOP.saturating_sub(CONTINUED.size);
        self.fitted(
            Align::Left,
            LEFT,
            baseline,
            CONTINUED,
            &continued,
            CONTENT_WIDTH,
        );
        self.y = TOP.saturating_sub(CONTINUED.leading);
        if self.in_table {
            self.table_heading();
        }
    }
}
