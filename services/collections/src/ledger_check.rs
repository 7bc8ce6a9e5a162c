//! The cross-service ledger check (DESIGN.md, invariant 2): per customer
//! and currency, what collections' AR ledger says is owed against what the
//! payments service's open-item projection says, every difference reported
//! to the cent, and collections' own invariant (balance = invoices - credit
//! notes + debit notes - applied cash - discounts - write-offs) checked on
//! the way.
//!
//! Like with like: payments counts invoices + debit notes - credit notes -
//! applied cash - discounts taken, and keeps a short-pay deduction owed, as
//! collections does; it never hears of collections' write-offs. So the
//! figure compared on the collections side is the ledger balance *before*
//! write-offs (balance + write-offs), and the write-offs are reported
//! beside it. Movements collections has parked (their item not known yet)
//! are in neither balance.
//!
//! [`compare`] is pure; [`LedgerCheck`] reads both services over gRPC and
//! re-reads the customers that differ (events may still be in flight).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::str::FromStr;

use rust_decimal::Decimal;
use tonic::Request;
use tonic::transport::Channel;

use otc_proto::collections::ledger_service_client::LedgerServiceClient;
use otc_proto::collections::{LedgerBalance, ListCustomerBalancesRequest};
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::payments::{
    CustomerBalance, ListCustomerBalancesRequest as PaymentsBalancesRequest,
};
use otc_proto::types::{Money, PageRequest};

/// Customers asked for per page of collections' balances.
const PAGE_SIZE: u32 = 500;
/// Answers can be large for big tenants (payments answers in one message).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("bad {service} URL `{url}`: {reason}")]
    Url {
        service: &'static str,
        url: String,
        reason: String,
    },
    #[error("cannot reach {service} at {url}: {reason}")]
    Connect {
        service: &'static str,
        url: String,
        reason: String,
    },
    #[error("{service} refused ({code:?}): {message}")]
    Refused {
        service: &'static str,
        code: tonic::Code,
        message: String,
    },
    #[error("the token has characters a header cannot carry")]
    Token,
    #[error("{service} answered a malformed {field}: `{value}`")]
    Malformed {
        service: &'static str,
        field: &'static str,
        value: String,
    },
}

/// Both sides as read, per customer and currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub collections: Vec<LedgerBalance>,
    pub payments: Vec<CustomerBalance>,
}

impl Snapshot {
    /// Replaces everything of `customers` with what `fresh` holds of them.
    pub fn replace_customers(&mut self, customers: &BTreeSet<String>, fresh: Snapshot) {
        self.collections
            .retain(|row| !customers.contains(&row.customer_id));
        self.payments
            .retain(|row| !customers.contains(&row.customer_id));
        self.collections.extend(fresh.collections);
        self.payments.extend(fresh.payments);
    }
}

/// One customer and currency on which the services disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub customer_id: String,
    pub currency: String,
    /// Collections' balance before write-offs; `None`: no such row there.
    pub collections: Option<Decimal>,
    /// Payments' balance; `None`: no such row there.
    pub payments: Option<Decimal>,
    /// Collections minus payments (a missing side counts as zero).
    pub difference: Decimal,
    /// Collections' write-offs, left out of the comparison.
    pub write_offs: Decimal,
}

/// A row on which collections' own invariant does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub customer_id: String,
    pub currency: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub customers: usize,
    /// Customer and currency pairs compared.
    pub compared: usize,
    pub differences: Vec<Difference>,
    pub violations: Vec<Violation>,
    /// Write-offs per currency (in collections only, so not compared).
    pub write_offs: BTreeMap<String, Decimal>,
    /// Movements collections holds for items it does not know yet.
    pub parked_movements: u64,
}

impl Report {
    pub fn consistent(&self) -> bool {
        self.differences.is_empty() && self.violations.is_empty()
    }

    /// The customers a re-check should read again.
    pub fn unsettled_customers(&self) -> BTreeSet<String> {
        self.differences
            .iter()
            .map(|difference| difference.customer_id.clone())
            .chain(
                self.violations
                    .iter()
                    .map(|violation| violation.customer_id.clone()),
            )
            .collect()
    }

    /// The report as people read it.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "Ledger check: {} customers, {} customer balances compared (collections' AR ledger against payments' open items).",
            self.customers, self.compared
        );
        let _ = writeln!(
            text,
            "Compared like with like: invoices + debit notes - credit notes - applied cash - discounts taken. \
             Payments does not know collections' write-offs, so collections' balance is taken before them."
        );
        if self.write_offs.is_empty() {
            let _ = writeln!(text, "Write-offs (collections only, not compared): none.");
        } else {
            let listed: Vec<String> = self
                .write_offs
                .iter()
                .map(|(currency, amount)| format!("{currency} {amount}"))
                .collect();
            let _ = writeln!(
                text,
                "Write-offs (collections only, not compared): {}.",
                listed.join(", ")
            );
        }
        if self.parked_movements > 0 {
            let _ = writeln!(
                text,
                "Parked movements (waiting for their invoice in collections, in neither balance): {}.",
                self.parked_movements
            );
        }
        for difference in &self.differences {
            let side = |value: Option<Decimal>| {
                value.map_or_else(|| "missing".to_owned(), |amount| amount.to_string())
            };
            let _ = writeln!(
                text,
                "DIFFERENCE customer {} {}: collections {} (before write-offs of {}), payments {}, difference {} {}",
                difference.customer_id,
                difference.currency,
                side(difference.collections),
                difference.write_offs,
                side(difference.payments),
                difference.currency,
                difference.difference,
            );
        }
        for violation in &self.violations {
            let _ = writeln!(
                text,
                "LEDGER INVARIANT BROKEN customer {} {}: {}",
                violation.customer_id, violation.currency, violation.description
            );
        }
        if self.consistent() {
            let _ = writeln!(text, "Result: consistent to the cent.");
        } else {
            let _ = writeln!(
                text,
                "Result: {} differences, {} ledger invariant violations.",
                self.differences.len(),
                self.violations.len()
            );
        }
        text
    }
}

fn amount(
    service: &'static str,
    field: &'static str,
    money: Option<&Money>,
) -> Result<(Decimal, String), CheckError> {
    let malformed = |value: String| CheckError::Malformed {
        service,
        field,
        value,
    };
    let money = money.ok_or_else(|| malformed("nothing".to_owned()))?;
    let value =
        Decimal::from_str(money.amount.trim()).map_err(|_| malformed(money.amount.clone()))?;
    if money.currency_code.len() != 3 {
        return Err(malformed(money.currency_code.clone()));
    }
    Ok((value, money.currency_code.clone()))
}

/// What collections says of one customer and currency.
struct CollectionsSide {
    before_write_offs: Decimal,
    write_offs: Decimal,
    /// A row of parked movements only: no item, nothing owed yet.
    parked_only: bool,
}

/// Compares both sides; every customer and currency either side knows is
/// compared (a side without the row counts as zero and is reported missing).
pub fn compare(snapshot: &Snapshot) -> Result<Report, CheckError> {
    let mut report = Report::default();
    let mut collections: BTreeMap<(String, String), CollectionsSide> = BTreeMap::new();
    for row in &snapshot.collections {
        let (balance, currency) = amount("collections", "balance", row.balance.as_ref())?;
        let mut kinds = Decimal::ZERO;
        for (field, money) in [
            ("invoices", &row.invoices),
            ("debit_notes", &row.debit_notes),
            ("credit_notes", &row.credit_notes),
            ("applied_cash", &row.applied_cash),
            ("discounts", &row.discounts),
        ] {
            kinds += amount("collections", field, money.as_ref())?.0.abs();
        }
        let (write_offs, _) = amount("collections", "write_offs", row.write_offs.as_ref())?;
        report.parked_movements = report
            .parked_movements
            .saturating_add(u64::from(row.parked_movements));
        for description in &row.violations {
            report.violations.push(Violation {
                customer_id: row.customer_id.clone(),
                currency: currency.clone(),
                description: description.clone(),
            });
        }
        if !write_offs.is_zero() {
            *report.write_offs.entry(currency.clone()).or_default() += write_offs;
        }
        collections.insert(
            (row.customer_id.clone(), currency),
            CollectionsSide {
                before_write_offs: balance + write_offs,
                write_offs,
                parked_only: balance.is_zero() && kinds.is_zero() && write_offs.is_zero(),
            },
        );
    }
    let mut payments: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for row in &snapshot.payments {
        let (balance, currency) = amount("payments", "balance", row.balance.as_ref())?;
        *payments
            .entry((row.customer_id.clone(), currency))
            .or_default() += balance;
    }
    let keys: BTreeSet<(String, String)> = collections
        .iter()
        .filter(|(_, side)| !side.parked_only)
        .map(|(key, _)| key.clone())
        .chain(payments.keys().cloned())
        .collect();
    let customers: BTreeSet<&String> = keys.iter().map(|(customer, _)| customer).collect();
    report.customers = customers.len();
    report.compared = keys.len();
    for (customer_id, currency) in &keys {
        let key = (customer_id.clone(), currency.clone());
        let ours = collections.get(&key).filter(|side| !side.parked_only);
        let theirs = payments.get(&key).copied();
        let collections_figure = ours.map(|side| side.before_write_offs);
        let difference =
            collections_figure.unwrap_or(Decimal::ZERO) - theirs.unwrap_or(Decimal::ZERO);
        if difference.is_zero() && collections_figure.is_some() && theirs.is_some() {
            continue;
        }
        report.differences.push(Difference {
            customer_id: customer_id.clone(),
            currency: currency.clone(),
            collections: collections_figure,
            payments: theirs,
            difference: difference.normalize(),
            write_offs: ours.map_or(Decimal::ZERO, |side| side.write_offs),
        });
    }
    Ok(report)
}

/// gRPC clients of both services, with the caller's token.
pub struct LedgerCheck {
    collections: LedgerServiceClient<Channel>,
    payments: PaymentServiceClient<Channel>,
    authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
}

async fn connect(service: &'static str, url: &str) -> Result<Channel, CheckError> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned()).map_err(|error| {
        CheckError::Url {
            service,
            url: url.to_owned(),
            reason: error.to_string(),
        }
    })?;
    endpoint
        .connect()
        .await
        .map_err(|error| CheckError::Connect {
            service,
            url: url.to_owned(),
            reason: error.to_string(),
        })
}

fn refused(service: &'static str) -> impl Fn(tonic::Status) -> CheckError {
    move |status| CheckError::Refused {
        service,
        code: status.code(),
        message: status.message().to_owned(),
    }
}

impl LedgerCheck {
    pub async fn connect(
        collections_url: &str,
        payments_url: &str,
        token: &str,
    ) -> Result<Self, CheckError> {
        let authorization = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| CheckError::Token)?;
        let collections = LedgerServiceClient::new(connect("collections", collections_url).await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let payments = PaymentServiceClient::new(connect("payments", payments_url).await?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Self {
            collections,
            payments,
            authorization,
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request
    }

    /// Collections' balances of one customer or all, page by page;
    /// `on_page` hears how many customers each page held.
    pub async fn collections_balances(
        &mut self,
        customer_id: Option<&str>,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<LedgerBalance>, CheckError> {
        let mut rows = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = self.request(ListCustomerBalancesRequest {
                customer_id: customer_id.unwrap_or_default().to_owned(),
                page: Some(PageRequest {
                    page_size: PAGE_SIZE,
                    page_token: page_token.clone(),
                }),
            });
            let response = self
                .collections
                .list_customer_balances(request)
                .await
                .map_err(refused("collections"))?
                .into_inner();
            let customers: BTreeSet<&String> = response
                .balances
                .iter()
                .map(|row| &row.customer_id)
                .collect();
            on_page(customers.len());
            rows.extend(response.balances);
            page_token = response
                .page
                .map(|page| page.next_page_token)
                .unwrap_or_default();
            if page_token.is_empty() {
                return Ok(rows);
            }
        }
    }

    pub async fn payments_balances(
        &mut self,
        customer_id: Option<&str>,
    ) -> Result<Vec<CustomerBalance>, CheckError> {
        let request = self.request(PaymentsBalancesRequest {
            customer_id: customer_id.unwrap_or_default().to_owned(),
        });
        Ok(self
            .payments
            .list_customer_balances(request)
            .await
            .map_err(refused("payments"))?
            .into_inner()
            .balances)
    }

    /// Reads both sides (one customer or the whole tenant).
    pub async fn read(
        &mut self,
        customer_id: Option<&str>,
        on_page: impl FnMut(usize),
    ) -> Result<Snapshot, CheckError> {
        let collections = self.collections_balances(customer_id, on_page).await?;
        let payments = self.payments_balances(customer_id).await?;
        Ok(Snapshot {
            collections,
            payments,
        })
    }

    /// Reads `customers` again on both sides into `snapshot`.
    pub async fn reread(
        &mut self,
        snapshot: &mut Snapshot,
        customers: &BTreeSet<String>,
    ) -> Result<(), CheckError> {
        let mut fresh = Snapshot::default();
        for customer_id in customers {
            let one = self.read(Some(customer_id), |_| {}).await?;
            fresh.collections.extend(one.collections);
            fresh.payments.extend(one.payments);
        }
        snapshot.replace_customers(customers, fresh);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use otc_shared::money::column_to_proto as money;

    fn ours(customer: &str, balance: Decimal, write_offs: Decimal) -> LedgerBalance {
        LedgerBalance {
            customer_id: customer.to_owned(),
            balance: Some(money(balance, "EUR")),
            invoices: Some(money(balance + write_offs, "EUR")),
            debit_notes: Some(money(Decimal::ZERO, "EUR")),
            credit_notes: Some(money(Decimal::ZERO, "EUR")),
            applied_cash: Some(money(Decimal::ZERO, "EUR")),
            discounts: Some(money(Decimal::ZERO, "EUR")),
            write_offs: Some(money(write_offs, "EUR")),
            ..LedgerBalance::default()
        }
    }

    fn theirs(customer: &str, balance: Decimal) -> CustomerBalance {
        CustomerBalance {
            customer_id: customer.to_owned(),
            balance: Some(money(balance, "EUR")),
        }
    }

    #[test]
    fn write_offs_are_left_out_and_agreeing_sides_are_consistent() {
        let mut settled = ours("b", dec!(0), dec!(0));
        settled.invoices = Some(money(dec!(50), "EUR"));
        settled.applied_cash = Some(money(dec!(50), "EUR"));
        let snapshot = Snapshot {
            collections: vec![ours("a", dec!(98.50), dec!(1.50)), settled],
            payments: vec![theirs("a", dec!(100.00)), theirs("b", dec!(0))],
        };
        let report = compare(&snapshot).unwrap();
        assert!(report.consistent(), "{}", report.render());
        assert_eq!(report.compared, 2);
        assert_eq!(report.write_offs.get("EUR"), Some(&dec!(1.50)));
        assert!(report.render().contains("consistent to the cent"));
    }

    #[test]
    fn a_cent_apart_is_a_difference_and_a_missing_side_counts() {
        let snapshot = Snapshot {
            collections: vec![
                ours("a", dec!(100.01), dec!(0)),
                ours("c", dec!(5), dec!(0)),
            ],
            payments: vec![theirs("a", dec!(100.00)), theirs("d", dec!(7.25))],
        };
        let report = compare(&snapshot).unwrap();
        assert_eq!(report.differences.len(), 3, "{}", report.render());
        assert_eq!(report.differences[0].difference, dec!(0.01));
        assert_eq!(report.differences[1].payments, None);
        assert_eq!(report.differences[2].collections, None);
        assert_eq!(report.differences[2].difference, dec!(-7.25));
        let text = report.render();
        assert!(text.contains("DIFFERENCE customer a EUR"), "{text}");
        assert!(text.contains("difference EUR 0.01"), "{text}");
        assert_eq!(
            report.unsettled_customers().into_iter().collect::<Vec<_>>(),
            vec!["a", "c", "d"]
        );
    }

    #[test]
    fn parked_only_rows_are_not_accounts_yet_and_violations_fail_the_check() {
        let mut parked = ours("p", dec!(0), dec!(0));
        parked.parked_movements = 2;
        let mut broken = ours("x", dec!(10), dec!(0));
        broken.violations = vec!["open items add up to 10 but movements to 9".to_owned()];
        let snapshot = Snapshot {
            collections: vec![parked, broken],
            payments: vec![theirs("x", dec!(10))],
        };
        let report = compare(&snapshot).unwrap();
        assert!(report.differences.is_empty());
        assert_eq!(report.parked_movements, 2);
        assert_eq!(report.violations.len(), 1);
        assert!(!report.consistent());
        assert!(
            report
                .render()
                .contains("LEDGER INVARIANT BROKEN customer x EUR")
        );
    }

    #[test]
    fn a_malformed_amount_is_an_error_not_a_difference() {
        let mut bad = theirs("a", dec!(1));
        bad.balance = Some(Money {
            amount: "twelve".to_owned(),
            currency_code: "EUR".to_owned(),
        });
        let snapshot = Snapshot {
            collections: Vec::new(),
            payments: vec![bad],
        };
        assert!(matches!(
            compare(&snapshot),
            Err(CheckError::Malformed { .. })
        ));
    }

    #[test]
    fn rereading_replaces_only_the_customers_read_again() {
        let mut snapshot = Snapshot {
            collections: vec![ours("a", dec!(1), dec!(0)), ours("b", dec!(2), dec!(0))],
            payments: vec![theirs("a", dec!(0)), theirs("b", dec!(2))],
        };
        let customers: BTreeSet<String> = ["a".to_owned()].into();
        snapshot.replace_customers(
            &customers,
            Snapshot {
                collections: vec![ours("a", dec!(1), dec!(0))],
                payments: vec![theirs("a", dec!(1))],
            },
        );
        assert!(compare(&snapshot).unwrap().consistent());
    }
}
