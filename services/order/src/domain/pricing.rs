//! Pricing: which unit price applies to a line (the source's own price, a
//! contract price, or the price list of the order currency, all by date),
//! then line discounts and the order discount, with every amount rounded
//! half-even to the currency's minor unit and the order discount allocated
//! across lines so that the lines add up to the total exactly.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Violations;
use super::request::{Discount, ParsedLine};
use otc_shared::{Currency, Money};

/// A price valid over a date range (a price list entry or a contract price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceEntry {
    pub unit_price: Decimal,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl PriceEntry {
    fn validity(&self) -> String {
        match self.valid_to {
            Some(to) => format!("valid {} to {to}", self.valid_from),
            None => format!("valid from {}", self.valid_from),
        }
    }
}

/// What the catalogue and the price tables say about one line's SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineLookup {
    /// `None`: the SKU is not in the catalogue (or is inactive).
    pub product: Option<ProductInfo>,
    pub contract_price: Option<PriceEntry>,
    pub list_price: Option<PriceEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInfo {
    pub description: String,
    pub tax_code: String,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// The price the source platform charged.
    Source,
    Contract,
    PriceList,
}

impl PriceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Contract => "contract",
            Self::PriceList => "price_list",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "source" => Some(Self::Source),
            "contract" => Some(Self::Contract),
            "price_list" => Some(Self::PriceList),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub line_id: String,
    pub sku: String,
    pub description: String,
    pub tax_code: String,
    pub quantity: Decimal,
    pub list_price: Option<Decimal>,
    pub unit_price: Decimal,
    pub price_source: PriceSource,
    pub gross_amount: Money,
    pub line_discount: Money,
    pub order_discount_share: Money,
    pub line_amount: Money,
    pub derivation: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedOrder {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    pub total: Money,
}

fn percent_of(amount: &Money, percentage: Decimal) -> Result<Money, otc_shared::MoneyError> {
    amount.times_rounded(percentage / Decimal::ONE_HUNDRED)
}

fn describe_discount(discount: Discount) -> String {
    match discount {
        Discount::Percentage(percentage) => format!("{}%", percentage.normalize()),
        Discount::Amount(amount) => amount.to_string(),
    }
}

struct LineFirstPass {
    line: PricedLine,
    net: Money,
}

/// Prices every line that parsed; adds a violation for each line it cannot
/// price. Returns the priced order only when there were no violations at all.
pub fn price_order(
    currency: Currency,
    order_date: NaiveDate,
    lines: &[(ParsedLine, LineLookup)],
    order_discount: Option<Discount>,
    violations: &mut Violations,
) -> Option<PricedOrder> {
    let mut first_pass = Vec::with_capacity(lines.len());
    for (line, lookup) in lines {
        let field = format!("lines[{}]", line.index);
        let Some(product) = &lookup.product else {
            if !line.sku.is_empty() {
                violations.add(
                    &format!("{field}.sku"),
                    format!("unknown SKU `{}`", line.sku),
                );
            }
            continue;
        };
        if !product.active {
            violations.add(
                &format!("{field}.sku"),
                format!("SKU `{}` is no longer sold", line.sku),
            );
            continue;
        }
        let Some(quantity) = line.quantity else {
            continue;
        };
        let (unit_price, price_source, basis) = if let Some(price) = line.source_price {
            (
                price,
                PriceSource::Source,
                "price charged by the source".to_owned(),
            )
        } else if let Some(contract) = lookup.contract_price {
            (
                contract.unit_price,
                PriceSource::Contract,
                format!("contract price {}", contract.validity()),
            )
        } else if let Some(list) = lookup.list_price {
            (
                list.unit_price,
                PriceSource::PriceList,
                format!("{currency} price list {}", list.validity()),
            )
        } else {
            violations.add(
                &format!("{field}.unit_price"),
                format!(
                    "no contract or list price for SKU `{}` in {currency} on {order_date}",
                    line.sku
                ),
            );
            continue;
        };
        let priced = (|| -> Result<LineFirstPass, String> {
            let gross = Money::rounded(
                quantity
                    .checked_mul(unit_price)
                    .ok_or_else(|| "quantity × unit price is out of range".to_owned())?,
                currency,
            )
            .map_err(|error| error.to_string())?;
            let line_discount = match line.discount {
                None => Money::zero(currency),
                Some(Discount::Percentage(percentage)) => {
                    percent_of(&gross, percentage).map_err(|error| error.to_string())?
                }
                Some(Discount::Amount(amount)) => amount,
            };
            if line_discount.amount() > gross.amount() {
                return Err(format!(
                    "discount {line_discount} exceeds the line's gross amount {gross}"
                ));
            }
            let net = gross
                .checked_sub(&line_discount)
                .map_err(|error| error.to_string())?;
            let mut derivation = format!(
                "{} × {unit_price} {currency} ({basis}{}) = {gross}",
                quantity.normalize(),
                match (price_source, lookup.list_price) {
                    (PriceSource::PriceList, _) | (_, None) => String::new(),
                    (_, Some(list)) => format!("; list price {}", list.unit_price),
                }
            );
            if let Some(discount) = line.discount {
                derivation.push_str(&format!(
                    "; − line discount {} = {line_discount}",
                    describe_discount(discount)
                ));
            }
            Ok(LineFirstPass {
                net,
                line: PricedLine {
                    line_id: line.line_id.clone(),
                    sku: line.sku.clone(),
                    description: line
                        .description
                        .clone()
                        .unwrap_or_else(|| product.description.clone()),
                    tax_code: product.tax_code.clone(),
                    quantity,
                    list_price: lookup.list_price.map(|list| list.unit_price),
                    unit_price,
                    price_source,
                    gross_amount: gross,
                    line_discount,
                    order_discount_share: Money::zero(currency),
                    line_amount: net,
                    derivation,
                },
            })
        })();
        match priced {
            Ok(pass) => first_pass.push(pass),
            Err(reason) => {
                let target = if line.discount.is_some() && reason.contains("discount") {
                    format!("{field}.discount")
                } else {
                    format!("{field}.quantity")
                };
                violations.add(&target, reason);
            }
        }
    }
    if !violations.is_empty() {
        return None;
    }
    let nets: Vec<Money> = first_pass.iter().map(|pass| pass.net).collect();
    let net_total = match Money::sum(currency, &nets) {
        Ok(total) => total,
        Err(error) => {
            violations.add("lines", error.to_string());
            return None;
        }
    };
    let order_discount_amount = match order_discount {
        None => Money::zero(currency),
        Some(Discount::Percentage(percentage)) => match percent_of(&net_total, percentage) {
            Ok(amount) => amount,
            Err(error) => {
                violations.add("order_discount", error.to_string());
                return None;
            }
        },
        Some(Discount::Amount(amount)) => amount,
    };
    if order_discount_amount.amount() > net_total.amount() {
        violations.add(
            "order_discount",
            format!("{order_discount_amount} exceeds the order's net amount {net_total}"),
        );
        return None;
    }
    let shares = if order_discount_amount.is_zero() {
        vec![Money::zero(currency); first_pass.len()]
    } else {
        let ratios: Vec<Decimal> = nets.iter().map(Money::amount).collect();
        match order_discount_amount.allocate(&ratios) {
            Ok(shares) => shares,
            Err(error) => {
                violations.add("order_discount", error.to_string());
                return None;
            }
        }
    };
    let mut priced_lines = Vec::with_capacity(first_pass.len());
    for (pass, share) in first_pass.into_iter().zip(shares) {
        let mut line = pass.line;
        let Ok(amount) = pass.net.checked_sub(&share) else {
            violations.add("order_discount", "cannot be allocated");
            return None;
        };
        line.order_discount_share = share;
        line.line_amount = amount;
        if let Some(discount) = order_discount {
            line.derivation.push_str(&format!(
                "; − share of order discount {} = {share}",
                describe_discount(discount)
            ));
        }
        line.derivation.push_str(&format!("; line amount {amount}"));
        priced_lines.push(line);
    }
    let amounts: Vec<Money> = priced_lines.iter().map(|line| line.line_amount).collect();
    let total = match Money::sum(currency, &amounts) {
        Ok(total) => total,
        Err(error) => {
            violations.add("lines", error.to_string());
            return None;
        }
    };
    debug_assert_eq!(
        total.checked_add(&order_discount_amount).ok(),
        Some(net_total),
        "the order discount allocation must preserve the total"
    );
    Some(PricedOrder {
        currency,
        lines: priced_lines,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn line(index: usize, quantity: &str) -> ParsedLine {
        ParsedLine {
            index,
            line_id: (index + 1).to_string(),
            sku: format!("SKU-{index}"),
            quantity: Some(quantity.parse().unwrap()),
            source_price: None,
            source_price_currency: None,
            discount: None,
            description: None,
        }
    }

    fn lookup(list: Option<&str>, contract: Option<&str>) -> LineLookup {
        let entry = |price: &str| PriceEntry {
            unit_price: price.parse().unwrap(),
            valid_from: date("2026-01-01"),
            valid_to: Some(date("2026-12-31")),
        };
        LineLookup {
            product: Some(ProductInfo {
                description: "Widget".into(),
                tax_code: "STANDARD".into(),
                active: true,
            }),
            contract_price: contract.map(entry),
            list_price: list.map(entry),
        }
    }

    #[test]
    fn contract_beats_list_and_the_derivation_says_so() {
        let mut violations = Violations::new();
        let priced = price_order(
            eur(),
            date("2026-06-01"),
            &[(line(0, "3"), lookup(Some("10.00"), Some("9.333")))],
            None,
            &mut violations,
        )
        .unwrap();
        let priced_line = &priced.lines[0];
        assert_eq!(priced_line.price_source, PriceSource::Contract);
        // 3 × 9.333 = 27.999 → 28.00 (half-even at the cent).
        assert_eq!(priced_line.gross_amount.to_string(), "28.00 EUR");
        assert!(
            priced_line
                .derivation
                .contains("contract price valid 2026-01-01 to 2026-12-31")
        );
        assert!(
            priced_line.derivation.contains("list price 10.00"),
            "{}",
            priced_line.derivation
        );
        assert_eq!(priced.total.to_string(), "28.00 EUR");
    }

    #[test]
    fn order_discount_is_allocated_and_lines_sum_to_the_total() {
        let mut first = line(0, "1");
        first.discount = Some(Discount::Percentage("10".parse().unwrap()));
        let lines = [
            (first, lookup(Some("33.33"), None)),
            (line(1, "1"), lookup(Some("33.33"), None)),
            (line(2, "1"), lookup(Some("33.34"), None)),
        ];
        let mut violations = Violations::new();
        let priced = price_order(
            eur(),
            date("2026-06-01"),
            &lines,
            Some(Discount::Amount(Money::parse("10.00", "EUR").unwrap())),
            &mut violations,
        )
        .unwrap();
        // Net: 30.00 (33.33 - 3.33 rounded half-even from 3.333) + 33.33 + 33.34 = 96.67.
        assert_eq!(priced.lines[0].line_discount.to_string(), "3.33 EUR");
        let shares: Vec<Money> = priced
            .lines
            .iter()
            .map(|l| l.order_discount_share)
            .collect();
        assert_eq!(Money::sum(eur(), &shares).unwrap().to_string(), "10.00 EUR");
        assert_eq!(priced.total.to_string(), "86.67 EUR");
        let sum: Vec<Money> = priced.lines.iter().map(|l| l.line_amount).collect();
        assert_eq!(Money::sum(eur(), &sum).unwrap(), priced.total);
    }

    #[test]
    fn unknown_skus_missing_prices_and_excess_discounts_are_all_reported() {
        let mut discounted = line(2, "1");
        discounted.discount = Some(Discount::Amount(Money::parse("50.00", "EUR").unwrap()));
        let lines = [
            (line(0, "1"), LineLookup::default()),
            (
                line(1, "1"),
                LineLookup {
                    list_price: None,
                    ..lookup(None, None)
                },
            ),
            (discounted, lookup(Some("20.00"), None)),
        ];
        let mut violations = Violations::new();
        assert!(price_order(eur(), date("2026-06-01"), &lines, None, &mut violations).is_none());
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["lines[0].sku", "lines[1].unit_price", "lines[2].discount"]
        );
    }
}
