//! One camt `Ntry` with its `TxDtls`: amounts, references, parties, remittance and
//! return reasons, with batch bookings split into one transaction per detail.

use rust_decimal::Decimal;

use super::tree::Node;
use super::{amount, date_choice, direction};
use crate::error::Fail;
use crate::ids::normalise_iban;
use crate::model::{Account, Direction, Entry, Transaction};

/// The statement's own account, so that a party carrying it is not taken for the
/// counterparty.
pub(super) struct OwnAccount {
    ids: Vec<String>,
}

impl OwnAccount {
    pub(super) fn of(account: &Account) -> Self {
        let ids = account
            .iban
            .iter()
            .chain(account.number.iter())
            .cloned()
            .collect();
        OwnAccount { ids }
    }

    fn is(&self, account: Option<&String>) -> bool {
        account.is_some_and(|id| self.ids.contains(id))
    }
}

pub(super) fn read(node: &Node, position: usize, own: &OwnAccount) -> Result<Entry, Fail> {
    let (amount, currency) = amount(node.require("Amt")?)?;
    let direction = direction(node)?;
    let booking_date = node.find("BookgDt").map(date_choice).transpose()?;
    let value_date = match node.find("ValDt") {
        Some(value) => date_choice(value)?,
        None => booking_date.ok_or_else(|| {
            Fail::new(
                node.location_of("ValDt"),
                "missing mandatory element (ValDt or BookgDt)",
            )
        })?,
    };
    let reference = node
        .text_any(&["AcctSvcrRef", "NtryRef"])
        .unwrap_or_else(|| format!("N{position}"));
    let mut entry = Entry {
        transactions: Vec::new(),
        reversal: reversal(node)?,
        booked: booked(node)?,
        bank_transaction_code: bank_transaction_code(node)?,
        reference,
        direction,
        amount,
        currency,
        booking_date,
        value_date,
    };
    entry.transactions = transactions(node, &entry, own)?;
    Ok(entry)
}

fn reversal(node: &Node) -> Result<bool, Fail> {
    match node.find("RvslInd") {
        None => Ok(false),
        Some(flag) => match flag.text() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(Fail::new(&flag.path, format!("invalid boolean `{other}`"))),
        },
    }
}

/// `Sts` is a code in .02-.07 and `Sts/Cd` from .08 on.
fn booked(node: &Node) -> Result<bool, Fail> {
    let status = node.require("Sts")?;
    let code = status.find("Cd").unwrap_or(status);
    match code.text() {
        "BOOK" => Ok(true),
        "PDNG" | "INFO" | "FUTR" => Ok(false),
        "" => Err(Fail::new(&code.path, "mandatory element is empty")),
        other => Err(Fail::new(
            &code.path,
            format!("unknown entry status `{other}`"),
        )),
    }
}

/// `Domn/Cd/Fmly/Cd/SubFmlyCd` joined with `/`, else the proprietary code.
fn bank_transaction_code(node: &Node) -> Result<Option<String>, Fail> {
    let Some(code) = node.find("BkTxCd") else {
        return Ok(None);
    };
    if let Some(domain) = code.find("Domn") {
        let parts = [
            domain.require_text("Cd")?,
            domain.require_text("Fmly/Cd")?,
            domain.require_text("Fmly/SubFmlyCd")?,
        ];
        return Ok(Some(parts.join("/")));
    }
    Ok(code.text_at("Prtry/Cd"))
}

fn transactions(node: &Node, entry: &Entry, own: &OwnAccount) -> Result<Vec<Transaction>, Fail> {
    let details: Vec<&Node> = node
        .children("NtryDtls")
        .flat_map(|group| group.children("TxDtls"))
        .collect();
    check_batch_count(node, details.len())?;
    if details.is_empty() {
        return Ok(vec![Transaction::whole(
            &entry.reference,
            entry.amount,
            &entry.currency,
        )]);
    }
    let batch = details.len() > 1;
    let mut transactions = Vec::with_capacity(details.len());
    for (index, detail) in details.into_iter().enumerate() {
        let reference = if batch {
            format!("{}/{}", entry.reference, index + 1)
        } else {
            entry.reference.clone()
        };
        transactions.push(transaction(detail, reference, entry, batch, own)?);
    }
    let sum: Decimal = transactions.iter().map(|t| t.amount).sum();
    if sum != entry.amount {
        let reason = format!(
            "transaction details sum to {sum} {} but the entry amount is {}",
            entry.currency, entry.amount
        );
        let place = node
            .children("NtryDtls")
            .next()
            .map_or_else(|| node.location_of("NtryDtls"), |d| d.path.clone());
        return Err(Fail::new(place, reason));
    }
    Ok(transactions)
}

/// A batch that announces a count must deliver that many details.
fn check_batch_count(node: &Node, details: usize) -> Result<(), Fail> {
    let Some(count) = node.find("NtryDtls/Btch/NbOfTxs") else {
        return Ok(());
    };
    let announced: usize = count
        .text()
        .parse()
        .map_err(|_| Fail::new(&count.path, format!("invalid number `{}`", count.text())))?;
    if details > 0 && announced != details {
        let reason = format!("batch announces {announced} transactions but has {details} TxDtls");
        return Err(Fail::new(&count.path, reason));
    }
    Ok(())
}

fn transaction(
    node: &Node,
    reference: String,
    entry: &Entry,
    batch: bool,
    own: &OwnAccount,
) -> Result<Transaction, Fail> {
    let amount = detail_amount(node, entry, batch)?;
    let party = counterparty(node, entry.direction, own);
    Ok(Transaction {
        reference,
        amount,
        currency: entry.currency.clone(),
        end_to_end_id: node
            .text_at("Refs/EndToEndId")
            .filter(|id| id != "NOTPROVIDED"),
        mandate_id: node.text_at("Refs/MndtId"),
        counterparty_name: party.name,
        counterparty_account: party.account,
        counterparty_bic: party.bic,
        remittance: remittance(node),
        return_reason: node.text_any(&["RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"]),
    })
}

/// `Amt` (.04 on) or `AmtDtls/TxAmt/Amt`, in the entry's currency. Only the single
/// detail of a non-batch entry may leave it out.
fn detail_amount(node: &Node, entry: &Entry, batch: bool) -> Result<Decimal, Fail> {
    let element = node.find("Amt").or_else(|| node.find("AmtDtls/TxAmt/Amt"));
    let Some(element) = element else {
        if batch {
            return Err(Fail::new(
                node.location_of("Amt"),
                "missing amount of a batch detail",
            ));
        }
        return Ok(entry.amount);
    };
    let (value, currency) = amount(element)?;
    if currency != entry.currency {
        let reason = format!(
            "detail is in {currency} but the entry is in {}",
            entry.currency
        );
        return Err(Fail::new(&element.path, reason));
    }
    Ok(value)
}

#[derive(Default)]
struct Party {
    name: Option<String>,
    account: Option<String>,
    bic: Option<String>,
}

fn party(node: &Node, role: &str) -> Party {
    let account = node
        .text_at(&format!("RltdPties/{role}Acct/Id/IBAN"))
        .map(|iban| normalise_iban(&iban))
        .or_else(|| node.text_at(&format!("RltdPties/{role}Acct/Id/Othr/Id")));
    Party {
        name: node.text_any(&[
            &format!("RltdPties/{role}/Nm"),
            &format!("RltdPties/{role}/Pty/Nm"),
        ]),
        account,
        bic: node.text_any(&[
            &format!("RltdAgts/{role}Agt/FinInstnId/BIC"),
            &format!("RltdAgts/{role}Agt/FinInstnId/BICFI"),
        ]),
    }
}

/// The payer of a credit, the payee of a debit. Returns of direct debits keep the
/// original roles (we stay the creditor), so a side carrying our own account is
/// passed over for the other one.
fn counterparty(node: &Node, direction: Direction, own: &OwnAccount) -> Party {
    let (first, second) = match direction {
        Direction::Credit => ("Dbtr", "Cdtr"),
        Direction::Debit => ("Cdtr", "Dbtr"),
    };
    let primary = party(node, first);
    if own.is(primary.account.as_ref()) {
        return party(node, second);
    }
    primary
}

/// Unstructured lines joined with spaces, then the structured creditor references.
fn remittance(node: &Node) -> String {
    let Some(info) = node.find("RmtInf") else {
        return String::new();
    };
    let unstructured = info.children("Ustrd").map(Node::text);
    let structured = info
        .children("Strd")
        .filter_map(|strd| strd.find("CdtrRefInf/Ref"))
        .map(Node::text);
    unstructured
        .chain(structured)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
