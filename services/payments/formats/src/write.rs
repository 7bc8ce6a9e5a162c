//! Bank files written the way banks write them: camt.053.001.02 statements
//! (balances that reconcile) and camt.054.001.02 notifications, with credit
//! and debit lines, returns, end-to-end and mandate ids. The simulator
//! produces its bank statements with these, the tests their fixtures;
//! [`crate::parse`] reads them back.

use rust_decimal::Decimal;

/// The account and dates of a file.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// `Stmt/Id` or `Ntfctn/Id` (and `MsgId` with a `MSG-` prefix).
    pub id: &'a str,
    pub own_iban: &'a str,
    /// ISO 4217 code of the account and of every line.
    pub currency: &'a str,
    /// ISO 8601 date of the balances and the creation time.
    pub date: &'a str,
}

/// One booked line of a statement or notification.
#[derive(Debug, Clone)]
pub struct Line {
    pub reference: String,
    pub credit: bool,
    pub amount: Decimal,
    pub payer_name: String,
    pub payer_iban: String,
    pub remittance: String,
    pub end_to_end_id: Option<String>,
    pub mandate_id: Option<String>,
    /// ISO return reason (AC04, MD06, AM04...): makes a debit a return.
    pub return_reason: Option<String>,
    pub value_date: String,
}

impl Line {
    pub fn credit(
        reference: &str,
        amount: &str,
        payer: &str,
        iban: &str,
        remittance: &str,
    ) -> Self {
        Self {
            reference: reference.to_owned(),
            credit: true,
            amount: amount.parse().unwrap_or_default(),
            payer_name: payer.to_owned(),
            payer_iban: iban.to_owned(),
            remittance: remittance.to_owned(),
            end_to_end_id: None,
            mandate_id: None,
            return_reason: None,
            value_date: String::new(),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn entry(line: &Line, header: &Header<'_>) -> String {
    let own_iban = header.own_iban;
    let indicator = if line.credit { "CRDT" } else { "DBIT" };
    let reversal = if line.return_reason.is_some() {
        "<RvslInd>true</RvslInd>"
    } else {
        ""
    };
    let mut refs = String::new();
    if let Some(end_to_end_id) = &line.end_to_end_id {
        refs.push_str(&format!(
            "<EndToEndId>{}</EndToEndId>",
            escape(end_to_end_id)
        ));
    }
    if let Some(mandate_id) = &line.mandate_id {
        refs.push_str(&format!("<MndtId>{}</MndtId>", escape(mandate_id)));
    }
    let parties = if line.credit {
        format!(
            "<Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>",
            escape(&line.payer_name),
            escape(&line.payer_iban)
        )
    } else {
        format!(
            "<Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>\
             <Cdtr><Nm>Us</Nm></Cdtr><CdtrAcct><Id><IBAN>{own_iban}</IBAN></Id></CdtrAcct>",
            escape(&line.payer_name),
            line.payer_iban
        )
    };
    let return_info = line
        .return_reason
        .as_ref()
        .map(|code| format!("<RtrInf><Rsn><Cd>{code}</Cd></Rsn></RtrInf>"))
        .unwrap_or_default();
    let refs = if refs.is_empty() {
        String::new()
    } else {
        format!("<Refs>{refs}</Refs>")
    };
    format!(
        "<Ntry><Amt Ccy=\"{currency}\">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{reversal}\
         <Sts>BOOK</Sts><BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt>\
         <AcctSvcrRef>{reference}</AcctSvcrRef>\
         <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>\
         <NtryDtls><TxDtls>{refs}<RltdPties>{parties}</RltdPties>{return_info}\
         <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
        amount = line.amount,
        currency = escape(header.currency),
        date = if line.value_date.is_empty() {
            header.date
        } else {
            &line.value_date
        },
        reference = escape(&line.reference),
        remittance = escape(&line.remittance),
    )
}

fn balance(code: &str, amount: Decimal, header: &Header<'_>) -> String {
    let indicator = if amount.is_sign_negative() {
        "DBIT"
    } else {
        "CRDT"
    };
    format!(
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{amount}</Amt>\
         <CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>{date}</Dt></Dt></Bal>",
        amount = amount.abs(),
        currency = escape(header.currency),
        date = header.date,
    )
}

/// A camt.053.001.02 statement whose closing balance is the opening
/// balance plus the lines (a line without a value date gets the header's).
pub fn camt053(header: &Header<'_>, opening: Decimal, lines: &[Line]) -> String {
    let movement: Decimal = lines
        .iter()
        .map(|line| {
            if line.credit {
                line.amount
            } else {
                -line.amount
            }
        })
        .sum();
    let entries: String = lines.iter().map(|line| entry(line, header)).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>MSG-{id}</MsgId><CreDtTm>{date}T18:00:00</CreDtTm></GrpHdr>\
         <Stmt><Id>{id}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{date}T18:00:00</CreDtTm>\
         <Acct><Id><IBAN>{own_iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>{open}{close}{entries}</Stmt>\
         </BkToCstmrStmt></Document>\n",
        id = escape(header.id),
        date = header.date,
        own_iban = header.own_iban,
        currency = escape(header.currency),
        open = balance("OPBD", opening, header),
        close = balance("CLBD", opening + movement, header),
    )
}

/// A camt.054.001.02 notification (direct-debit results: settled
/// collections are credits, returns are debits with a reason).
pub fn camt054(header: &Header<'_>, lines: &[Line]) -> String {
    let entries: String = lines.iter().map(|line| entry(line, header)).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\"><BkToCstmrDbtCdtNtfctn>\
         <GrpHdr><MsgId>MSG-{id}</MsgId><CreDtTm>{date}T07:00:00</CreDtTm></GrpHdr>\
         <Ntfctn><Id>{id}</Id><CreDtTm>{date}T07:00:00</CreDtTm>\
         <Acct><Id><IBAN>{own_iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>{entries}</Ntfctn>\
         </BkToCstmrDbtCdtNtfctn></Document>\n",
        id = escape(header.id),
        date = header.date,
        own_iban = header.own_iban,
        currency = escape(header.currency),
    )
}

#[cfg(test)]
#[allow(clippy::panic, reason = "tests")]
mod tests {
    use super::*;
    use crate::{Direction, Format, parse};

    #[test]
    fn a_written_statement_reads_back_line_for_line() {
        let mut fee = Line::credit("F1", "2.50", "Bank", "GB33BUKB20201555555555", "fee");
        fee.credit = false;
        let lines = vec![
            Line::credit(
                "E1",
                "1190.00",
                "Müller & Söhne",
                "DE02120300000000202051",
                "INV-1 <paid>",
            ),
            fee,
        ];
        let header = Header {
            id: "STMT-USD-1",
            own_iban: "GB33BUKB20201555555555",
            currency: "USD",
            date: "2026-12-07",
        };
        let text = camt053(&header, "100".parse().unwrap_or_default(), &lines);
        let statements = parse(Format::Camt053, text.as_bytes());
        let statement = statements.as_ref().map(|all| &all[0]);
        let Ok(statement) = statement else {
            panic!("does not parse: {statements:?}");
        };
        assert_eq!(statement.statement_id, "STMT-USD-1");
        assert_eq!(statement.entries.len(), 2);
        let first = &statement.entries[0];
        assert_eq!(first.currency, "USD");
        assert_eq!(first.direction, Direction::Credit);
        assert_eq!(first.value_date.to_string(), "2026-12-07");
        let detail = &first.transactions[0];
        assert_eq!(detail.counterparty_name.as_deref(), Some("Müller & Söhne"));
        assert_eq!(detail.remittance, "INV-1 <paid>");
        assert_eq!(statement.entries[1].direction, Direction::Debit);
        let closing = statement
            .closing_balance
            .as_ref()
            .map(|balance| balance.amount);
        assert_eq!(closing, Some("1287.50".parse().unwrap_or_default()));
    }
}
