//! Renders a validated batch as pain.008.001.02 XML, elements in schema order,
//! every text escaped.

use quick_xml::escape::escape;
use rust_decimal::Decimal;

use super::validate::{Debit, Document, Group};

const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02";

/// Indented XML built by hand: the structure is fixed, and this keeps the output
/// byte-for-byte stable.
struct Out {
    text: String,
    depth: usize,
}

impl Out {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.text.push_str("  ");
        }
    }

    fn open(&mut self, tag: &str) {
        self.indent();
        self.text.push_str(&format!("<{tag}>\n"));
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.text.push_str(&format!("</{tag}>\n"));
    }

    fn leaf(&mut self, tag: &str, value: &str) {
        self.indent();
        self.text
            .push_str(&format!("<{tag}>{}</{tag}>\n", escape(value)));
    }

    /// `<a><b><c>value</c></b></a>` for a path `a/b/c`.
    fn path(&mut self, path: &str, value: &str) {
        let tags: Vec<&str> = path.split('/').collect();
        let Some((last, outer)) = tags.split_last() else {
            return;
        };
        for tag in outer {
            self.open(tag);
        }
        self.leaf(last, value);
        for tag in outer.iter().rev() {
            self.close(tag);
        }
    }
}

/// Amounts with exactly two decimals; validation already refused more.
fn amount(value: Decimal) -> String {
    let mut value = value;
    value.rescale(2);
    value.to_string()
}

pub(super) fn render(document: &Document) -> String {
    let mut out = Out {
        text: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        depth: 0,
    };
    out.text
        .push_str(&format!("<Document xmlns=\"{NAMESPACE}\">\n"));
    out.depth = 1;
    out.open("CstmrDrctDbtInitn");
    group_header(&mut out, document);
    for group in &document.groups {
        payment_information(&mut out, document, group);
    }
    out.close("CstmrDrctDbtInitn");
    out.text.push_str("</Document>\n");
    out.text
}

fn group_header(out: &mut Out, document: &Document) {
    out.open("GrpHdr");
    out.leaf("MsgId", &document.message_id);
    out.leaf(
        "CreDtTm",
        &document.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
    );
    out.leaf("NbOfTxs", &document.count.to_string());
    out.leaf("CtrlSum", &amount(document.total));
    out.path("InitgPty/Nm", &document.initiating_party);
    out.close("GrpHdr");
}

fn payment_information(out: &mut Out, document: &Document, group: &Group) {
    let creditor = &document.creditor;
    out.open("PmtInf");
    out.leaf("PmtInfId", &group.id);
    out.leaf("PmtMtd", "DD");
    out.leaf("BtchBookg", "true");
    out.leaf("NbOfTxs", &group.collections.len().to_string());
    out.leaf("CtrlSum", &amount(group.total));
    out.open("PmtTpInf");
    out.path("SvcLvl/Cd", "SEPA");
    out.path("LclInstrm/Cd", "CORE");
    out.leaf("SeqTp", group.sequence.code());
    out.close("PmtTpInf");
    out.leaf("ReqdColltnDt", &group.date.format("%Y-%m-%d").to_string());
    out.path("Cdtr/Nm", &creditor.name);
    out.path("CdtrAcct/Id/IBAN", &creditor.iban);
    agent(out, "CdtrAgt", creditor.bic.as_deref());
    out.leaf("ChrgBr", "SLEV");
    out.open("CdtrSchmeId");
    out.open("Id");
    out.open("PrvtId");
    out.open("Othr");
    out.leaf("Id", &creditor.creditor_id);
    out.path("SchmeNm/Prtry", "SEPA");
    out.close("Othr");
    out.close("PrvtId");
    out.close("Id");
    out.close("CdtrSchmeId");
    for debit in &group.collections {
        transaction(out, debit);
    }
    out.close("PmtInf");
}

/// Without a BIC the agent is `NOTPROVIDED`, as the EPC rules for IBAN-only allow.
fn agent(out: &mut Out, tag: &str, bic: Option<&str>) {
    match bic {
        Some(bic) => out.path(&format!("{tag}/FinInstnId/BIC"), bic),
        None => out.path(&format!("{tag}/FinInstnId/Othr/Id"), "NOTPROVIDED"),
    }
}

fn transaction(out: &mut Out, debit: &Debit) {
    out.open("DrctDbtTxInf");
    out.path("PmtId/EndToEndId", &debit.end_to_end_id);
    out.indent();
    out.text.push_str(&format!(
        "<InstdAmt Ccy=\"EUR\">{}</InstdAmt>\n",
        amount(debit.amount)
    ));
    out.open("DrctDbtTx");
    out.open("MndtRltdInf");
    out.leaf("MndtId", &debit.mandate_id);
    out.leaf(
        "DtOfSgntr",
        &debit.mandate_signed_on.format("%Y-%m-%d").to_string(),
    );
    out.close("MndtRltdInf");
    out.close("DrctDbtTx");
    agent(out, "DbtrAgt", debit.debtor_bic.as_deref());
    out.path("Dbtr/Nm", &debit.debtor_name);
    out.path("DbtrAcct/Id/IBAN", &debit.debtor_iban);
    if !debit.remittance.is_empty() {
        out.path("RmtInf/Ustrd", &debit.remittance);
    }
    out.close("DrctDbtTxInf");
}
