//! The format-independent shape of a bank statement: what every reader produces and
//! what cash matching consumes.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

/// A bank file format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// ISO 20022 bank-to-customer statement (camt.053.001.02 and later).
    Camt053,
    /// ISO 20022 debit/credit notification (camt.054.001.02 and later).
    Camt054,
    /// SWIFT MT940 customer statement, plain or in a SWIFT block wrapper.
    Mt940,
    /// BAI version 2 cash management balance report.
    Bai2,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Camt053 => "camt.053",
            Format::Camt054 => "camt.054",
            Format::Mt940 => "MT940",
            Format::Bai2 => "BAI2",
        })
    }
}

/// The name given to [`Format::from_str`] is none we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bank file format `{0}` (expected camt.053, camt.054, MT940 or BAI2)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "camt.053" | "camt053" => Ok(Format::Camt053),
            "camt.054" | "camt054" => Ok(Format::Camt054),
            "mt940" => Ok(Format::Mt940),
            "bai2" => Ok(Format::Bai2),
            _ => Err(UnknownFormat(name.to_owned())),
        }
    }
}

/// The account a statement is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Normalised IBAN (upper case, no spaces) when the bank gave one.
    pub iban: Option<String>,
    /// Any other account number (MT940 `BLZ/number`, BAI2 account number, camt `Othr/Id`).
    pub number: Option<String>,
    /// Account currency (ISO 4217); taken from the balances when the file does not name it.
    pub currency: Option<String>,
    pub bic: Option<String>,
    pub owner_name: Option<String>,
}

/// A booked balance. Debit balances are negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub amount: Decimal,
    pub currency: String,
    pub date: NaiveDate,
}

/// Which way money moved on the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Credit,
    Debit,
}

/// One statement, notification or BAI2 account report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub format: Format,
    /// camt `GrpHdr/MsgId`; MT940 `:20:`; BAI2 file id (01 record).
    pub message_id: String,
    /// camt `Stmt/Id` or `Ntfctn/Id`; MT940 `:20:/:28C:`; BAI2 `file id/group no./account`.
    pub statement_id: String,
    /// camt `ElctrncSeqNb` (else `LglSeqNb`); MT940 `:28C:`.
    pub sequence: Option<String>,
    pub account: Account,
    pub created_at: Option<NaiveDateTime>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub opening_balance: Option<Balance>,
    pub closing_balance: Option<Balance>,
    pub entries: Vec<Entry>,
}

impl Statement {
    /// The key that says "this statement was already imported".
    ///
    /// Built from the account (IBAN, else account number), the account currency, the
    /// statement id and the sequence number, joined with `|` (a `|` or `%` inside a part
    /// is percent-escaped so that parts cannot run into each other). It leaves out the
    /// format, the message id and the creation time on purpose: a bank that re-sends the
    /// same statement in a new message, or re-creates the file, must still hit the same
    /// key. Missing parts are empty.
    pub fn identity(&self) -> String {
        let account = self
            .account
            .iban
            .as_deref()
            .or(self.account.number.as_deref())
            .unwrap_or_default();
        let currency = self.account.currency.as_deref().unwrap_or_default();
        let sequence = self.sequence.as_deref().unwrap_or_default();
        [account, currency, self.statement_id.as_str(), sequence]
            .iter()
            .map(|part| part.replace('%', "%25").replace('|', "%7C"))
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// One booking on the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique within the statement: camt `AcctSvcrRef`, else `NtryRef`, else `N<n>`;
    /// MT940 bank reference after `//`, else `N<n>`; BAI2 bank reference, else `N<n>`.
    pub reference: String,
    pub direction: Direction,
    /// Always positive (or zero); the direction carries the sign.
    pub amount: Decimal,
    pub currency: String,
    pub booking_date: Option<NaiveDate>,
    pub value_date: NaiveDate,
    /// The bank reversed an earlier booking (camt `RvslInd`, MT940 `RC`/`RD`).
    pub reversal: bool,
    /// False for camt entries with status `PDNG`/`INFO`/`FUTR`: they are not on the
    /// booked balance, so the balance check leaves them out. Always true for MT940/BAI2.
    pub booked: bool,
    pub bank_transaction_code: Option<String>,
    /// Never empty; several for a batch booking, summing to `amount`.
    pub transactions: Vec<Transaction>,
}

/// One payment inside an entry (the entry itself when the bank gave no details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Entry reference, plus `/n` for the n-th detail of a batch booking.
    pub reference: String,
    pub amount: Decimal,
    pub currency: String,
    pub end_to_end_id: Option<String>,
    pub mandate_id: Option<String>,
    /// The other party: the payer of a credit, the payee of a debit.
    pub counterparty_name: Option<String>,
    /// Normalised IBAN (upper case, no spaces) or another account id.
    pub counterparty_account: Option<String>,
    pub counterparty_bic: Option<String>,
    pub remittance: String,
    /// ISO 20022 return reason code (AC04, MD06, ...) when the bank gave one.
    pub return_reason: Option<String>,
}

impl Transaction {
    /// The transaction standing for a whole entry that came without details.
    pub(crate) fn whole(reference: &str, amount: Decimal, currency: &str) -> Self {
        Transaction {
            reference: reference.to_owned(),
            amount,
            currency: currency.to_owned(),
            end_to_end_id: None,
            mandate_id: None,
            counterparty_name: None,
            counterparty_account: None,
            counterparty_bic: None,
            remittance: String::new(),
            return_reason: None,
        }
    }
}
