//! CSV and XLSX files of the aging. CSV (the `csv` crate) keeps every amount
//! as the exact decimal text. XLSX (`rust_xlsxwriter`, pure Rust) writes
//! amounts as numbers with a two-decimal format so that a spreadsheet can
//! add them up; a spreadsheet number is binary floating point, so each
//! amount is also written as exact text in a column beside it, and the CSV
//! is the file to reconcile with.

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook};

use crate::figures::aging::{AgingLine, CustomerAging};
use crate::topics::amount_text;

pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One row per customer and currency (and one per customer for the
/// functional view, marked `functional`).
fn rows(customers: &[CustomerAging]) -> Vec<(&CustomerAging, &AgingLine, &'static str)> {
    let mut rows = Vec::new();
    for customer in customers {
        for line in &customer.lines {
            rows.push((customer, line, "document"));
        }
        if let Some(functional) = &customer.functional {
            rows.push((customer, functional, "functional"));
        }
    }
    rows
}

fn header(labels: &[String]) -> Vec<String> {
    let mut header = vec![
        "customer_id".to_owned(),
        "legal_name".to_owned(),
        "segment".to_owned(),
        "view".to_owned(),
        "currency".to_owned(),
    ];
    header.extend(labels.iter().cloned());
    header.extend(["total".to_owned(), "overdue".to_owned(), "items".to_owned()]);
    header
}

fn cells(customer: &CustomerAging, line: &AgingLine, view: &str) -> Vec<String> {
    let mut cells = vec![
        customer.customer_id.to_string(),
        customer.legal_name.clone().unwrap_or_default(),
        customer.segment.clone().unwrap_or_default(),
        view.to_owned(),
        line.currency.clone(),
    ];
    cells.extend(
        line.buckets
            .iter()
            .map(|amount| amount_text(*amount, &line.currency)),
    );
    cells.push(amount_text(line.total, &line.currency));
    cells.push(amount_text(line.overdue, &line.currency));
    cells.push(line.items.to_string());
    cells
}

pub fn aging_csv(labels: &[String], customers: &[CustomerAging]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header(labels))?;
    for (customer, line, view) in rows(customers) {
        writer.write_record(cells(customer, line, view))?;
    }
    writer
        .into_inner()
        .map_err(|error| anyhow::anyhow!("{error}"))
}

/// A spreadsheet number for an amount; the exact text is written beside it.
fn number(amount: Decimal) -> f64 {
    amount.to_string().parse().unwrap_or_default()
}

pub fn aging_xlsx(
    as_of: chrono::NaiveDate,
    labels: &[String],
    customers: &[CustomerAging],
) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("AR aging")?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    sheet.write_string_with_format(0, 0, format!("AR aging as of {as_of}"), &bold)?;
    let mut titles = header(labels);
    // Exact text of each amount after the numbers.
    titles.extend(labels.iter().map(|label| format!("{label} (exact)")));
    titles.extend(["total (exact)".to_owned(), "overdue (exact)".to_owned()]);
    for (column, title) in titles.iter().enumerate() {
        sheet.write_string_with_format(2, u16::try_from(column)?, title, &bold)?;
    }
    for (index, (customer, line, view)) in rows(customers).into_iter().enumerate() {
        let row = u32::try_from(index)? + 3;
        let texts = cells(customer, line, view);
        for (column, text) in texts.iter().take(5).enumerate() {
            sheet.write_string(row, u16::try_from(column)?, text)?;
        }
        let mut column = 5_u16;
        let amounts: Vec<Decimal> = line
            .buckets
            .iter()
            .copied()
            .chain([line.total, line.overdue])
            .collect();
        for amount in &amounts {
            sheet.write_number_with_format(row, column, number(*amount), &money)?;
            column += 1;
        }
        sheet.write_number(row, column, number(Decimal::from(line.items)))?;
        column += 1;
        for amount in &amounts {
            sheet.write_string(row, column, amount_text(*amount, &line.currency))?;
            column += 1;
        }
    }
    Ok(workbook.save_to_buffer()?)
}

/// A table of facts: its columns, which of them are amounts, and its rows
/// (amounts as exact decimal text).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub amount_columns: Vec<usize>,
    pub rows: Vec<Vec<String>>,
}

pub fn table_csv(table: &Table) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&table.columns)?;
    for row in &table.rows {
        writer.write_record(row)?;
    }
    writer
        .into_inner()
        .map_err(|error| anyhow::anyhow!("{error}"))
}

/// The table on one sheet: amounts as numbers (two-decimal format) and, at
/// the end, as exact text.
pub fn table_xlsx(title: &str, table: &Table) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Facts")?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    sheet.write_string_with_format(0, 0, title, &bold)?;
    let exact: Vec<String> = table
        .amount_columns
        .iter()
        .filter_map(|index| table.columns.get(*index))
        .map(|name| format!("{name} (exact)"))
        .collect();
    let titles: Vec<String> = table
        .columns
        .iter()
        .map(|name| (*name).to_owned())
        .chain(exact)
        .collect();
    for (column, name) in titles.iter().enumerate() {
        sheet.write_string_with_format(2, u16::try_from(column)?, name, &bold)?;
    }
    for (index, cells) in table.rows.iter().enumerate() {
        let row = u32::try_from(index)? + 3;
        for (column, text) in cells.iter().enumerate() {
            let at = u16::try_from(column)?;
            match text.parse::<Decimal>() {
                Ok(amount) if table.amount_columns.contains(&column) => {
                    sheet.write_number_with_format(row, at, number(amount), &money)?;
                }
                _ => {
                    sheet.write_string(row, at, text)?;
                }
            }
        }
        for (offset, column) in table.amount_columns.iter().enumerate() {
            let at = u16::try_from(table.columns.len() + offset)?;
            if let Some(text) = cells.get(*column) {
                sheet.write_string(row, at, text)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}
