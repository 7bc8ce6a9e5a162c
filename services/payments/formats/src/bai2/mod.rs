//! BAI version 2 balance reports: file, group and account structure, control totals
//! and record counts of the 49/98/99 trailers, one statement per account.
//!
//! Why not the `bai2` crate (0.4.0): its errors are bare strings without a line, it
//! does not check control totals or record counts, keeps amounts as bare i64 without
//! the currency's minor unit, and pulls clap and env_logger into a library.

mod detail;
mod labels;
mod records;

use chrono::{NaiveDate, NaiveDateTime};

use crate::checks::{Places, check_statement};
use crate::dates::{hhmm, yymmdd};
use crate::error::Fail;
use crate::model::{Account, Balance, Format, Statement};
use crate::money::{check_currency, from_minor_units, minor_units};
use records::{Fields, Record};

/// BAI2 leaves the currency out when it is the US dollar.
const DEFAULT_CURRENCY: &str = "USD";

pub(crate) fn parse(text: &str) -> Result<Vec<Statement>, Fail> {
    let records = records::read(text)?;
    let mut reader = Reader {
        records: records.iter().peekable(),
        last_line: 0,
    };
    reader.file()
}

struct Reader<'a> {
    records: std::iter::Peekable<std::slice::Iter<'a, Record>>,
    last_line: usize,
}

struct FileHeader {
    id: String,
    created_at: NaiveDateTime,
}

struct Group<'a> {
    file: &'a FileHeader,
    number: usize,
    as_of: NaiveDate,
    currency: String,
}

/// The sums a trailer checks: amounts (in minor units, unscaled) and physical records.
#[derive(Default)]
struct Totals {
    amount: i128,
    records: usize,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<&'a Record> {
        let record = self.records.next()?;
        self.last_line = record.line;
        Some(record)
    }

    fn expect(&mut self, what: &str) -> Result<&'a Record, Fail> {
        self.next().ok_or_else(|| {
            let place = format!("line {}", self.last_line.max(1));
            Fail::new(place, format!("file ends before the {what}"))
        })
    }

    fn file(&mut self) -> Result<Vec<Statement>, Fail> {
        let first = self.expect("01 file header")?;
        if first.code != "01" {
            return Err(Fail::new(
                first.place(),
                "the file must start with a 01 file header",
            ));
        }
        let header = file_header(first)?;
        let mut statements = Vec::new();
        let mut totals = Totals {
            amount: 0,
            records: first.physical,
        };
        let mut groups = 0;
        loop {
            let record = self.expect("99 file trailer")?;
            match record.code.as_str() {
                "02" => {
                    groups += 1;
                    let group_totals = self.group(record, &header, groups, &mut statements)?;
                    totals.amount += group_totals.amount;
                    totals.records += group_totals.records;
                }
                "99" => {
                    totals.records += record.physical;
                    trailer(record, &totals, Some(("groups", groups)), "file")?;
                    return self.nothing_after(record).map(|()| statements);
                }
                code => {
                    return Err(unexpected(
                        record,
                        code,
                        "a 02 group header or the 99 file trailer",
                    ));
                }
            }
        }
    }

    fn nothing_after(&mut self, trailer: &Record) -> Result<(), Fail> {
        match self.next() {
            None => Ok(()),
            Some(extra) => {
                let reason = format!(
                    "record {} after the 99 file trailer (line {})",
                    extra.code, trailer.line
                );
                Err(Fail::new(extra.place(), reason))
            }
        }
    }

    fn group(
        &mut self,
        header: &Record,
        file: &FileHeader,
        number: usize,
        statements: &mut Vec<Statement>,
    ) -> Result<Totals, Fail> {
        let group = group_header(header, file, number)?;
        let mut totals = Totals {
            amount: 0,
            records: header.physical,
        };
        let mut accounts = 0;
        loop {
            let record = self.expect("98 group trailer")?;
            match record.code.as_str() {
                "03" => {
                    accounts += 1;
                    let (statement, account_totals) = self.account(record, &group)?;
                    statements.push(statement);
                    totals.amount += account_totals.amount;
                    totals.records += account_totals.records;
                }
                "98" => {
                    totals.records += record.physical;
                    trailer(record, &totals, Some(("accounts", accounts)), "group")?;
                    return Ok(totals);
                }
                code => {
                    return Err(unexpected(
                        record,
                        code,
                        "a 03 account identifier or the 98 group trailer",
                    ));
                }
            }
        }
    }

    fn account(
        &mut self,
        identifier: &Record,
        group: &Group<'_>,
    ) -> Result<(Statement, Totals), Fail> {
        let summary = account_identifier(identifier, group)?;
        let mut totals = Totals {
            amount: summary.total,
            records: identifier.physical,
        };
        let mut entries = Vec::new();
        let mut places = Vec::new();
        loop {
            let record = self.expect("49 account trailer")?;
            match record.code.as_str() {
                "16" => {
                    let position = entries.len() + 1;
                    let (entry, amount) =
                        detail::read(record, &summary.currency, group.as_of, position)?;
                    totals.amount += amount;
                    totals.records += record.physical;
                    entries.push(entry);
                    places.push(record.place());
                }
                "49" => {
                    totals.records += record.physical;
                    let account_total = trailer(record, &totals, None, "account")?;
                    let statement = summary.into_statement(group, entries, &places, identifier)?;
                    return Ok((
                        statement,
                        Totals {
                            amount: account_total,
                            records: totals.records,
                        },
                    ));
                }
                code => {
                    return Err(unexpected(
                        record,
                        code,
                        "a 16 transaction detail or the 49 account trailer",
                    ));
                }
            }
        }
    }
}

fn unexpected(record: &Record, code: &str, expected: &str) -> Fail {
    Fail::new(
        record.place(),
        format!("unexpected record {code}, expected {expected}"),
    )
}

/// `01,sender,receiver,YYMMDD,HHMM,file id,record length,block size,2/`.
fn file_header(record: &Record) -> Result<FileHeader, Fail> {
    let fail = |reason: String| Fail::new(record.place(), reason);
    let mut fields = record.fields();
    let (_sender, _receiver) = (fields.next_field(), fields.next_field());
    let date = yymmdd(fields.next_field()).map_err(fail)?;
    let time = hhmm(fields.next_field()).map_err(fail)?;
    let id = fields.next_field().trim().to_owned();
    if id.is_empty() {
        return Err(fail("missing file identification number".to_owned()));
    }
    let (_length, _block) = (fields.next_field(), fields.next_field());
    let version = fields.next_field();
    if version != "2" {
        return Err(fail(format!(
            "unsupported version `{version}` (expected 2)"
        )));
    }
    Ok(FileHeader {
        id,
        created_at: date.and_time(time),
    })
}

/// `02,receiver,originator,status,YYMMDD,HHMM,currency,modifier/`.
fn group_header<'a>(
    record: &Record,
    file: &'a FileHeader,
    number: usize,
) -> Result<Group<'a>, Fail> {
    let fail = |reason: String| Fail::new(record.place(), reason);
    let mut fields = record.fields();
    let (_receiver, _originator) = (fields.next_field(), fields.next_field());
    let status = fields.next_field();
    if !matches!(status, "1" | "2" | "3" | "4") {
        return Err(fail(format!(
            "invalid group status `{status}` (expected 1-4)"
        )));
    }
    let as_of = yymmdd(fields.next_field()).map_err(fail)?;
    let time = fields.next_field();
    if !time.is_empty() {
        hhmm(time).map_err(fail)?;
    }
    let currency = currency_or_default(fields.next_field(), DEFAULT_CURRENCY).map_err(fail)?;
    Ok(Group {
        file,
        number,
        as_of,
        currency,
    })
}

fn currency_or_default(field: &str, default: &str) -> Result<String, String> {
    if field.is_empty() {
        Ok(default.to_owned())
    } else {
        check_currency(field)
    }
}

/// What an `03` record says, before its details are read.
struct Summary {
    number: String,
    currency: String,
    opening: Option<Balance>,
    closing: Option<Balance>,
    /// Sum of all amounts of the record, for the account control total.
    total: i128,
}

/// `03,account,currency,(type code,amount,item count,funds type[,...])*/`.
fn account_identifier(record: &Record, group: &Group<'_>) -> Result<Summary, Fail> {
    let fail = |reason: String| Fail::new(record.place(), reason);
    let mut fields = record.fields();
    let number = fields.next_field().trim().to_owned();
    if number.is_empty() {
        return Err(fail("missing account number".to_owned()));
    }
    let currency = currency_or_default(fields.next_field(), &group.currency).map_err(fail)?;
    let mut summary = Summary {
        number,
        currency,
        opening: None,
        closing: None,
        total: 0,
    };
    while fields.has_more() {
        summary.item(&mut fields, group.as_of).map_err(fail)?;
    }
    Ok(summary)
}

impl Summary {
    /// One status or summary item; 010 opening ledger and 015 closing ledger are kept.
    fn item(&mut self, fields: &mut Fields<'_>, as_of: NaiveDate) -> Result<(), String> {
        let code = fields.next_field();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid type code `{code}`"));
        }
        let amount = fields.next_field();
        let _item_count = fields.next_field();
        detail::funds_type(fields)?;
        if amount.is_empty() {
            return Ok(());
        }
        self.total += minor_units(amount, true)?;
        let balance = || -> Result<Balance, String> {
            let amount = from_minor_units(amount, true, &self.currency)?;
            Ok(Balance {
                amount,
                currency: self.currency.clone(),
                date: as_of,
            })
        };
        match code {
            "010" => self.opening = Some(balance()?),
            "015" => self.closing = Some(balance()?),
            _ => {}
        }
        Ok(())
    }

    fn into_statement(
        self,
        group: &Group<'_>,
        entries: Vec<crate::model::Entry>,
        places: &[String],
        identifier: &Record,
    ) -> Result<Statement, Fail> {
        let file = group.file;
        let statement = Statement {
            format: Format::Bai2,
            message_id: file.id.clone(),
            statement_id: format!("{}/{}/{}", file.id, group.number, self.number),
            sequence: None,
            account: Account {
                number: Some(self.number),
                currency: Some(self.currency),
                ..Account::default()
            },
            created_at: Some(file.created_at),
            from_date: Some(group.as_of),
            to_date: Some(group.as_of),
            opening_balance: self.opening,
            closing_balance: self.closing,
            entries,
        };
        let closing = identifier.place();
        check_statement(
            &statement,
            &Places {
                entries: places,
                closing: &closing,
            },
        )?;
        Ok(statement)
    }
}

/// `49,total,records/`, `98,total,accounts,records/`, `99,total,groups,records/`:
/// the control total and counts must match what was read. Returns the control total.
fn trailer(
    record: &Record,
    totals: &Totals,
    count: Option<(&str, usize)>,
    level: &str,
) -> Result<i128, Fail> {
    let fail = |reason: String| Fail::new(record.place(), reason);
    let mut fields = record.fields();
    let control =
        minor_units(fields.next_field(), true).map_err(|r| fail(format!("control total: {r}")))?;
    if control != totals.amount {
        return Err(fail(format!(
            "{level} control total {control} does not equal the sum of the {level}'s amounts {}",
            totals.amount
        )));
    }
    if let Some((what, expected)) = count {
        let found = number(fields.next_field()).map_err(fail)?;
        if found != expected {
            return Err(fail(format!(
                "number of {what} {found} does not equal the {expected} in the {level}"
            )));
        }
    }
    let records = number(fields.next_field()).map_err(fail)?;
    if records != totals.records {
        return Err(fail(format!(
            "number of records {records} does not equal the {} records of the {level}",
            totals.records
        )));
    }
    Ok(control)
}

fn number(field: &str) -> Result<usize, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid count `{field}`"));
    }
    field
        .parse()
        .map_err(|_| format!("invalid count `{field}`"))
}
