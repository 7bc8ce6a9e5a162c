//! The discrepancy check: what an invoice bills against what was ordered.
//! Any difference holds the draft and is published, never silently issued.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    pub order_id: String,
    pub order_line_id: String,
    /// QUANTITY, UNIT_PRICE, TAX_CODE, AMOUNT, SKU, CURRENCY, UNKNOWN_LINE.
    pub kind: String,
    pub expected: String,
    pub actual: String,
}

/// A line about to be billed.
pub struct BilledLine<'a> {
    pub order_id: Uuid,
    pub order_line_id: &'a str,
    pub sku: &'a str,
    pub unit_price: Decimal,
    pub currency: &'a str,
    pub tax_code: &'a str,
}

/// The order line as placed (or last amended).
pub struct OrderedLine<'a> {
    pub order_id: Uuid,
    pub line_id: &'a str,
    pub sku: &'a str,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub line_amount: Decimal,
    pub currency: &'a str,
    pub tax_code: &'a str,
}

/// Everything shipped so far of one order line, this invoice included.
pub struct ShippedLine<'a> {
    pub order_id: Uuid,
    pub line_id: &'a str,
    pub quantity: Decimal,
    pub amount: Decimal,
}

fn text(value: Decimal) -> String {
    value.normalize().to_string()
}

pub fn check(
    billed: &[BilledLine<'_>],
    ordered: &[OrderedLine<'_>],
    shipped: &[ShippedLine<'_>],
) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    let mut checked_totals: Vec<(Uuid, &str)> = Vec::new();
    for line in billed {
        let flag = |kind: &str, expected: String, actual: String| Discrepancy {
            order_id: line.order_id.to_string(),
            order_line_id: line.order_line_id.to_owned(),
            kind: kind.to_owned(),
            expected,
            actual,
        };
        let Some(order_line) = ordered.iter().find(|candidate| {
            candidate.order_id == line.order_id && candidate.line_id == line.order_line_id
        }) else {
            found.push(flag(
                "UNKNOWN_LINE",
                "a line of the order".to_owned(),
                format!("line `{}` is not on the order", line.order_line_id),
            ));
            continue;
        };
        if order_line.sku != line.sku {
            found.push(flag("SKU", order_line.sku.to_owned(), line.sku.to_owned()));
        }
        if order_line.currency != line.currency {
            found.push(flag(
                "CURRENCY",
                order_line.currency.to_owned(),
                line.currency.to_owned(),
            ));
        }
        if order_line.unit_price != line.unit_price {
            found.push(flag(
                "UNIT_PRICE",
                text(order_line.unit_price),
                text(line.unit_price),
            ));
        }
        if order_line.tax_code != line.tax_code {
            found.push(flag(
                "TAX_CODE",
                order_line.tax_code.to_owned(),
                line.tax_code.to_owned(),
            ));
        }
        if checked_totals.contains(&(line.order_id, line.order_line_id)) {
            continue;
        }
        checked_totals.push((line.order_id, line.order_line_id));
        if let Some(so_far) = shipped.iter().find(|candidate| {
            candidate.order_id == line.order_id && candidate.line_id == line.order_line_id
        }) {
            if so_far.quantity > order_line.quantity {
                found.push(flag(
                    "QUANTITY",
                    format!("at most {} ordered", text(order_line.quantity)),
                    format!("{} shipped", text(so_far.quantity)),
                ));
            }
            if so_far.amount > order_line.line_amount {
                found.push(flag(
                    "AMOUNT",
                    format!("at most {} (the line amount)", text(order_line.line_amount)),
                    format!("{} billed", text(so_far.amount)),
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn ordered(order_id: Uuid) -> OrderedLine<'static> {
        OrderedLine {
            order_id,
            line_id: "1",
            sku: "SKU-1",
            quantity: dec!(10),
            unit_price: dec!(2.50),
            line_amount: dec!(25.00),
            currency: "EUR",
            tax_code: "STD",
        }
    }

    fn billed(order_id: Uuid) -> BilledLine<'static> {
        BilledLine {
            order_id,
            order_line_id: "1",
            sku: "SKU-1",
            unit_price: dec!(2.5),
            currency: "EUR",
            tax_code: "STD",
        }
    }

    #[test]
    fn a_line_as_ordered_has_no_discrepancy() {
        let order_id = Uuid::now_v7();
        let shipped = [ShippedLine {
            order_id,
            line_id: "1",
            quantity: dec!(10),
            amount: dec!(25),
        }];
        assert!(check(&[billed(order_id)], &[ordered(order_id)], &shipped).is_empty());
    }

    #[test]
    fn every_difference_is_reported() {
        let order_id = Uuid::now_v7();
        let mut line = billed(order_id);
        line.unit_price = dec!(2.60);
        line.tax_code = "RED";
        line.sku = "SKU-2";
        let shipped = [ShippedLine {
            order_id,
            line_id: "1",
            quantity: dec!(11),
            amount: dec!(28.60),
        }];
        let kinds: Vec<String> = check(&[line], &[ordered(order_id)], &shipped)
            .into_iter()
            .map(|found| found.kind)
            .collect();
        assert_eq!(
            kinds,
            ["SKU", "UNIT_PRICE", "TAX_CODE", "QUANTITY", "AMOUNT"]
        );
    }

    #[test]
    fn a_line_missing_from_the_order_is_flagged() {
        let order_id = Uuid::now_v7();
        let mut line = billed(order_id);
        line.order_line_id = "9";
        let found = check(&[line], &[ordered(order_id)], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "UNKNOWN_LINE");
    }
}
