//! What a credit note may take from an issued invoice: everything that
//! remains, chosen lines (by quantity or net amount), or a gross amount spread
//! over the lines; never more than was invoiced, to the minor unit.

use otc_shared::{Currency, Money, MoneyError};
use rust_decimal::Decimal;

use super::tax::TaxCategory;

/// An invoice line as invoiced, and what earlier credit notes already took.
/// Invoice lines are never negative: discounts are inside a line's net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditableLine {
    pub line_ref: String,
    pub quantity: Decimal,
    pub net: Money,
    pub tax: Money,
    /// Quantity returned by earlier credit notes, so that the credit which
    /// returns the last unit takes exactly what remains.
    pub credited_quantity: Decimal,
    pub credited_net: Money,
    pub credited_tax: Money,
    pub category: TaxCategory,
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditRequest {
    /// Everything that remains creditable (cancelling the invoice).
    Full,
    Lines(Vec<LineCredit>),
    /// A gross amount (a goodwill gesture, a price reduction) spread over the
    /// lines in proportion to what remains of each.
    Amount {
        gross: Money,
    },
}

/// One line to credit, by `quantity` (returned goods) or by `net_amount`
/// (a price reduction): exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCredit {
    pub line_ref: String,
    pub quantity: Option<Decimal>,
    pub net_amount: Option<Money>,
}

/// What the credit note takes from one invoice line; `net + tax = gross`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditedLine {
    pub line_ref: String,
    /// Quantity returned (zero for a credit by amount).
    pub quantity: Decimal,
    pub category: TaxCategory,
    pub rate: Decimal,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

/// The credit note's lines and totals (the totals are the sums of the lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNoteAmounts {
    pub lines: Vec<CreditedLine>,
    pub net_total: Money,
    pub tax_total: Money,
    pub gross_total: Money,
}

/// Each error names the request field (`gross`, `line L2 quantity`) or the
/// invoice line it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditError {
    #[error("{field}: would exceed what remains creditable: remaining {remaining}")]
    ExceedsRemaining { field: String, remaining: String },
    #[error("{field}: the invoice has no line `{line_ref}`")]
    UnknownLine { field: String, line_ref: String },
    #[error("{field}: must be greater than zero, not {value}")]
    NotPositive { field: String, value: String },
    #[error("{field}: {found} is not the invoice currency {expected}")]
    CurrencyMismatch {
        field: String,
        expected: Currency,
        found: Currency,
    },
    #[error("{scope}: nothing left to credit")]
    NothingLeft { scope: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}: {source}")]
    Money { field: String, source: MoneyError },
}

/// What is left of one line.
#[derive(Debug, Clone, Copy)]
struct Remaining {
    quantity: Decimal,
    net: Money,
    tax: Money,
    gross: Money,
}

impl Remaining {
    fn is_empty(&self) -> bool {
        self.net.is_zero() && self.tax.is_zero()
    }
}

/// The credit note `request` gives, for an invoice in `currency`.
pub fn compute_credit(
    currency: Currency,
    invoice_lines: &[CreditableLine],
    request: &CreditRequest,
) -> Result<CreditNoteAmounts, CreditError> {
    let remaining = invoice_lines
        .iter()
        .map(|line| remaining_of(currency, line))
        .collect::<Result<Vec<_>, _>>()?;
    let lines = match request {
        CreditRequest::Full => credit_everything(invoice_lines, &remaining)?,
        CreditRequest::Lines(requested) => {
            credit_lines(currency, invoice_lines, &remaining, requested)?
        }
        CreditRequest::Amount { gross } => {
            credit_amount(currency, invoice_lines, &remaining, gross)?
        }
    };
    let field = "credit note totals";
    let sum = |pick: fn(&CreditedLine) -> &Money| {
        Money::sum(currency, lines.iter().map(pick)).map_err(money_error(field))
    };
    let net_total = sum(|line| &line.net)?;
    let tax_total = sum(|line| &line.tax)?;
    let gross_total = sum(|line| &line.gross)?;
    Ok(CreditNoteAmounts {
        lines,
        net_total,
        tax_total,
        gross_total,
    })
}

fn money_error(field: &str) -> impl Fn(MoneyError) -> CreditError + '_ {
    move |source| CreditError::Money {
        field: field.to_owned(),
        source,
    }
}

fn same_currency(field: &str, expected: Currency, money: &Money) -> Result<(), CreditError> {
    if money.currency() == expected {
        return Ok(());
    }
    Err(CreditError::CurrencyMismatch {
        field: field.to_owned(),
        expected,
        found: money.currency(),
    })
}

/// Refuses invoice data no credit could be computed from, rather than
/// crediting from a negative remainder.
fn remaining_of(currency: Currency, line: &CreditableLine) -> Result<Remaining, CreditError> {
    let field = |name: &str| format!("invoice line {} {name}", line.line_ref);
    let amounts = [
        ("net", &line.net),
        ("tax", &line.tax),
        ("credited_net", &line.credited_net),
        ("credited_tax", &line.credited_tax),
    ];
    for (name, amount) in amounts {
        same_currency(&field(name), currency, amount)?;
        if amount.is_negative() {
            return Err(CreditError::Invalid {
                field: field(name),
                reason: format!("is negative ({amount})"),
            });
        }
    }
    let checks = [
        (
            "quantity",
            line.quantity.is_sign_negative() && !line.quantity.is_zero(),
        ),
        (
            "credited_quantity",
            line.credited_quantity.is_sign_negative() && !line.credited_quantity.is_zero(),
        ),
        ("credited_quantity", line.credited_quantity > line.quantity),
        (
            "credited_net",
            line.credited_net.amount() > line.net.amount(),
        ),
        (
            "credited_tax",
            line.credited_tax.amount() > line.tax.amount(),
        ),
    ];
    if let Some((name, _)) = checks.iter().find(|(_, broken)| *broken) {
        return Err(CreditError::Invalid {
            field: field(name),
            reason: "is inconsistent with what was invoiced".to_owned(),
        });
    }
    let net = line
        .net
        .checked_sub(&line.credited_net)
        .map_err(money_error("net"))?;
    let tax = line
        .tax
        .checked_sub(&line.credited_tax)
        .map_err(money_error("tax"))?;
    let gross = net.checked_add(&tax).map_err(money_error("gross"))?;
    Ok(Remaining {
        quantity: line.quantity - line.credited_quantity,
        net,
        tax,
        gross,
    })
}

fn credited(
    line: &CreditableLine,
    quantity: Decimal,
    net: Money,
    tax: Money,
) -> Result<CreditedLine, CreditError> {
    let gross = net.checked_add(&tax).map_err(money_error("gross"))?;
    Ok(CreditedLine {
        line_ref: line.line_ref.clone(),
        quantity,
        category: line.category,
        rate: line.rate,
        net,
        tax,
        gross,
    })
}

fn credit_everything(
    invoice_lines: &[CreditableLine],
    remaining: &[Remaining],
) -> Result<Vec<CreditedLine>, CreditError> {
    let mut lines = Vec::new();
    for (line, left) in invoice_lines.iter().zip(remaining) {
        if !left.is_empty() {
            lines.push(credited(line, left.quantity, left.net, left.tax)?);
        }
    }
    if lines.is_empty() {
        return Err(CreditError::NothingLeft {
            scope: "the invoice".to_owned(),
        });
    }
    Ok(lines)
}

fn credit_lines(
    currency: Currency,
    invoice_lines: &[CreditableLine],
    remaining: &[Remaining],
    requested: &[LineCredit],
) -> Result<Vec<CreditedLine>, CreditError> {
    if requested.is_empty() {
        return Err(CreditError::Invalid {
            field: "lines".to_owned(),
            reason: "name at least one line to credit".to_owned(),
        });
    }
    let mut lines = Vec::with_capacity(requested.len());
    for (index, wanted) in requested.iter().enumerate() {
        let scope = format!("line {}", wanted.line_ref);
        if requested[..index]
            .iter()
            .any(|earlier| earlier.line_ref == wanted.line_ref)
        {
            return Err(CreditError::Invalid {
                field: scope,
                reason: "is requested twice; give it once with the total to credit".to_owned(),
            });
        }
        let position = invoice_lines
            .iter()
            .position(|line| line.line_ref == wanted.line_ref)
            .ok_or_else(|| CreditError::UnknownLine {
                field: format!("lines[{index}]"),
                line_ref: wanted.line_ref.clone(),
            })?;
        let (Some(line), Some(left)) = (invoice_lines.get(position), remaining.get(position))
        else {
            continue;
        };
        if left.is_empty() {
            return Err(CreditError::NothingLeft { scope });
        }
        let credit = match (wanted.quantity, &wanted.net_amount) {
            (Some(quantity), None) => {
                by_quantity(line, left, quantity, &format!("{scope} quantity"))?
            }
            (None, Some(amount)) => {
                by_net_amount(currency, line, left, amount, &format!("{scope} net_amount"))?
            }
            (quantity, _) => {
                let reason = if quantity.is_some() {
                    "give a quantity or a net_amount, not both"
                } else {
                    "give a quantity or a net_amount to credit"
                };
                return Err(CreditError::Invalid {
                    field: scope,
                    reason: reason.to_owned(),
                });
            }
        };
        lines.push(credit);
    }
    Ok(lines)
}

/// `value × numerator / denominator`, rounded half-even to the minor unit.
fn share(
    value: &Money,
    numerator: Decimal,
    denominator: Decimal,
    field: &str,
) -> Result<Money, CreditError> {
    let exact = value
        .amount()
        .checked_mul(numerator)
        .and_then(|product| product.checked_div(denominator))
        .ok_or_else(|| CreditError::Money {
            field: field.to_owned(),
            source: MoneyError::OutOfRange {
                value: format!("{} × {numerator} / {denominator}", value.amount()),
            },
        })?;
    Money::rounded(exact, value.currency()).map_err(money_error(field))
}

fn exceeds(field: &str, remaining: impl ToString) -> CreditError {
    CreditError::ExceedsRemaining {
        field: field.to_owned(),
        remaining: remaining.to_string(),
    }
}

/// Returned goods: the invoiced net and tax in proportion to the quantity,
/// except that the credit returning the last unit takes exactly what
/// remains, so that rounding never leaves or over-takes a cent.
fn by_quantity(
    line: &CreditableLine,
    left: &Remaining,
    quantity: Decimal,
    field: &str,
) -> Result<CreditedLine, CreditError> {
    if quantity <= Decimal::ZERO {
        return Err(CreditError::NotPositive {
            field: field.to_owned(),
            value: quantity.to_string(),
        });
    }
    if line.quantity.is_zero() {
        return Err(CreditError::Invalid {
            field: field.to_owned(),
            reason: "the line was invoiced without a quantity; credit it by net_amount".to_owned(),
        });
    }
    if quantity > left.quantity {
        return Err(exceeds(field, left.quantity.normalize()));
    }
    if quantity == left.quantity {
        return credited(line, quantity, left.net, left.tax);
    }
    let net = share(&line.net, quantity, line.quantity, field)?;
    let tax = share(&line.tax, quantity, line.quantity, field)?;
    if net.amount() > left.net.amount() {
        return Err(exceeds(field, left.net));
    }
    if tax.amount() > left.tax.amount() {
        return Err(exceeds(field, left.tax));
    }
    if net.is_zero() && tax.is_zero() {
        return Err(CreditError::Invalid {
            field: field.to_owned(),
            reason: format!(
                "{quantity} of the line is worth less than the smallest unit of {}",
                net.currency()
            ),
        });
    }
    credited(line, quantity, net, tax)
}

/// A price reduction on one line; its tax follows the proportion of what
/// remains of the line, so the last of it takes exactly the remaining tax.
fn by_net_amount(
    currency: Currency,
    line: &CreditableLine,
    left: &Remaining,
    amount: &Money,
    field: &str,
) -> Result<CreditedLine, CreditError> {
    same_currency(field, currency, amount)?;
    if !amount.is_positive() {
        return Err(CreditError::NotPositive {
            field: field.to_owned(),
            value: amount.to_string(),
        });
    }
    if amount.amount() > left.net.amount() {
        return Err(exceeds(field, left.net));
    }
    let tax = if *amount == left.net {
        left.tax
    } else {
        share(&left.tax, amount.amount(), left.net.amount(), field)?
    };
    credited(line, Decimal::ZERO, *amount, tax)
}

/// Largest-remainder allocation by remaining gross keeps the parts summing
/// to `gross` and each within its line; the tax of each part follows the
/// line's remaining proportion, and the net is the rest.
fn credit_amount(
    currency: Currency,
    invoice_lines: &[CreditableLine],
    remaining: &[Remaining],
    gross: &Money,
) -> Result<Vec<CreditedLine>, CreditError> {
    let field = "gross";
    same_currency(field, currency, gross)?;
    if !gross.is_positive() {
        return Err(CreditError::NotPositive {
            field: field.to_owned(),
            value: gross.to_string(),
        });
    }
    let total_left = Money::sum(currency, remaining.iter().map(|left| &left.gross))
        .map_err(money_error(field))?;
    if total_left.is_zero() {
        return Err(CreditError::NothingLeft {
            scope: "the invoice".to_owned(),
        });
    }
    if gross.amount() > total_left.amount() {
        return Err(exceeds(field, total_left));
    }
    let ratios: Vec<Decimal> = remaining.iter().map(|left| left.gross.amount()).collect();
    let parts = gross.allocate(&ratios).map_err(money_error(field))?;
    let mut lines = Vec::new();
    for ((line, left), part) in invoice_lines.iter().zip(remaining).zip(parts) {
        if part.is_zero() {
            continue;
        }
        let tax = if part == left.gross {
            left.tax
        } else {
            share(&left.tax, part.amount(), left.gross.amount(), field)?
        };
        let net = part.checked_sub(&tax).map_err(money_error(field))?;
        debug_assert!(net.amount() <= left.net.amount() && tax.amount() <= left.tax.amount());
        lines.push(credited(line, Decimal::ZERO, net, tax)?);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests;
