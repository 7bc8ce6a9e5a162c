//! ISO 20022 camt.053 statements and camt.054 notifications, any version from .02 on:
//! the elements read here kept their names across versions, and where they did not
//! (`BIC`/`BICFI`, `Sts`/`Sts/Cd`, `Dbtr/Nm`/`Dbtr/Pty/Nm`) both are read.
//!
//! Why not the `camt053` crate: it reads camt.053 only (no camt.054), reports serde
//! errors as line/column instead of element paths, and pins quick-xml 0.41 and zip.

mod entry;
mod tree;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::checks::{Places, check_statement};
use crate::dates::{iso_date, iso_datetime};
use crate::error::Fail;
use crate::ids::normalise_iban;
use crate::model::{Account, Balance, Direction, Format, Statement};
use crate::money::{Separator, check_currency, parse_amount};
use tree::Node;

const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:camt.";

/// The format and message version a camt namespace names, e.g. `camt.053.001.08`.
pub(crate) fn namespace_format(namespace: &str) -> Option<(Format, u32)> {
    let rest = namespace.strip_prefix(NAMESPACE_PREFIX)?;
    let (message, version) = rest.split_at_checked(8)?;
    let format = match message {
        "053.001." => Format::Camt053,
        "054.001." => Format::Camt054,
        _ => return None,
    };
    let digits_only = version.len() == 2 && version.bytes().all(|b| b.is_ascii_digit());
    let version: u32 = version.parse().ok().filter(|_| digits_only)?;
    (version >= 2).then_some((format, version))
}

pub(crate) fn parse(format: Format, xml: &str) -> Result<Vec<Statement>, Fail> {
    let document = tree::parse(xml)?;
    if document.name != "Document" {
        let reason = format!("root element is <{}>, expected <Document>", document.name);
        return Err(Fail::new(document.path, reason));
    }
    check_namespace(&document, format)?;
    let (body, item) = match format {
        Format::Camt054 => ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
        _ => ("BkToCstmrStmt", "Stmt"),
    };
    let body = document.require(body)?;
    let header = Header::read(body.require("GrpHdr")?)?;
    let items: Vec<&Node> = body.children(item).collect();
    if items.is_empty() {
        return Err(Fail::new(
            body.location_of(item),
            "missing mandatory element",
        ));
    }
    items
        .into_iter()
        .map(|node| statement(format, &header, node))
        .collect()
}

fn check_namespace(document: &Node, format: Format) -> Result<(), Fail> {
    let Some(namespace) = document.namespace.as_deref() else {
        return Err(Fail::new(
            &document.path,
            "missing the ISO 20022 camt namespace",
        ));
    };
    match namespace_format(namespace) {
        Some((found, _)) if found == format => Ok(()),
        Some((found, _)) => {
            let reason = format!("namespace `{namespace}` is {found}, not {format}");
            Err(Fail::new(&document.path, reason))
        }
        None => {
            let reason =
                format!("unsupported namespace `{namespace}` (expected {format}.001.02 or later)");
            Err(Fail::new(&document.path, reason))
        }
    }
}

struct Header {
    message_id: String,
    created_at: NaiveDateTime,
}

impl Header {
    fn read(node: &Node) -> Result<Self, Fail> {
        Ok(Header {
            message_id: node.require_text("MsgId")?,
            created_at: datetime_at(node, "CreDtTm")?,
        })
    }
}

fn statement(format: Format, header: &Header, node: &Node) -> Result<Statement, Fail> {
    let mut account = account(node.require("Acct")?)?;
    let (opening_balance, closing_balance, closing_place) = balances(node)?;
    let own = entry::OwnAccount::of(&account);
    let mut entries = Vec::new();
    let mut places = Vec::new();
    for (index, ntry) in node.children("Ntry").enumerate() {
        entries.push(entry::read(ntry, index + 1, &own)?);
        places.push(ntry.path.clone());
    }
    if account.currency.is_none() {
        account.currency = opening_balance
            .as_ref()
            .or(closing_balance.as_ref())
            .map(|balance| balance.currency.clone())
            .or_else(|| entries.first().map(|entry| entry.currency.clone()));
    }
    let statement = Statement {
        format,
        message_id: header.message_id.clone(),
        statement_id: node.require_text("Id")?,
        sequence: node.text_any(&["ElctrncSeqNb", "LglSeqNb"]),
        account,
        created_at: Some(optional_datetime(node, "CreDtTm")?.unwrap_or(header.created_at)),
        from_date: optional_datetime(node, "FrToDt/FrDtTm")?.map(|at| at.date()),
        to_date: optional_datetime(node, "FrToDt/ToDtTm")?.map(|at| at.date()),
        opening_balance,
        closing_balance,
        entries,
    };
    let closing = closing_place.unwrap_or_else(|| node.path.clone());
    check_statement(
        &statement,
        &Places {
            entries: &places,
            closing: &closing,
        },
    )?;
    Ok(statement)
}

fn account(node: &Node) -> Result<Account, Fail> {
    let iban = node.text_at("Id/IBAN").map(|iban| normalise_iban(&iban));
    let number = node.text_at("Id/Othr/Id");
    if iban.is_none() && number.is_none() {
        return Err(Fail::new(
            node.location_of("Id"),
            "missing account IBAN or Othr/Id",
        ));
    }
    let currency = match node.find("Ccy") {
        Some(ccy) => {
            Some(check_currency(ccy.text()).map_err(|reason| Fail::new(&ccy.path, reason))?)
        }
        None => None,
    };
    Ok(Account {
        iban,
        number,
        currency,
        bic: node.text_any(&["Svcr/FinInstnId/BIC", "Svcr/FinInstnId/BICFI"]),
        owner_name: node.text_at("Ownr/Nm"),
    })
}

/// Balance type codes of ISO 20022 that are not opening or closing booked balances.
const OTHER_BALANCE_CODES: &[&str] = &[
    "CLAV", "FWAV", "ITAV", "ITBD", "OPAV", "INFO", "XPCD", "PRCD",
];

type Balances = (Option<Balance>, Option<Balance>, Option<String>);

/// Opening `OPBD` (else `PRCD`, the previous closing booked) and closing `CLBD`.
fn balances(node: &Node) -> Result<Balances, Fail> {
    let (mut opening, mut previous, mut closing) = (None, None, None);
    for bal in node.children("Bal") {
        // A proprietary balance type has no meaning we could check against.
        let Some(code_node) = bal.find("Tp/CdOrPrtry/Cd") else {
            continue;
        };
        let slot = match code_node.text() {
            "OPBD" => &mut opening,
            "CLBD" => &mut closing,
            "PRCD" => &mut previous,
            code if OTHER_BALANCE_CODES.contains(&code) => continue,
            code => {
                return Err(Fail::new(
                    &code_node.path,
                    format!("unknown balance type `{code}`"),
                ));
            }
        };
        if slot.is_some() {
            let reason = format!("balance type {} appears twice", code_node.text());
            return Err(Fail::new(&bal.path, reason));
        }
        *slot = Some((balance(bal)?, bal.path.clone()));
    }
    let opening = opening.or(previous).map(|(balance, _)| balance);
    let (closing, place) = closing.unzip();
    Ok((opening, closing, place))
}

fn balance(node: &Node) -> Result<Balance, Fail> {
    let (amount, currency) = amount(node.require("Amt")?)?;
    let amount = match direction(node)? {
        Direction::Credit => amount,
        Direction::Debit => -amount,
    };
    Ok(Balance {
        amount,
        currency,
        date: date_choice(node.require("Dt")?)?,
    })
}

/// An `Amt` element: its currency attribute and exact value.
pub(super) fn amount(node: &Node) -> Result<(Decimal, String), Fail> {
    let currency = node
        .attribute("Ccy")
        .ok_or_else(|| Fail::new(&node.path, "missing Ccy attribute"))?;
    let value = parse_amount(node.text(), Separator::Point, currency)
        .map_err(|reason| Fail::new(&node.path, reason))?;
    Ok((value, currency.to_owned()))
}

pub(super) fn direction(node: &Node) -> Result<Direction, Fail> {
    let indicator = node.require("CdtDbtInd")?;
    match indicator.text() {
        "CRDT" => Ok(Direction::Credit),
        "DBIT" => Ok(Direction::Debit),
        other => Err(Fail::new(
            &indicator.path,
            format!("unknown credit/debit indicator `{other}`"),
        )),
    }
}

/// A `DateAndDateTimeChoice`: `Dt` or `DtTm`.
pub(super) fn date_choice(node: &Node) -> Result<NaiveDate, Fail> {
    if let Some(day) = node.find("Dt") {
        return iso_date(day.text()).map_err(|reason| Fail::new(&day.path, reason));
    }
    if node.find("DtTm").is_some() {
        return datetime_at(node, "DtTm").map(|at| at.date());
    }
    Err(Fail::new(
        node.location_of("Dt"),
        "missing mandatory element (Dt or DtTm)",
    ))
}

fn datetime_at(node: &Node, path: &str) -> Result<NaiveDateTime, Fail> {
    let element = node.require(path)?;
    iso_datetime(element.text()).map_err(|reason| Fail::new(&element.path, reason))
}

fn optional_datetime(node: &Node, path: &str) -> Result<Option<NaiveDateTime>, Fail> {
    node.find(path).map(|_| datetime_at(node, path)).transpose()
}
