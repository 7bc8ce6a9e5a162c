//! The simulated business, generated from a seed: customers across
//! currencies and tax regions, the product catalogue with its prices, and
//! the orders the shop sends.

use rust_decimal::Decimal;

/// A market: where a customer is, what it pays in, its tax and how it pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Market {
    pub currency: &'static str,
    pub country: &'static str,
    pub tax_region: &'static str,
    /// Bank transfers (on our bank statement) or card payments through the
    /// payment provider (its webhooks).
    pub pays_by_card: bool,
}

pub const MARKETS: [Market; 4] = [
    Market {
        currency: "EUR",
        country: "DE",
        tax_region: "DE",
        pays_by_card: false,
    },
    Market {
        currency: "EUR",
        country: "FR",
        tax_region: "FR",
        pays_by_card: false,
    },
    Market {
        currency: "USD",
        country: "US",
        tax_region: "US-CA",
        pays_by_card: true,
    },
    Market {
        currency: "GBP",
        country: "GB",
        tax_region: "GB",
        pays_by_card: false,
    },
];

/// Tax rules the tenant's billing gets: region, standard rate.
pub const TAX_RATES: [(&str, &str); 4] = [
    ("DE", "0.19"),
    ("FR", "0.20"),
    ("US-CA", "0.0725"),
    ("GB", "0.20"),
];

/// Exchange rates to the functional currency (EUR).
pub const FX_TO_EUR: [(&str, &str); 2] = [("USD", "0.9210"), ("GBP", "1.1690")];

/// The catalogue: SKU, description, EUR, USD and GBP list prices.
pub const PRODUCTS: [(&str, &str, &str, &str, &str); 8] = [
    (
        "PUMP-200",
        "Centrifugal pump 200 l/min",
        "1249.00",
        "1359.00",
        "1079.00",
    ),
    (
        "VALVE-DN50",
        "Ball valve DN50, stainless",
        "189.50",
        "205.00",
        "162.00",
    ),
    (
        "SEAL-KIT-7",
        "Seal kit, series 7",
        "24.90",
        "27.50",
        "21.40",
    ),
    ("MOTOR-3KW", "Motor 3 kW, IE3", "612.00", "668.00", "529.00"),
    ("HOSE-25M", "Pressure hose 25 m", "98.75", "107.00", "84.90"),
    (
        "GAUGE-10B",
        "Pressure gauge 0-10 bar",
        "36.40",
        "39.90",
        "31.50",
    ),
    (
        "FILTER-CART",
        "Filter cartridge, 10 µm",
        "12.35",
        "13.50",
        "10.60",
    ),
    (
        "SERVICE-HR",
        "Service technician, per hour",
        "95.00",
        "110.00",
        "85.00",
    ),
];

const FIRST: [&str; 16] = [
    "Nordwind",
    "Hoffmann",
    "Berger",
    "Lumière",
    "Castell",
    "Atlas",
    "Keller",
    "Brightwater",
    "Marlow",
    "Sierra",
    "Falk",
    "Dupont",
    "Harbor",
    "Greenfield",
    "Weber",
    "Orion",
];
const SECOND: [&str; 10] = [
    "Logistik",
    "Maschinenbau",
    "Industries",
    "Technik",
    "Supply",
    "Engineering",
    "Services",
    "Handel",
    "Manufacturing",
    "Systems",
];

/// A customer of the simulated business.
#[derive(Debug, Clone)]
pub struct Customer {
    pub index: usize,
    pub external_ref: String,
    pub legal_name: String,
    pub market: Market,
    pub segment: &'static str,
    pub payment_terms: &'static str,
    pub account: String,
    /// A low credit limit: its orders go on credit hold.
    pub tight_credit: bool,
    /// Set once the order service created it.
    pub customer_id: String,
}

fn legal_form(market: &Market, index: usize) -> &'static str {
    match (market.country, index % 3) {
        ("DE", 0 | 1) => "GmbH",
        ("DE", _) => "AG",
        ("FR", _) => "SAS",
        ("GB", _) => "Ltd",
        _ => "Inc.",
    }
}

/// ISO 13616 check digits of a BBAN for a country.
pub fn iban(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut remainder: u32 = 0;
    for character in rearranged.chars() {
        let value = match character.to_digit(36) {
            Some(value) => value,
            None => continue,
        };
        let digits = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * digits + value) % 97;
    }
    format!("{country}{:02}{bban}", 98 - remainder)
}

/// `count` customers, most in euros, some in dollars and pounds.
pub fn customers(rng: &mut fastrand::Rng, count: usize, tenant: &str) -> Vec<Customer> {
    (0..count)
        .map(|index| {
            let market = match index % 20 {
                0..=6 => MARKETS[0],
                7..=11 => MARKETS[1],
                12..=15 => MARKETS[2],
                _ => MARKETS[3],
            };
            let name = format!(
                "{} {} {}",
                FIRST[index % FIRST.len()],
                SECOND[(index / FIRST.len() + index) % SECOND.len()],
                legal_form(&market, index)
            );
            let legal_name = if index >= FIRST.len() * SECOND.len() {
                format!("{name} ({})", index / (FIRST.len() * SECOND.len()) + 1)
            } else {
                name
            };
            let account = match market.country {
                "GB" => iban("GB", &format!("NWBK{:014}", rng.u64(..100_000_000_000_000))),
                "US" => format!("{:012}", rng.u64(..1_000_000_000_000)),
                _ => iban(
                    "DE",
                    &format!("{:018}", rng.u64(..1_000_000_000_000_000_000)),
                ),
            };
            let segment = match index % 10 {
                0 => "enterprise",
                1..=6 => "smb",
                _ => "retail",
            };
            let payment_terms = match index % 7 {
                0 => "2/10NET30",
                1 => "NET14",
                _ => "NET30",
            };
            Customer {
                index,
                external_ref: format!("shop:{tenant}-{index:05}"),
                legal_name,
                market,
                segment,
                payment_terms,
                account,
                tight_credit: index % 25 == 24,
                customer_id: String::new(),
            }
        })
        .collect()
}

/// One ordered line.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub line_id: String,
    pub sku: &'static str,
    pub quantity: Decimal,
}

/// An order as the shop sends it.
#[derive(Debug, Clone)]
pub struct Order {
    pub external_id: String,
    pub customer: usize,
    pub lines: Vec<OrderLine>,
}

/// `per_customer` orders for each customer, one to three lines each.
pub fn orders(rng: &mut fastrand::Rng, customers: &[Customer], per_customer: usize) -> Vec<Order> {
    let mut orders = Vec::with_capacity(customers.len() * per_customer);
    for round in 0..per_customer {
        for customer in customers {
            let count = rng.usize(1..=3);
            let mut skus: Vec<usize> = (0..PRODUCTS.len()).collect();
            rng.shuffle(&mut skus);
            let lines = skus
                .iter()
                .take(count)
                .enumerate()
                .map(|(position, sku)| OrderLine {
                    line_id: format!("L{}", position + 1),
                    sku: PRODUCTS[*sku].0,
                    quantity: Decimal::from(rng.u32(1..=12)),
                })
                .collect();
            orders.push(Order {
                external_id: format!("SO-{:05}-{round}", customer.index),
                customer: customer.index,
                lines,
            });
        }
    }
    orders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_carry_valid_check_digits() {
        // Known valid examples.
        assert_eq!(iban("DE", "370400440532013000"), "DE89370400440532013000");
        assert_eq!(iban("GB", "NWBK60161331926819"), "GB29NWBK60161331926819");
        assert_eq!(
            otc_bank_formats::iban_problem(&iban("FR", "20041010050500013M02606")),
            None
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_business() {
        let first = customers(&mut fastrand::Rng::with_seed(7), 50, "demo");
        let second = customers(&mut fastrand::Rng::with_seed(7), 50, "demo");
        let names = |all: &[Customer]| {
            all.iter()
                .map(|customer| (customer.legal_name.clone(), customer.account.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&first), names(&second));
        assert!(
            first
                .iter()
                .any(|customer| customer.market.currency == "USD")
        );
        assert!(
            first
                .iter()
                .any(|customer| customer.market.currency == "GBP")
        );
        assert!(first.iter().any(|customer| customer.tight_credit));
    }
}
