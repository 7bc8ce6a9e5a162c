//! Bank files for tests, written the way banks write them: camt.053
//! statements (balances that reconcile) and camt.054 notifications, with
//! credit and debit lines, returns and end-to-end ids.

use rust_decimal::Decimal;

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
            value_date: "2026-11-02".to_owned(),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn entry(line: &Line, own_iban: &str) -> String {
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
            line.payer_iban
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
        "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>{reversal}\
         <Sts>BOOK</Sts><BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt>\
         <AcctSvcrRef>{reference}</AcctSvcrRef>\
         <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>\
         <NtryDtls><TxDtls>{refs}<RltdPties>{parties}</RltdPties>{return_info}\
         <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
        amount = line.amount,
        date = line.value_date,
        reference = escape(&line.reference),
        remittance = escape(&line.remittance),
    )
}

fn balance(code: &str, amount: Decimal) -> String {
    let indicator = if amount.is_sign_negative() {
        "DBIT"
    } else {
        "CRDT"
    };
    format!(
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{}</Amt>\
         <CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>2026-11-02</Dt></Dt></Bal>",
        amount.abs()
    )
}

/// A camt.053.001.02 statement of `own_iban` whose closing balance is the
/// opening balance plus the lines.
pub fn camt053(statement_id: &str, own_iban: &str, opening: Decimal, lines: &[Line]) -> String {
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
    let entries: String = lines.iter().map(|line| entry(line, own_iban)).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-11-02T18:00:00</CreDtTm></GrpHdr>\
         <Stmt><Id>{statement_id}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>2026-11-02T18:00:00</CreDtTm>\
         <Acct><Id><IBAN>{own_iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{open}{close}{entries}</Stmt>\
         </BkToCstmrStmt></Document>\n",
        open = balance("OPBD", opening),
        close = balance("CLBD", opening + movement),
    )
}

/// A camt.054.001.02 notification (direct-debit results: settled
/// collections are credits, returns are debits with a reason).
pub fn camt054(notification_id: &str, own_iban: &str, lines: &[Line]) -> String {
    let entries: String = lines.iter().map(|line| entry(line, own_iban)).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\"><BkToCstmrDbtCdtNtfctn>\
         <GrpHdr><MsgId>MSG-{notification_id}</MsgId><CreDtTm>2026-11-05T07:00:00</CreDtTm></GrpHdr>\
         <Ntfctn><Id>{notification_id}</Id><CreDtTm>2026-11-05T07:00:00</CreDtTm>\
         <Acct><Id><IBAN>{own_iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{entries}</Ntfctn>\
         </BkToCstmrDbtCdtNtfctn></Document>\n"
    )
}
