//! SWIFT MT940 customer statements: field order, account, balances, `:61:` lines and
//! their `:86:` details, into the common statement model.
//!
//! Why not the `mt940` crate (1.1.1): its errors carry no line numbers, it does not
//! read SWIFT `{1:}{4:` block wrappers, and it pulls clap, serde_json and strum into a
//! library; the German `?xx` subfields it knows are re-read here in a few lines.

mod info86;
mod line61;
mod lines;

use crate::checks::{Places, check_statement};
use crate::error::Fail;
use crate::ids::{is_bic, normalise_iban, valid_iban};
use crate::model::{Account, Balance, Entry, Format, Statement, Transaction};
use lines::{Field, RawStatement};

pub(crate) fn parse(text: &str) -> Result<Vec<Statement>, Fail> {
    let raw = lines::split(text)?;
    if raw.is_empty() {
        return Err(Fail::new(
            "line 1",
            "no statement in the file (expected :20:)",
        ));
    }
    raw.iter().map(statement).collect()
}

/// Where the reader is in the fixed MT940 field order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    Reference,
    Related,
    Account,
    Number,
    Lines,
    Closing,
    Available,
    Forward,
    Trailer,
}

impl Stage {
    /// The mandatory field that has to come next, if any.
    fn next_mandatory(self) -> Option<&'static str> {
        match self {
            Stage::Start => Some("20"),
            Stage::Reference | Stage::Related => Some("25"),
            Stage::Account => Some("28C"),
            Stage::Number => Some("60F"),
            Stage::Lines => Some("62F"),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Builder {
    reference: String,
    account: Account,
    number: String,
    opening: Option<Balance>,
    closing: Option<(Balance, String)>,
    entries: Vec<Entry>,
    places: Vec<String>,
    /// Whether the last field was a `:61:` that a `:86:` may still describe.
    open_line: bool,
}

fn statement(raw: &RawStatement) -> Result<Statement, Fail> {
    let mut builder = Builder::default();
    let mut stage = Stage::Start;
    for field in &raw.fields {
        stage = builder.field(stage, field)?;
    }
    if let Some(missing) = stage.next_mandatory() {
        let reason = format!("statement ends before mandatory field :{missing}:");
        return Err(Fail::new(format!("line {}", raw.end_line), reason));
    }
    builder.finish()
}

impl Builder {
    fn field(&mut self, stage: Stage, field: &Field) -> Result<Stage, Fail> {
        let fail = |reason: String| Fail::new(field.place(), reason);
        let value = field.value.trim();
        let next = match (stage, field.tag.as_str()) {
            (Stage::Start, "20") => {
                self.reference = non_empty(value, "20").map_err(fail)?;
                Stage::Reference
            }
            (Stage::Reference, "21") => Stage::Related,
            (Stage::Reference | Stage::Related, "25") => {
                self.account = account(value).map_err(fail)?;
                Stage::Account
            }
            (Stage::Account, "28C" | "28") => {
                self.number = non_empty(value, &field.tag).map_err(fail)?;
                Stage::Number
            }
            (Stage::Number, "60F" | "60M") => {
                let balance = line61::parse_balance(value).map_err(fail)?;
                self.account.currency = Some(balance.currency.clone());
                self.opening = Some(balance);
                Stage::Lines
            }
            (Stage::Lines, "61") => {
                self.statement_line(field)?;
                Stage::Lines
            }
            (Stage::Lines, "86") if self.open_line => {
                self.details(field)?;
                Stage::Lines
            }
            (Stage::Lines, "62F" | "62M") => {
                let balance = line61::parse_balance(value).map_err(fail)?;
                self.closing = Some((balance, field.place()));
                Stage::Closing
            }
            (Stage::Closing, "64") => self.other_balance(field, Stage::Available)?,
            (Stage::Closing | Stage::Available | Stage::Forward, "65") => {
                self.other_balance(field, Stage::Forward)?
            }
            // Information about the whole statement: nothing in the model holds it.
            (Stage::Closing | Stage::Available | Stage::Forward, "86") => Stage::Trailer,
            (stage, tag) => return Err(fail(out_of_order(stage, tag))),
        };
        self.open_line = field.tag == "61";
        Ok(next)
    }

    fn statement_line(&mut self, field: &Field) -> Result<(), Fail> {
        let currency = self
            .opening
            .as_ref()
            .map(|b| b.currency.clone())
            .unwrap_or_default();
        let line =
            line61::parse_61(&field.value, &currency).map_err(|r| Fail::new(field.place(), r))?;
        let position = self.entries.len() + 1;
        let reference = line
            .bank_reference
            .clone()
            .unwrap_or_else(|| format!("N{position}"));
        let transaction = Transaction::whole(&reference, line.amount, &currency);
        self.entries.push(Entry {
            reference,
            direction: line.direction,
            amount: line.amount,
            currency,
            booking_date: line.booking_date,
            value_date: line.value_date,
            reversal: line.reversal,
            booked: true,
            bank_transaction_code: Some(line.type_code),
            transactions: vec![transaction],
        });
        self.places.push(field.place());
        Ok(())
    }

    fn details(&mut self, field: &Field) -> Result<(), Fail> {
        let info = info86::parse_86(&field.value).map_err(|r| Fail::new(field.place(), r))?;
        let transaction = self
            .entries
            .last_mut()
            .and_then(|entry| entry.transactions.first_mut())
            .ok_or_else(|| Fail::new(field.place(), ":86: without a :61:"))?;
        transaction.remittance = info.remittance;
        transaction.end_to_end_id = info.end_to_end_id;
        transaction.mandate_id = info.mandate_id;
        transaction.counterparty_name = info.name;
        transaction.counterparty_account = info.account;
        transaction.counterparty_bic = info.bic;
        transaction.return_reason = info.return_reason;
        Ok(())
    }

    /// `:64:`/`:65:` are validated but not kept: the model has booked balances only.
    fn other_balance(&self, field: &Field, next: Stage) -> Result<Stage, Fail> {
        line61::parse_balance(&field.value).map_err(|r| Fail::new(field.place(), r))?;
        Ok(next)
    }

    fn finish(self) -> Result<Statement, Fail> {
        let (closing, closing_place) = self.closing.unzip();
        let statement = Statement {
            format: Format::Mt940,
            message_id: self.reference.clone(),
            statement_id: format!("{}/{}", self.reference, self.number),
            sequence: Some(self.number),
            account: self.account,
            created_at: None,
            from_date: self.opening.as_ref().map(|b| b.date),
            to_date: closing.as_ref().map(|b| b.date),
            opening_balance: self.opening,
            closing_balance: closing,
            entries: self.entries,
        };
        let closing = closing_place.unwrap_or_default();
        check_statement(
            &statement,
            &Places {
                entries: &self.places,
                closing: &closing,
            },
        )?;
        Ok(statement)
    }
}

fn out_of_order(stage: Stage, tag: &str) -> String {
    const KNOWN: &[&str] = &[
        "20", "21", "25", "28", "28C", "60F", "60M", "61", "86", "62F", "62M", "64", "65",
    ];
    if !KNOWN.contains(&tag) {
        return format!("unknown field :{tag}:");
    }
    match stage.next_mandatory() {
        Some(missing) if tag == "86" && stage == Stage::Lines => {
            format!(":86: must follow a :61: (expected :61: or :{missing}:)")
        }
        Some(missing) => format!("missing mandatory field :{missing}: before :{tag}:"),
        None => format!("unexpected field :{tag}: after the closing balance"),
    }
}

fn non_empty(value: &str, tag: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("field :{tag}: is empty"));
    }
    Ok(value.to_owned())
}

/// `:25:` holds an IBAN (some banks append the currency), `BIC/IBAN`, or a national
/// `BLZ/account` number.
fn account(value: &str) -> Result<Account, String> {
    let value = non_empty(value, "25")?;
    let mut account = Account::default();
    let (bank, id) = value.split_once('/').unwrap_or(("", &value));
    if let Some(iban) = valid_iban(id) {
        account.iban = Some(iban);
        account.bic = is_bic(bank).then(|| bank.to_owned());
        return Ok(account);
    }
    let compact = normalise_iban(id);
    let currency_suffix = compact
        .len()
        .checked_sub(3)
        .and_then(|at| compact.split_at_checked(at));
    if let Some((iban, currency)) = currency_suffix
        && currency.bytes().all(|b| b.is_ascii_uppercase())
        && let Some(iban) = valid_iban(iban)
    {
        account.iban = Some(iban);
        return Ok(account);
    }
    account.number = Some(value);
    Ok(account)
}
