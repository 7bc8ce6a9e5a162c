//! The generated ledger: customers (names, accounts, groups) and their open invoices.

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;

use super::text::{company_name, group_names, iban};
use super::{chance, one, pick, uuid};
use crate::model::{Customer, OpenInvoice};

const CURRENCIES: [(&str, u32); 4] = [("EUR", 700), ("USD", 140), ("GBP", 110), ("CHF", 50)];
const EUR_COUNTRIES: [&str; 6] = ["DE", "DE", "FR", "NL", "AT", "ES"];
const TERMS: [u64; 6] = [14, 30, 30, 30, 45, 60];
const PLANS: [i64; 10] = [
    4900, 9900, 14900, 24900, 49900, 99000, 119000, 238000, 59500, 35700,
];

pub(crate) struct World {
    pub customers: Vec<Customer>,
    pub invoices: Vec<OpenInvoice>,
    /// Country of each customer (legal form and account format).
    pub country: Vec<&'static str>,
    /// Billing currency of each customer.
    pub currency: Vec<&'static str>,
    /// Customer (index) of each invoice.
    pub owner: Vec<usize>,
    /// Open invoices of each customer, oldest due first.
    pub open: Vec<Vec<usize>>,
    /// Subsidiaries of each customer.
    pub children: Vec<Vec<usize>>,
    /// Customers with subsidiaries.
    pub parents: Vec<usize>,
    pub today: NaiveDate,
}

impl World {
    pub fn generate(rng: &mut fastrand::Rng, customers: usize, invoices: usize) -> World {
        let today = NaiveDate::from_ymd_opt(2026, 3, 16).unwrap_or_default();
        let mut world = World {
            customers: Vec::with_capacity(customers),
            invoices: Vec::with_capacity(invoices),
            country: Vec::with_capacity(customers),
            currency: Vec::with_capacity(customers),
            owner: Vec::with_capacity(invoices),
            open: vec![Vec::new(); customers],
            children: vec![Vec::new(); customers],
            parents: Vec::new(),
            today,
        };
        world.add_customers(rng, customers);
        world.add_invoices(rng, invoices);
        world
    }

    fn add_customers(&mut self, rng: &mut fastrand::Rng, n: usize) {
        let mut i = 0;
        while i < n {
            let currency = weighted(rng, &CURRENCIES);
            let country = country_for(rng, currency);
            let group = if i % 50 == 7 {
                rng.usize(2..=4).min(n - i - 1)
            } else {
                0
            };
            let names = if group > 0 {
                group_names(rng, country, group)
            } else {
                vec![company_name(rng, country)]
            };
            let parent_id = (group > 0).then(|| uuid(rng));
            for (k, name) in names.into_iter().enumerate() {
                let accounts = if chance(rng, 200) { 2 } else { 1 };
                let customer_id = if k == 0 {
                    parent_id.unwrap_or_else(|| uuid(rng))
                } else {
                    uuid(rng)
                };
                self.customers.push(Customer {
                    customer_id,
                    name,
                    bank_accounts: (0..accounts).map(|_| iban(rng, country)).collect(),
                    parent_id: if k == 0 { None } else { parent_id },
                });
                self.country.push(country);
                self.currency.push(currency);
                if k > 0 {
                    self.children[i].push(i + k);
                }
            }
            if group > 0 {
                self.parents.push(i);
            }
            i += group + 1;
        }
    }

    fn add_invoices(&mut self, rng: &mut fastrand::Rng, n: usize) {
        let customers = self.customers.len();
        let big: Vec<usize> = (0..(customers / 100).max(1))
            .map(|_| rng.usize(0..customers))
            .collect();
        let plan: Vec<Option<i64>> = (0..customers)
            .map(|_| chance(rng, 200).then(|| *pick(rng, &PLANS)))
            .collect();
        let mut drafts: Vec<(NaiveDate, usize, OpenInvoice)> = Vec::with_capacity(n);
        for _ in 0..n {
            let c = if chance(rng, 200) {
                *pick(rng, &big)
            } else {
                rng.usize(0..customers)
            };
            // Open items are mostly recent; a tail is overdue for months.
            let age = match rng.u32(0..100) {
                0..60 => rng.u64(0..45),
                60..85 => rng.u64(45..120),
                _ => rng.u64(120..270),
            };
            let issue = self.today - Days::new(age);
            let currency = if chance(rng, 30) {
                weighted(rng, &CURRENCIES)
            } else {
                self.currency[c]
            };
            let invoice = self.invoice(rng, c, issue, currency, plan[c]);
            drafts.push((issue, c, invoice));
        }
        drafts.sort_by_key(|d| d.0);
        let mut counters: std::collections::BTreeMap<(&str, i32), u32> =
            std::collections::BTreeMap::new();
        for (issue, c, mut invoice) in drafts {
            let series = if chance(rng, 80) { "DN" } else { "INV" };
            let counter = counters.entry((series, issue.year())).or_insert(0);
            *counter += 1 + if chance(rng, 330) { rng.u32(1..3) } else { 0 };
            invoice.number = format!("{series}-{}-{:06}", issue.year(), (*counter).min(999_999));
            self.open[c].push(self.invoices.len());
            self.owner.push(c);
            self.invoices.push(invoice);
        }
        let invoices = &self.invoices;
        for list in &mut self.open {
            list.sort_by(|a, b| {
                let (x, y) = (&invoices[*a], &invoices[*b]);
                x.due_date
                    .cmp(&y.due_date)
                    .then_with(|| x.number.cmp(&y.number))
            });
        }
    }

    fn invoice(
        &self,
        rng: &mut fastrand::Rng,
        c: usize,
        issue: NaiveDate,
        cur: &str,
        plan: Option<i64>,
    ) -> OpenInvoice {
        let gross = match plan {
            Some(p) if !chance(rng, 100) => Decimal::new(p, 2),
            _ => amount(rng),
        };
        let open = if chance(rng, 80) {
            part_of(rng, gross)
        } else {
            gross
        };
        let discounted = open == gross && chance(rng, 150);
        let discount_amount = if discounted {
            (gross * Decimal::new(2, 2)).round_dp(2)
        } else {
            Decimal::ZERO
        };
        OpenInvoice {
            invoice_id: uuid(rng),
            number: String::new(),
            customer_id: self.customers[c].customer_id,
            currency: cur.to_string(),
            open_amount: open,
            issue_date: issue,
            due_date: issue + Days::new(*pick(rng, &TERMS)),
            discount_date: discounted.then(|| issue + Days::new(10)),
            discount_amount,
        }
    }
}

/// Invoice amounts as AR sees them: many small, some large, some round or VAT-round.
fn amount(rng: &mut fastrand::Rng) -> Decimal {
    let cents = match rng.u32(0..100) {
        0..30 => rng.i64(2_000..50_000),
        30..70 => rng.i64(50_000..500_000),
        70..95 => rng.i64(500_000..5_000_000),
        _ => rng.i64(5_000_000..25_000_000),
    };
    let cents = match rng.u32(0..100) {
        0..8 => cents / 10_000 * 10_000,
        8..15 => cents / 10_000 * 11_900,
        _ => cents,
    };
    Decimal::new(cents.max(1_000), 2)
}

/// What is left after an earlier partial payment.
fn part_of(rng: &mut fastrand::Rng, gross: Decimal) -> Decimal {
    let share = Decimal::new(rng.i64(20..90), 2);
    (gross * share).round_dp(2).max(Decimal::ONE)
}

fn weighted(rng: &mut fastrand::Rng, table: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = table.iter().map(|t| t.1).sum();
    let mut roll = rng.u32(0..total.max(1));
    for (item, weight) in table {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    table.first().map_or("EUR", |t| t.0)
}

fn country_for(rng: &mut fastrand::Rng, currency: &str) -> &'static str {
    match currency {
        "USD" => "US",
        "GBP" => "GB",
        "CHF" => "CH",
        _ => one(rng, &EUR_COUNTRIES),
    }
}
