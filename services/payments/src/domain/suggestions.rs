//! A receipt's ranked suggestions as stored (JSONB) and shown to the cash
//! application specialist.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedAllocation {
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub amount: Decimal,
    pub discount: Decimal,
    pub deduction: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub customer_id: Option<Uuid>,
    pub allocations: Vec<SuggestedAllocation>,
    pub unapplied: Decimal,
    pub confidence: u8,
    pub method: String,
    pub explanation: Vec<String>,
}

impl Suggestion {
    pub fn from_proposal(proposal: &otc_cash_matching::Proposal) -> Self {
        Self {
            customer_id: proposal.customer_id,
            allocations: proposal
                .allocations
                .iter()
                .map(|allocation| SuggestedAllocation {
                    invoice_id: allocation.invoice_id,
                    invoice_number: allocation.invoice_number.clone(),
                    amount: allocation.amount,
                    discount: allocation.discount,
                    deduction: allocation.deduction,
                })
                .collect(),
            unapplied: proposal.unapplied,
            confidence: proposal.confidence,
            method: proposal.method.as_str().to_owned(),
            explanation: proposal.explanation.clone(),
        }
    }
}

pub fn to_json(suggestions: &[Suggestion]) -> serde_json::Value {
    serde_json::to_value(suggestions).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()))
}

/// The stored suggestions; a row that does not parse shows none (they are
/// advice, recomputed on the next match).
pub fn from_json(value: &serde_json::Value) -> Vec<Suggestion> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}
