//! What a document shows, frozen at issue from the invoice, its lines, the
//! buyer and the seller: formatted once here so a re-render is identical.

use rust_decimal::Decimal;

use crate::documents::view::{DocumentKindLabel, DocumentView, LineView, Party, TaxSummaryView};
use crate::domain::tax::TaxSummaryRow;
use crate::store::config::TenantSettingsRow;
use crate::store::customers::CustomerRow;
use crate::store::invoices::{InvoiceRecord, LineRecord};
use otc_shared::Currency;
use otc_shared::address::Address;
use otc_shared::terms::PaymentTerms;

/// `1234.5` in EUR -> `1,234.50`; the currency's minor unit, thousands grouped.
pub fn amount_text(amount: Decimal, currency: &str) -> String {
    let scale = Currency::parse(currency).map_or(2, |currency| currency.minor_units());
    let rounded =
        amount.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointNearestEven);
    let mut fixed = rounded;
    fixed.rescale(scale);
    let text = fixed.abs().to_string();
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(whole, fraction)| {
            (whole, Some(fraction))
        });
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

pub fn money_text(amount: Decimal, currency: &str) -> String {
    format!("{currency} {}", amount_text(amount, currency))
}

fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

fn category_label(category: &str, rate: Decimal) -> String {
    match category {
        "exempt" => "exempt".to_owned(),
        "reverse_charge" => "reverse charge".to_owned(),
        _ => percent(rate),
    }
}

/// The tax summary as stored on the invoice (strings: exact decimals).
pub fn summary_json(summary: &[TaxSummaryRow]) -> serde_json::Value {
    serde_json::Value::Array(
        summary
            .iter()
            .map(|row| {
                serde_json::json!({
                    "category": super::category_name(row.category),
                    "rate": row.rate.normalize().to_string(),
                    "net": row.net.amount().to_string(),
                    "tax": row.tax.amount().to_string(),
                })
            })
            .collect(),
    )
}

/// Summary rows read back from the stored JSON.
pub fn summary_rows(value: &serde_json::Value) -> Vec<(String, Decimal, Decimal, Decimal)> {
    let text = |row: &serde_json::Value, name: &str| {
        row.get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let number = |row: &serde_json::Value, name: &str| {
        text(row, name).parse::<Decimal>().unwrap_or_default()
    };
    value
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    (
                        text(row, "category"),
                        number(row, "rate"),
                        number(row, "net"),
                        number(row, "tax"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Summary rows of note lines (credit and debit notes compute them here).
pub fn summary_of_lines(lines: &[LineRecord]) -> serde_json::Value {
    let mut rows: Vec<(String, Decimal, Decimal, Decimal)> = Vec::new();
    for line in lines {
        match rows
            .iter_mut()
            .find(|row| row.0 == line.tax_category && row.1 == line.tax_rate)
        {
            Some(row) => {
                row.2 += line.net;
                row.3 += line.tax;
            }
            None => rows.push((line.tax_category.clone(), line.tax_rate, line.net, line.tax)),
        }
    }
    rows.sort_by(|left, right| left.0.cmp(&right.0).then(left.1.cmp(&right.1)));
    serde_json::Value::Array(
        rows.into_iter()
            .map(|(category, rate, net, tax)| {
                serde_json::json!({
                    "category": category,
                    "rate": rate.normalize().to_string(),
                    "net": net.to_string(),
                    "tax": tax.to_string(),
                })
            })
            .collect(),
    )
}

pub fn document_view(
    record: &InvoiceRecord,
    lines: &[LineRecord],
    customer: &CustomerRow,
    settings: &TenantSettingsRow,
    extra_notes: &[String],
) -> serde_json::Value {
    let currency = record.currency.as_str();
    let kind = match record.kind.as_str() {
        "credit_note" => DocumentKindLabel::CreditNote,
        "debit_note" => DocumentKindLabel::DebitNote,
        _ => DocumentKindLabel::Invoice,
    };
    let seller_address = Address::from_json(&settings.seller_address);
    let buyer_address = Address::from_json(&customer.billing_address);
    let mut notes: Vec<String> = extra_notes.to_vec();
    if lines
        .iter()
        .any(|line| line.tax_category == "reverse_charge")
    {
        notes.push("Reverse charge: the buyer accounts for the tax on this supply.".to_owned());
    }
    if lines.iter().any(|line| line.tax_category == "exempt") {
        notes.push(format!(
            "Exempt from tax: {}.",
            customer
                .tax_exemption_reason
                .clone()
                .unwrap_or_else(|| "exempt customer".to_owned())
        ));
    }
    if let Some(accepted_by) = &record.discrepancy_accepted_by {
        notes.push(format!(
            "Differences with the order were reviewed and accepted by {accepted_by}."
        ));
    }
    if !record.reason.is_empty() {
        notes.push(format!("Reason: {}", record.reason));
    }
    let mut references: Vec<String> = Vec::new();
    for line in lines {
        if let Some(order_id) = line.order_id {
            let reference = format!("Order {order_id}");
            if !references.contains(&reference) {
                references.push(reference);
            }
        }
    }
    if record.billing_period != "PER_SHIPMENT" && record.kind == "invoice" {
        references.push(format!("Billing period {}", record.billing_period));
    }
    let functional_total = match (&record.functional_total_amount, &record.fx_rate) {
        (Some(total), Some(rate)) if record.functional_currency != record.currency => {
            Some(format!(
                "{} at {} ({})",
                money_text(*total, &record.functional_currency),
                rate.normalize(),
                record
                    .fx_rate_date
                    .map(|date| date.to_string())
                    .unwrap_or_default()
            ))
        }
        _ => None,
    };
    let terms = PaymentTerms::parse(&record.payment_terms_code)
        .map(|terms| terms.describe())
        .unwrap_or_else(|_| record.payment_terms_code.clone());
    let discount = match (&record.discount_date, &record.discount_amount) {
        (Some(date), Some(amount)) => Some(format!(
            "Pay by {date} to deduct {} (early-payment discount)",
            money_text(*amount, currency)
        )),
        _ => None,
    };
    let view = DocumentView {
        kind,
        number: record.number.clone().unwrap_or_default(),
        issue_date: record
            .issue_date
            .map(|date| date.to_string())
            .unwrap_or_default(),
        due_date: record.due_date.map(|date| date.to_string()),
        seller: Party {
            name: settings.seller_name.clone(),
            address_lines: seller_address.printed(),
            tax_id: settings.seller_tax_id.clone(),
        },
        buyer: Party {
            name: customer.legal_name.clone(),
            address_lines: buyer_address.printed(),
            tax_id: customer.buyer_tax_id.clone(),
        },
        currency: currency.to_owned(),
        lines: lines
            .iter()
            .map(|line| LineView {
                description: line.description.clone(),
                sku: line.sku.clone(),
                quantity: line.quantity.normalize().to_string(),
                unit_price: line.unit_price.normalize().to_string(),
                net: amount_text(line.net, currency),
                tax_rate: category_label(&line.tax_category, line.tax_rate),
                tax: amount_text(line.tax, currency),
            })
            .collect(),
        tax_summary: summary_rows(&record.tax_summary)
            .into_iter()
            .map(|(category, rate, net, tax)| TaxSummaryView {
                label: match category.as_str() {
                    "exempt" => "Exempt".to_owned(),
                    "reverse_charge" => "Reverse charge".to_owned(),
                    _ => format!("Tax {}", percent(rate)),
                },
                net: amount_text(net, currency),
                tax: amount_text(tax, currency),
            })
            .collect(),
        net_total: money_text(record.net_amount, currency),
        tax_total: money_text(record.tax_amount, currency),
        total: money_text(record.total_amount, currency),
        functional_total,
        terms,
        discount,
        payment_instructions: settings.payment_instructions(),
        references,
        notes,
    };
    serde_json::to_value(&view).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_are_grouped_at_the_minor_unit() {
        assert_eq!(amount_text(dec!(1234567.5), "EUR"), "1,234,567.50");
        assert_eq!(amount_text(dec!(-0.5), "EUR"), "-0.50");
        assert_eq!(amount_text(dec!(1000), "JPY"), "1,000");
        assert_eq!(amount_text(dec!(12.3456), "KWD"), "12.346");
        assert_eq!(amount_text(dec!(999.999), "USD"), "1,000.00");
    }
}
