//! Text of the synthetic ledger: company names and their variants on bank statements,
//! bank accounts, and invoice references as payers (and OCR engines) write them.

use super::{chance, one, pick};

const HEAD: [&str; 40] = [
    "Al", "Bel", "Cor", "Dan", "El", "Fer", "Gal", "Hel", "Ir", "Jon", "Kal", "Lum", "Mar", "Nor",
    "Or", "Pal", "Quin", "Ros", "Sol", "Tor", "Ul", "Val", "Wes", "Xan", "Yor", "Zen", "Ac", "Bra",
    "Cel", "Dur", "Ev", "Fin", "Gra", "Hal", "Ist", "Ker", "Lin", "Mer", "Nov", "Ost",
];
const TAIL: [&str; 20] = [
    "ex", "ion", "tra", "via", "con", "tec", "ma", "lux", "nor", "dis", "gen", "tal", "mo", "ra",
    "is", "on", "ar", "el", "um", "ix",
];
const SURNAMES: [&str; 48] = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Dupont",
    "Martin",
    "Bernard",
    "Dubois",
    "Moreau",
    "Laurent",
    "García",
    "Fernández",
    "López",
    "Martínez",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Roberts",
    "Jansen",
    "de Vries",
    "van Dijk",
    "Bakker",
    "Visser",
    "Rossi",
    "Russo",
    "Ferrari",
    "Bianchi",
    "Gruber",
    "Huber",
    "Bauer",
    "Pichler",
    "Steiner",
    "Moser",
    "Nowak",
    "Andersson",
    "Nielsen",
    "Hansen",
    "O'Brien",
    "Murphy",
];
const SECTORS: [&str; 40] = [
    "Logistik",
    "Bau",
    "Metallbau",
    "Elektro",
    "Maschinenbau",
    "Trading",
    "Systems",
    "Solutions",
    "Foods",
    "Consulting",
    "Pharma",
    "Medical",
    "Textil",
    "Software",
    "Energy",
    "Transport",
    "Immobilien",
    "Holzbau",
    "Druck",
    "Verpackung",
    "Automotive",
    "Chemicals",
    "Retail",
    "Engineering",
    "Services",
    "Industries",
    "Technologies",
    "Distribution",
    "Agrar",
    "Fashion",
    "Optik",
    "Dental",
    "Marine",
    "Aviation",
    "Media",
    "Design",
    "Catering",
    "Hotel",
    "Sanitär",
    "Gartenbau",
];
const REGIONS: [&str; 16] = [
    "Europe",
    "Deutschland",
    "France",
    "Iberia",
    "Nord",
    "Süd",
    "West",
    "Ost",
    "UK",
    "Benelux",
    "Austria",
    "Schweiz",
    "Italia",
    "Nordic",
    "Polska",
    "International",
];
pub(crate) const CITIES: [&str; 14] = [
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Paris",
    "Lyon",
    "Madrid",
    "Wien",
    "Zürich",
    "London",
    "Manchester",
    "Amsterdam",
    "Rotterdam",
    "Chicago",
];
const FIRST_NAMES: [&str; 16] = [
    "Anna", "Max", "Julia", "Peter", "Marie", "Thomas", "Laura", "John", "Emma", "Lucas", "Sofia",
    "Jan", "Eva", "Paul", "Clara", "Tom",
];

fn legal(rng: &mut fastrand::Rng, country: &str) -> &'static str {
    match country {
        "FR" => one(rng, &["SARL", "S.A.", "SAS"]),
        "NL" => one(rng, &["B.V.", "N.V."]),
        "ES" => one(rng, &["S.L.", "S.A."]),
        "US" => one(rng, &["Inc.", "LLC", "Corp."]),
        "GB" => one(rng, &["Ltd", "Limited", "plc"]),
        "CH" => one(rng, &["AG", "GmbH", "SA"]),
        _ => one(
            rng,
            &["GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "e.K."],
        ),
    }
}

fn brand(rng: &mut fastrand::Rng) -> String {
    format!("{}{}", pick(rng, &HEAD), pick(rng, &TAIL))
}

/// A company name of the customer master.
pub(crate) fn company_name(rng: &mut fastrand::Rng, country: &str) -> String {
    let form = legal(rng, country);
    match rng.u32(0..100) {
        0..45 => format!("{} {} {form}", brand(rng), pick(rng, &SECTORS)),
        45..65 => format!("{} {} {form}", pick(rng, &SURNAMES), pick(rng, &SECTORS)),
        65..80 => format!("{} {form}", brand(rng)),
        80..90 => format!("{} & {} {form}", pick(rng, &SURNAMES), pick(rng, &SURNAMES)),
        _ => format!(
            "{} {} {} {form}",
            brand(rng),
            pick(rng, &SECTORS),
            pick(rng, &CITIES)
        ),
    }
}

/// A parent company ("Brand Holding AG") and `children` subsidiaries ("Brand Europe GmbH").
pub(crate) fn group_names(rng: &mut fastrand::Rng, country: &str, children: usize) -> Vec<String> {
    let brand = brand(rng);
    let mut names = vec![format!("{brand} Holding {}", legal(rng, country))];
    let start = rng.usize(0..REGIONS.len());
    for k in 0..children {
        let region = REGIONS[(start + k) % REGIONS.len()];
        names.push(format!("{brand} {region} {}", legal(rng, country)));
    }
    names
}

/// A private person or a firm outside the customer master.
pub(crate) fn stranger_name(rng: &mut fastrand::Rng) -> String {
    match rng.u32(0..3) {
        0 => format!("{} {}", pick(rng, &FIRST_NAMES), pick(rng, &SURNAMES)),
        1 => format!(
            "{}{} {}",
            pick(rng, &HEAD),
            pick(rng, &["anto", "ibus", "ello", "umba"]),
            pick(rng, &SECTORS)
        ),
        _ => format!(
            "{}. {}",
            &pick(rng, &FIRST_NAMES)[..1],
            pick(rng, &SURNAMES).to_uppercase()
        ),
    }
}

const LEGAL_WORDS: [&str; 17] = [
    "GmbH", "AG", "&", "Co.", "KG", "e.K.", "SARL", "S.A.", "SAS", "B.V.", "N.V.", "S.L.", "Inc.",
    "LLC", "Corp.", "Ltd", "Limited",
];

/// The payer name as a bank statement shows it: upper case, without legal form,
/// abbreviated, mistyped, transcribed, truncated, with a city, or as in the master.
pub(crate) fn name_variant(rng: &mut fastrand::Rng, name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    match rng.u32(0..8) {
        0 => name.to_uppercase(),
        1 => words
            .iter()
            .filter(|w| !LEGAL_WORDS.contains(w) && **w != "plc")
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        2 => abbreviated(rng, &words).to_uppercase(),
        3 => mistyped(rng, name),
        4 => transcribed(name).to_uppercase(),
        5 => name
            .chars()
            .take(rng.usize(18..=22))
            .collect::<String>()
            .trim_end()
            .to_string(),
        6 => format!("{name} {}", pick(rng, &CITIES)),
        _ => name.to_string(),
    }
}

/// `ACME EUR. GMBH`: one long word after the first cut to its first letters.
fn abbreviated(rng: &mut fastrand::Rng, words: &[&str]) -> String {
    let long: Vec<usize> = (1..words.len())
        .filter(|i| words[*i].chars().count() >= 5)
        .collect();
    let Some(at) = (!long.is_empty()).then(|| *pick(rng, &long)) else {
        return words.join(" ");
    };
    let mut out: Vec<String> = words.iter().map(|w| (*w).to_string()).collect();
    out[at] = format!(
        "{}.",
        words[at].chars().take(rng.usize(3..=4)).collect::<String>()
    );
    out.join(" ")
}

/// One letter dropped or two neighbours swapped in the longest word.
fn mistyped(rng: &mut fastrand::Rng, name: &str) -> String {
    let mut words: Vec<Vec<char>> = name
        .split_whitespace()
        .map(|w| w.chars().collect())
        .collect();
    let Some(longest) = (0..words.len()).max_by_key(|i| (words[*i].len(), usize::MAX - *i)) else {
        return name.to_string();
    };
    let word = &mut words[longest];
    if word.len() >= 5 {
        let at = rng.usize(1..word.len() - 1);
        if chance(rng, 500) {
            word.remove(at);
        } else {
            word.swap(at, at + 1);
        }
    }
    words
        .iter()
        .map(|w| w.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn transcribed(name: &str) -> String {
    name.replace('ü', "ue")
        .replace('ö', "oe")
        .replace('ä', "ae")
        .replace('é', "e")
        .replace('í', "i")
        .replace('á', "a")
}

/// A bank account in the format of the customer's country (IBAN, or US routing + account).
pub(crate) fn iban(rng: &mut fastrand::Rng, country: &str) -> String {
    let digits =
        |rng: &mut fastrand::Rng, n: usize| (0..n).map(|_| rng.digit(10)).collect::<String>();
    let letters =
        |rng: &mut fastrand::Rng, n: usize| (0..n).map(|_| rng.uppercase()).collect::<String>();
    match country {
        "US" => digits(rng, 19),
        "GB" | "NL" => format!(
            "{country}{}{}{}",
            digits(rng, 2),
            letters(rng, 4),
            digits(rng, 14)
        ),
        "FR" => format!("FR{}", digits(rng, 25)),
        "ES" => format!("ES{}", digits(rng, 22)),
        "CH" | "AT" => format!("{country}{}", digits(rng, 19)),
        _ => format!("DE{}", digits(rng, 20)),
    }
}

/// An account as the statement carries it: grouped by four, sometimes lower case.
pub(crate) fn formatted_account(rng: &mut fastrand::Rng, account: &str) -> String {
    let text = if chance(rng, 600) {
        account
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        account.to_string()
    };
    if chance(rng, 100) {
        text.to_lowercase()
    } else {
        text
    }
}

/// Remittance naming invoices cleanly, with the usual words around them.
pub(crate) fn clean_remittance(rng: &mut fastrand::Rng, numbers: &[&str]) -> String {
    let list = numbers.join(if chance(rng, 500) { ", " } else { " " });
    let customer_no = rng.u32(10_000..99_999);
    match rng.u32(0..7) {
        0 => list,
        1 => format!("Invoice {list}"),
        2 => format!("RE: {list}"),
        3 => format!("{list} Kd-Nr. {customer_no}"),
        4 => format!("Rechnung {list}"),
        5 => format!("Payment {list} thank you"),
        _ => format!("{list} / PO 45000{customer_no}"),
    }
}

/// One invoice number with one or two kinds of noise: spacing, labels, missing prefix or
/// zeros, dropped or doubled separators, OCR letters, lower case.
pub(crate) fn noisy_reference(rng: &mut fastrand::Rng, number: &str) -> String {
    let mut parts = number.splitn(3, '-');
    let (series, year, seq) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let (mut prefix, mut sep1, mut sep2, mut year, mut seq) = (
        series.to_string(),
        "-".to_string(),
        "-".to_string(),
        year.to_string(),
        seq.to_string(),
    );
    let mut label = "";
    for _ in 0..rng.usize(1..=2) {
        match rng.u32(0..7) {
            0 => (sep1, sep2) = (" ".to_string(), " ".to_string()),
            1 => {
                prefix.clear();
                sep1.clear();
                label = *pick(
                    rng,
                    &["Rechnung ", "Inv. no. ", "invoice#", "Facture ", "Re "],
                );
            }
            2 => seq = seq.trim_start_matches('0').to_string(),
            3 => {
                if chance(rng, 500) {
                    sep1.clear()
                } else {
                    sep2.clear()
                }
            }
            4 => {
                if chance(rng, 500) {
                    sep1 = "--".to_string()
                } else {
                    sep2 = "--".to_string()
                }
            }
            5 => {
                let count = rng.usize(1..=2);
                (year, seq) = (ocr(rng, &year, 1), ocr(rng, &seq, count));
            }
            _ => prefix = prefix.to_lowercase(),
        }
    }
    if chance(rng, 150) && prefix == "INV" {
        prefix = pick(rng, &["lNV", "1NV", "|NV"]).to_string();
    }
    let sep1 = if prefix.is_empty() {
        String::new()
    } else {
        sep1
    };
    format!("{label}{prefix}{sep1}{year}{sep2}{seq}")
}

/// `count` digits replaced by the letters an OCR engine confuses them with.
fn ocr(rng: &mut fastrand::Rng, digits: &str, count: usize) -> String {
    let mut chars: Vec<char> = digits.chars().collect();
    let mut candidates: Vec<usize> = (0..chars.len())
        .filter(|i| "01258".contains(chars[*i]))
        .collect();
    rng.shuffle(&mut candidates);
    for at in candidates.into_iter().take(count) {
        chars[at] = match chars[at] {
            '0' => 'O',
            '1' => one(rng, &['l', 'I', '|']),
            '2' => 'Z',
            '5' => 'S',
            _ => 'B',
        };
    }
    chars.into_iter().collect()
}

/// The number with one digit of the sequence wrong, or two neighbours swapped.
pub(crate) fn mistyped_number(rng: &mut fastrand::Rng, number: &str) -> String {
    let mut chars: Vec<char> = number.chars().collect();
    let tail = chars.len().saturating_sub(6);
    let at = rng.usize(tail..chars.len());
    let swap = at + 1 < chars.len() && chars[at] != chars[at + 1] && chance(rng, 300);
    if swap {
        chars.swap(at, at + 1);
    } else {
        let old = chars[at].to_digit(10).unwrap_or(0);
        let new = (old + rng.u32(1..10)) % 10;
        chars[at] = char::from_digit(new, 10).unwrap_or('0');
    }
    chars.into_iter().collect()
}

/// Remittance without a usable reference.
pub(crate) fn empty_remittance(rng: &mut fastrand::Rng) -> String {
    let n = rng.u32(10_000_000..99_999_999);
    match rng.u32(0..6) {
        0 => String::new(),
        1 => "Payment".to_string(),
        2 => "Zahlung".to_string(),
        3 => format!("PO 45{n}"),
        4 => "Sammelzahlung".to_string(),
        _ => format!("Kunde {} Zahlung", n % 100_000),
    }
}
