//! What an invoice, credit note or debit note shows, as already-formatted
//! strings: the renderer lays text out and never computes or formats money.
//!
//! The service stores the view as JSON beside the document, so a re-render
//! gives the same PDF bytes.

use serde::{Deserialize, Serialize};

/// Which document this is; decides the title printed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKindLabel {
    Invoice,
    CreditNote,
    DebitNote,
}

impl DocumentKindLabel {
    pub fn title(self) -> &'static str {
        match self {
            Self::Invoice => "Invoice",
            Self::CreditNote => "Credit note",
            Self::DebitNote => "Debit note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub kind: DocumentKindLabel,
    pub number: String,
    pub issue_date: String,
    pub due_date: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    /// ISO 4217 code of the document currency, e.g. `EUR`.
    pub currency: String,
    pub lines: Vec<LineView>,
    /// One row per tax rate (or exemption), in the order to print.
    pub tax_summary: Vec<TaxSummaryView>,
    pub net_total: String,
    pub tax_total: String,
    pub total: String,
    /// The total in the tenant's functional currency with its rate, e.g.
    /// `EUR 1,234.56 at 1.0845 (2026-11-20)`; absent when the currencies agree.
    pub functional_total: Option<String>,
    /// Payment terms as the customer reads them, e.g. `2/10 net 30`.
    pub terms: String,
    /// Early-payment discount, e.g. `2% (EUR 24.69) if paid by 2026-12-01`.
    pub discount: Option<String>,
    pub payment_instructions: Vec<String>,
    /// e.g. `Order 018f…`, `Corrects invoice INV-2026-000012`.
    pub references: Vec<String>,
    /// Reverse-charge wording, discrepancy remarks, the reason of a note.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub address_lines: Vec<String>,
    /// VAT or other tax registration number.
    pub tax_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    pub description: String,
    pub sku: String,
    pub quantity: String,
    pub unit_price: String,
    pub net: String,
    /// `20%`, `exempt` or `reverse charge`.
    pub tax_rate: String,
    pub tax: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSummaryView {
    /// e.g. `VAT 20%`, `Exempt`.
    pub label: String,
    pub net: String,
    pub tax: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn kind_titles_are_the_printed_words() {
        assert_eq!(DocumentKindLabel::Invoice.title(), "Invoice");
        assert_eq!(DocumentKindLabel::CreditNote.title(), "Credit note");
        assert_eq!(DocumentKindLabel::DebitNote.title(), "Debit note");
    }

    #[test]
    fn view_survives_a_json_round_trip() {
        let view = DocumentView {
            kind: DocumentKindLabel::CreditNote,
            number: "CN-2026-000003".to_owned(),
            issue_date: "2026-11-20".to_owned(),
            due_date: None,
            seller: Party {
                name: "Seller GmbH".to_owned(),
                address_lines: vec!["Straße 1".to_owned()],
                tax_id: Some("DE123456789".to_owned()),
            },
            buyer: Party {
                name: "Buyer SARL".to_owned(),
                address_lines: Vec::new(),
                tax_id: None,
            },
            currency: "EUR".to_owned(),
            lines: vec![LineView {
                description: "Returned widget".to_owned(),
                sku: "W-1".to_owned(),
                quantity: "-1".to_owned(),
                unit_price: "10.00".to_owned(),
                net: "-10.00".to_owned(),
                tax_rate: "20%".to_owned(),
                tax: "-2.00".to_owned(),
            }],
            tax_summary: Vec::new(),
            net_total: "-10.00".to_owned(),
            tax_total: "-2.00".to_owned(),
            total: "-12.00".to_owned(),
            functional_total: None,
            terms: "Net 30".to_owned(),
            discount: None,
            payment_instructions: Vec::new(),
            references: vec!["Corrects invoice INV-2026-000012".to_owned()],
            notes: Vec::new(),
        };
        let json = serde_json::to_string(&view).unwrap();
        assert!(json.contains("\"kind\":\"credit_note\""));
        let back: DocumentView = serde_json::from_str(&json).unwrap();
        assert_eq!(back, view);
    }
}
