//! A customer statement as an A4 PDF: the seller and the customer's name
//! and billing address, the period, then per currency the opening balance,
//! the movements (flowing over pages, heading repeated), the closing
//! balance, the functional-currency figures when known and the aging of
//! what is open at the end date; "page n of m" on every page.
//!
//! The same statement always gives the same bytes: the PDF id is derived
//! from the statement itself and no clock is read.

use otc_pdf::{
    Align, Canvas, Column, DocumentInfo, Face, Grey, Op, PdfError, Row, Style, truncate, write_pdf,
};
use prost::Message;

use otc_proto::collections as wire;
use otc_proto::types::Money;

// Whole points on A4 (595 x 842), from the bottom-left corner.
const LEFT: u16 = 42;
const RIGHT: u16 = 553;
const TOP: u16 = 800;
const BOTTOM: u16 = 62;
const FOOTER_BASELINE: u16 = 34;
const CONTENT_WIDTH: u16 = RIGHT - LEFT;
const MAX_ADDRESS_LINES: usize = 8;

const TITLE: Style = Style::new(Face::Bold, 18, 24);
const EMPHASIS: Style = Style::new(Face::Bold, 11, 15);
const LABEL: Style = Style::new(Face::Bold, 8, 11);
const BODY: Style = Style::new(Face::Regular, 9, 12);
const HEADING: Style = Style::new(Face::Bold, 10, 16);
const CONTINUED: Style = Style::new(Face::Bold, 10, 26);
const TABLE: Style = Style::new(Face::Regular, 8, 10);
const TABLE_HEADING: Style = Style::new(Face::Bold, 8, 10);

const MOVEMENTS: [Column; 6] = [
    Column::new("Date", 42, 96, Align::Left, 1),
    Column::new("Document", 100, 228, Align::Left, 2),
    Column::new("Type", 232, 326, Align::Left, 2),
    Column::new("Debit", 330, 404, Align::Right, 1),
    Column::new("Credit", 408, 478, Align::Right, 1),
    Column::new("Balance", 482, 553, Align::Right, 1),
];

const AGING: [Column; 5] = [
    Column::new("Not due", 42, 142, Align::Right, 1),
    Column::new("1-30 days", 146, 246, Align::Right, 1),
    Column::new("31-60 days", 250, 350, Align::Right, 1),
    Column::new("61-90 days", 354, 452, Align::Right, 1),
    Column::new("Over 90 days", 456, 553, Align::Right, 1),
];

/// Renders `statement` issued by `seller` (the tenant's name) to PDF bytes.
/// CPU-bound: async callers should use `spawn_blocking`.
pub fn render_statement(
    statement: &wire::CustomerStatement,
    seller: &str,
) -> Result<Vec<u8>, PdfError> {
    let mut id_source = seller.as_bytes().to_vec();
    id_source.push(0);
    id_source.extend(statement.encode_to_vec());
    let title = format!(
        "Statement {} {} to {}",
        statement.customer_name, statement.from_date, statement.to_date
    );
    let pages = compose(statement, seller);
    let info = DocumentInfo {
        title: &title,
        author: seller,
        subject: &title,
        producer: "otc collections",
    };
    write_pdf(pages, &info, &id_source)
}

/// `1234567.50` -> `1,234,567.50` (the wire amount, grouped for reading).
pub fn grouped(amount: &str) -> String {
    let (sign, digits) = match amount.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", amount),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let mut grouped_whole = String::with_capacity(whole.len().saturating_add(whole.len() / 3));
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len().saturating_sub(index)) % 3 == 0 {
            grouped_whole.push(',');
        }
        grouped_whole.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped_whole}.{fraction}"),
        None => format!("{sign}{grouped_whole}"),
    }
}

fn amount(value: Option<&Money>) -> String {
    value.map_or_else(String::new, |money| grouped(&money.amount))
}

/// A zero debit or credit is left blank, as on a printed statement.
fn side(value: Option<&Money>) -> String {
    match value {
        Some(money) if money.amount.trim_start_matches(['0', '.']).is_empty() => String::new(),
        other => amount(other),
    }
}

fn with_currency(value: Option<&Money>) -> String {
    value.map_or_else(String::new, |money| {
        format!("{} {}", money.currency_code, grouped(&money.amount))
    })
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "INVOICE" => "Invoice",
        "DEBIT_NOTE" => "Debit note",
        "CREDIT_NOTE" => "Credit note",
        "CASH_APPLIED" => "Payment",
        "DISCOUNT_TAKEN" => "Discount taken",
        "CASH_UNAPPLIED" => "Payment reversed",
        "DISCOUNT_UNAPPLIED" => "Discount reversed",
        "WRITE_OFF" => "Write-off",
        _ => "Other",
    }
}

fn compose(statement: &wire::CustomerStatement, seller: &str) -> Vec<Vec<Op>> {
    let mut composer = Composer {
        canvas: Canvas::default(),
        y: TOP,
        continued: format!(
            "Statement of account, {} (continued)",
            statement.customer_name
        ),
        table: None,
    };
    composer.header(statement, seller);
    if statement.currencies.is_empty() {
        composer.paragraph("Nothing was owed and nothing moved in this period.");
    }
    for currency in &statement.currencies {
        composer.currency(statement, currency);
    }
    if statement.parked_movements > 0 {
        composer.paragraph(&format!(
            "{} movements are waiting for their document and are not shown yet.",
            statement.parked_movements
        ));
    }
    let footer = truncate(
        TABLE.face,
        TABLE.size,
        &format!(
            "Statement of account, {}, {} to {}",
            statement.customer_name, statement.from_date, statement.to_date
        ),
        380,
    );
    composer.canvas.finish(|canvas, page, page_count| {
        canvas.rule(LEFT, RIGHT, FOOTER_BASELINE.saturating_add(12), Grey::Light);
        canvas.text(
            LEFT,
            FOOTER_BASELINE,
            TABLE.face,
            TABLE.size,
            footer.clone(),
        );
        canvas.text_right(
            RIGHT,
            FOOTER_BASELINE,
            TABLE.face,
            TABLE.size,
            format!("Page {page} of {page_count}"),
        );
    })
}

struct Composer {
    canvas: Canvas,
    /// Top of the next block, in points from the bottom of the page.
    y: u16,
    continued: String,
    /// Inside a movement table of this currency: a page break repeats the
    /// table's heading.
    table: Option<String>,
}

impl Composer {
    fn header(&mut self, statement: &wire::CustomerStatement, seller: &str) {
        let mut left_y = TOP;
        self.line_at(Align::Left, &mut left_y, EMPHASIS, seller, 260);
        let mut right_y = TOP;
        self.line_at(
            Align::Right,
            &mut right_y,
            TITLE,
            "Statement of account",
            240,
        );
        let period = format!("Period: {} to {}", statement.from_date, statement.to_date);
        self.line_at(Align::Right, &mut right_y, BODY, &period, 240);
        let customer = format!("Customer: {}", statement.customer_id);
        self.line_at(Align::Right, &mut right_y, BODY, &customer, 240);

        let mut buyer_y = left_y.min(right_y).saturating_sub(18);
        self.line_at(Align::Left, &mut buyer_y, LABEL, "Statement for", 300);
        self.line_at(
            Align::Left,
            &mut buyer_y,
            EMPHASIS,
            &statement.customer_name,
            300,
        );
        if let Some(address) = &statement.billing_address {
            let printed = otc_shared::address::Address::from_proto(Some(address))
                .map(|address| address.printed())
                .unwrap_or_default();
            for address_line in printed.iter().take(MAX_ADDRESS_LINES) {
                self.line_at(Align::Left, &mut buyer_y, BODY, address_line, 300);
            }
        }
        self.y = buyer_y.saturating_sub(16);
    }

    /// One cut-to-fit line of the first-page header, whose blocks sit side
    /// by side and so keep their own `y`.
    fn line_at(&mut self, align: Align, y: &mut u16, style: Style, text: &str, width: u16) {
        let edge = match align {
            Align::Left => LEFT,
            Align::Right => RIGHT,
        };
        self.canvas.fitted(
            align,
            edge,
            y.saturating_sub(style.size),
            style,
            text,
            width,
        );
        *y = y.saturating_sub(style.leading);
    }

    fn currency(
        &mut self,
        statement: &wire::CustomerStatement,
        currency: &wire::CurrencyStatement,
    ) {
        let code = &currency.currency_code;
        self.ensure_space(
            HEADING
                .leading
                .saturating_add(BODY.leading.saturating_mul(4)),
        );
        let baseline = self.y.saturating_sub(HEADING.size);
        self.canvas.fitted(
            Align::Left,
            LEFT,
            baseline,
            HEADING,
            &format!("Account in {code}"),
            CONTENT_WIDTH,
        );
        self.y = self.y.saturating_sub(HEADING.leading);
        self.balance_row(
            BODY,
            &format!("Opening balance on {}", statement.from_date),
            currency.opening_balance.as_ref(),
        );
        self.y = self.y.saturating_sub(4);
        self.table = Some(code.clone());
        self.table_heading();
        for line in &currency.lines {
            let cells = [
                line.date.clone(),
                line.item_number.clone(),
                kind_label(&line.kind).to_owned(),
                side(line.debit.as_ref()),
                side(line.credit.as_ref()),
                amount(line.balance.as_ref()),
            ];
            let row = Row::wrap(&MOVEMENTS, &cells, TABLE);
            let height = row.height(TABLE, 3);
            self.ensure_space(height);
            self.canvas.row(&MOVEMENTS, self.y, TABLE, row);
            self.y = self.y.saturating_sub(height);
        }
        if currency.lines.is_empty() {
            self.ensure_space(TABLE.leading);
            let baseline = self.y.saturating_sub(TABLE.size);
            self.canvas.fitted(
                Align::Left,
                LEFT,
                baseline,
                TABLE,
                "No movements in this period.",
                CONTENT_WIDTH,
            );
            self.y = self.y.saturating_sub(TABLE.leading.saturating_add(3));
        }
        self.table = None;
        self.ensure_space(EMPHASIS.leading.saturating_mul(2));
        self.canvas.rule(LEFT, RIGHT, self.y, Grey::Light);
        self.y = self.y.saturating_sub(3);
        let totals = [
            String::new(),
            "Totals".to_owned(),
            String::new(),
            amount(currency.total_debits.as_ref()),
            amount(currency.total_credits.as_ref()),
            String::new(),
        ];
        let row = Row::wrap(&MOVEMENTS, &totals, TABLE_HEADING);
        let height = row.height(TABLE_HEADING, 3);
        self.canvas.row(&MOVEMENTS, self.y, TABLE_HEADING, row);
        self.y = self.y.saturating_sub(height);
        self.canvas.rule(330, RIGHT, self.y, Grey::Dark);
        self.y = self.y.saturating_sub(3);
        self.balance_row(
            EMPHASIS,
            &format!("Closing balance on {}", statement.to_date),
            currency.closing_balance.as_ref(),
        );
        if let (Some(opening), Some(closing)) = (
            currency.functional_opening_balance.as_ref(),
            currency.functional_closing_balance.as_ref(),
        ) {
            self.paragraph(&format!(
                "In the functional currency: opening {}, closing {}.",
                with_currency(Some(opening)),
                with_currency(Some(closing))
            ));
        }
        self.aging(statement, currency);
        self.y = self.y.saturating_sub(12);
    }

    fn balance_row(&mut self, style: Style, label: &str, value: Option<&Money>) {
        self.ensure_space(style.leading);
        let baseline = self.y.saturating_sub(style.size);
        self.canvas
            .fitted(Align::Left, LEFT, baseline, style, label, 300);
        self.canvas.fitted(
            Align::Right,
            RIGHT,
            baseline,
            style,
            &with_currency(value),
            180,
        );
        self.y = self.y.saturating_sub(style.leading);
    }

    fn aging(&mut self, statement: &wire::CustomerStatement, currency: &wire::CurrencyStatement) {
        let Some(aging) = &currency.aging else {
            return;
        };
        self.ensure_space(
            LABEL
                .leading
                .saturating_add(TABLE_HEADING.leading)
                .saturating_add(TABLE.leading.saturating_mul(2)),
        );
        self.y = self.y.saturating_sub(4);
        let baseline = self.y.saturating_sub(LABEL.size);
        self.canvas.fitted(
            Align::Left,
            LEFT,
            baseline,
            LABEL,
            &format!(
                "Aging of the {} balance on {} (days past due)",
                currency.currency_code, statement.to_date
            ),
            CONTENT_WIDTH,
        );
        self.y = self.y.saturating_sub(LABEL.leading);
        let heading_baseline = self.y.saturating_sub(TABLE_HEADING.size);
        self.canvas
            .headings(&AGING, heading_baseline, TABLE_HEADING);
        self.y = self.y.saturating_sub(TABLE_HEADING.leading);
        let cells = [
            amount(aging.not_due.as_ref()),
            amount(aging.days_1_30.as_ref()),
            amount(aging.days_31_60.as_ref()),
            amount(aging.days_61_90.as_ref()),
            amount(aging.over_90.as_ref()),
        ];
        let row = Row::wrap(&AGING, &cells, TABLE);
        let height = row.height(TABLE, 3);
        self.canvas.row(&AGING, self.y, TABLE, row);
        self.y = self.y.saturating_sub(height);
    }

    fn table_heading(&mut self) {
        self.ensure_space(TABLE.leading.saturating_mul(3));
        let baseline = self.y.saturating_sub(TABLE_HEADING.size);
        self.canvas.headings(&MOVEMENTS, baseline, TABLE_HEADING);
        let rule_y = baseline.saturating_sub(4);
        self.canvas.rule(LEFT, RIGHT, rule_y, Grey::Light);
        self.y = rule_y.saturating_sub(4);
    }

    fn paragraph(&mut self, text: &str) {
        for line in otc_pdf::wrap(BODY.face, BODY.size, text, CONTENT_WIDTH, 6) {
            self.ensure_space(BODY.leading);
            let baseline = self.y.saturating_sub(BODY.size);
            self.canvas.text(LEFT, baseline, BODY.face, BODY.size, line);
            self.y = self.y.saturating_sub(BODY.leading);
        }
    }

    fn ensure_space(&mut self, height: u16) {
        if self.y >= BOTTOM.saturating_add(height) {
            return;
        }
        self.canvas.next_page();
        let baseline = TOP.saturating_sub(CONTINUED.size);
        let continued = self.continued.clone();
        self.canvas.fitted(
            Align::Left,
            LEFT,
            baseline,
            CONTINUED,
            &continued,
            CONTENT_WIDTH,
        );
        self.y = TOP.saturating_sub(CONTINUED.leading);
        if let Some(code) = self.table.clone() {
            let baseline = self.y.saturating_sub(LABEL.size);
            self.canvas.fitted(
                Align::Left,
                LEFT,
                baseline,
                LABEL,
                &format!("Account in {code} (continued)"),
                CONTENT_WIDTH,
            );
            self.y = self.y.saturating_sub(LABEL.leading);
            self.table_heading();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otc_shared::money::column_to_proto as money;

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(grouped("1234567.50"), "1,234,567.50");
        assert_eq!(grouped("-1000.00"), "-1,000.00");
        assert_eq!(grouped("999.99"), "999.99");
        assert_eq!(grouped("0.00"), "0.00");
        assert_eq!(grouped("100000"), "100,000");
    }

    #[test]
    fn a_zero_side_is_blank() {
        let zero = money(rust_decimal::Decimal::ZERO, "EUR");
        assert_eq!(side(Some(&zero)), "");
        assert_eq!(side(Some(&money("12.5".parse().unwrap(), "EUR"))), "12.50");
    }

    fn statement(lines: usize) -> wire::CustomerStatement {
        let line = |index: usize| wire::StatementLine {
            date: "2026-03-02".to_owned(),
            item_number: format!("INV-2026-{index:06}"),
            kind: "INVOICE".to_owned(),
            debit: Some(money("100".parse().unwrap(), "EUR")),
            credit: Some(money(rust_decimal::Decimal::ZERO, "EUR")),
            balance: Some(money(
                rust_decimal::Decimal::from(index) * rust_decimal::Decimal::ONE_HUNDRED,
                "EUR",
            )),
            ..Default::default()
        };
        wire::CustomerStatement {
            customer_id: "018f3a2c-7d41-7b9e-a0c2-5e1f00d4c9aa".to_owned(),
            customer_name: "Brasserie Éloïse Müller-Weiß SARL".to_owned(),
            billing_address: Some(otc_proto::types::PostalAddress {
                lines: vec!["14 rue de la Paix".to_owned()],
                city: "Paris".to_owned(),
                postal_code: "75002".to_owned(),
                region: String::new(),
                country_code: "FR".to_owned(),
            }),
            from_date: "2026-03-01".to_owned(),
            to_date: "2026-03-31".to_owned(),
            currencies: vec![wire::CurrencyStatement {
                currency_code: "EUR".to_owned(),
                opening_balance: Some(money("0".parse().unwrap(), "EUR")),
                lines: (1..=lines).map(line).collect(),
                closing_balance: Some(money(
                    rust_decimal::Decimal::from(lines) * rust_decimal::Decimal::ONE_HUNDRED,
                    "EUR",
                )),
                ..Default::default()
            }],
            parked_movements: 0,
        }
    }

    fn text_of(bytes: &[u8]) -> (usize, String) {
        let document = lopdf::Document::load_mem(bytes).unwrap();
        let pages: Vec<u32> = document.get_pages().keys().copied().collect();
        let text = document.extract_text(&pages).unwrap();
        (
            pages.len(),
            text.split_whitespace().collect::<Vec<_>>().join(" "),
        )
    }

    #[test]
    fn a_long_statement_flows_over_pages_and_reads_back() {
        let bytes = render_statement(&statement(200), "acme").unwrap();
        let (pages, text) = text_of(&bytes);
        assert!(pages >= 3, "{pages} pages");
        for expected in [
            "Statement of account",
            "Brasserie Éloïse Müller-Weiß SARL",
            "14 rue de la Paix",
            "Period: 2026-03-01 to 2026-03-31",
            "INV-2026-000200",
            "Closing balance on 2026-03-31 EUR 20,000.00",
            &format!("Page {pages} of {pages}"),
            "Date Document Type Debit Credit Balance",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        assert_eq!(render_statement(&statement(200), "acme").unwrap(), bytes);
        assert_ne!(render_statement(&statement(199), "acme").unwrap(), bytes);
    }
}
