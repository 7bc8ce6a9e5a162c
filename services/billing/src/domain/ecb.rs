//! Reads the ECB euro foreign exchange reference rates (`eurofxref-daily.xml`
//! and the `eurofxref-hist*.xml` files with one `<Cube time=..>` per day).

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use otc_shared::Currency;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use rust_decimal::Decimal;

/// `1 EUR = rate currency` on `date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcbRate {
    pub date: NaiveDate,
    pub currency: Currency,
    pub rate: Decimal,
}

/// Where in the file a problem is, and what it is; the whole file is refused,
/// so an import never stores half a day of rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcbError {
    /// 1-based line and column (in characters) of the element.
    pub line: usize,
    pub column: usize,
    /// Byte offset of the element in the file.
    pub offset: u64,
    /// The element as written, e.g. `Cube`, when the problem is in one.
    pub element: Option<String>,
    pub attribute: Option<String>,
    pub problem: EcbProblem,
}

impl std::error::Error for EcbError {}

impl fmt::Display for EcbError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "ECB reference rates, line {}, column {} (byte {})",
            self.line, self.column, self.offset
        )?;
        if let Some(element) = &self.element {
            write!(formatter, ", element <{element}>")?;
        }
        if let Some(attribute) = &self.attribute {
            write!(formatter, ", attribute `{attribute}`")?;
        }
        write!(formatter, ": {}", self.problem)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcbProblem {
    #[error("not well-formed XML ({0})")]
    NotXml(String),
    #[error("not an ECB reference-rate file (expected <gesmes:Envelope>)")]
    NotEcbRates,
    #[error("`{0}` is not a date (expected YYYY-MM-DD)")]
    BadDate(String),
    #[error("`{0}` is not a positive decimal rate (expected e.g. 1.0866)")]
    BadRate(String),
    #[error("currency `{code}` cannot be imported: {reason}")]
    BadCurrency { code: String, reason: String },
    #[error("is missing")]
    MissingAttribute,
    #[error("a rate outside a dated <Cube time=..>")]
    RateOutsideDay,
    #[error("{currency} is given twice for {date}")]
    DuplicateRate { currency: String, date: NaiveDate },
    #[error("the file has no <Cube time=..> with rates in it")]
    NoRates,
    #[error("{0}")]
    Unexpected(String),
}

/// Parses the whole file, or refuses it with the first problem found.
pub fn parse_ecb_rates(xml: &str) -> Result<Vec<EcbRate>, EcbError> {
    let mut reader = Reader::from_str(xml);
    let mut rates = RatesReader::default();
    loop {
        // Text events are not trimmed, so this is where the next tag's `<` is.
        let element_offset = reader.buffer_position();
        let event = reader.read_event().map_err(|error| {
            locate(
                xml,
                reader.error_position(),
                EcbProblem::NotXml(error.to_string()),
            )
        })?;
        match event {
            Event::Start(tag) => rates.open(xml, element_offset, &tag, true)?,
            Event::Empty(tag) => rates.open(xml, element_offset, &tag, false)?,
            Event::End(tag) => rates.close(tag.local_name().as_ref()),
            Event::Text(text)
                if rates.open_elements.is_empty()
                    && !text.xml_content(XmlVersion::default()).trim().is_empty() =>
            {
                let problem = EcbProblem::NotXml("text outside any element".to_owned());
                return Err(locate(xml, element_offset, problem));
            }
            Event::Eof => return rates.finish(xml, reader.buffer_position()),
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CubeKind {
    /// The outer `<Cube>` holding the days.
    Outer,
    Day,
    Rate,
}

#[derive(Debug, Default)]
struct RatesReader {
    /// Local names of the elements open around the current position.
    open_elements: Vec<String>,
    open_cubes: Vec<CubeKind>,
    root_seen: bool,
    day: Option<NaiveDate>,
    rates: Vec<EcbRate>,
    seen: HashSet<(NaiveDate, Currency)>,
}

/// The attributes of a `<Cube>` that matter, with their values.
#[derive(Debug, Default)]
struct CubeAttributes {
    time: Option<String>,
    currency: Option<String>,
    rate: Option<String>,
}

impl RatesReader {
    fn open(
        &mut self,
        xml: &str,
        offset: u64,
        tag: &BytesStart<'_>,
        has_content: bool,
    ) -> Result<(), EcbError> {
        let name = tag.name().as_ref().to_owned();
        let local_name = tag.local_name().as_ref().to_owned();
        let fail = |attribute: Option<&str>, problem: EcbProblem| EcbError {
            element: Some(name.clone()),
            attribute: attribute.map(str::to_owned),
            ..locate(xml, offset, problem)
        };
        if self.root_seen && self.open_elements.is_empty() {
            let reason = "an element after the end of the root element".to_owned();
            return Err(fail(None, EcbProblem::NotXml(reason)));
        }
        if !self.root_seen {
            self.root_seen = true;
            if local_name != "Envelope" {
                return Err(fail(None, EcbProblem::NotEcbRates));
            }
        }
        let kind = if local_name == "Cube" {
            let attributes =
                cube_attributes(tag).map_err(|reason| fail(None, EcbProblem::NotXml(reason)))?;
            Some(
                self.cube(attributes)
                    .map_err(|(attribute, problem)| fail(attribute, problem))?,
            )
        } else {
            None
        };
        if has_content {
            self.open_elements.push(local_name);
            if let Some(kind) = kind {
                self.open_cubes.push(kind);
            }
        } else if kind == Some(CubeKind::Day) {
            // `<Cube time='..'/>`: a day without rates.
            self.day = None;
        }
        Ok(())
    }

    fn cube(
        &mut self,
        attributes: CubeAttributes,
    ) -> Result<CubeKind, (Option<&'static str>, EcbProblem)> {
        match attributes {
            CubeAttributes {
                time: Some(time),
                currency: None,
                rate: None,
            } => {
                let date = NaiveDate::parse_from_str(time.trim(), "%Y-%m-%d")
                    .map_err(|_| (Some("time"), EcbProblem::BadDate(time.clone())))?;
                self.day = Some(date);
                Ok(CubeKind::Day)
            }
            CubeAttributes {
                time: None,
                currency: None,
                rate: None,
            } => Ok(CubeKind::Outer),
            CubeAttributes { time: Some(_), .. } => Err((
                Some("time"),
                EcbProblem::Unexpected(
                    "a dated <Cube> must not carry a currency or rate".to_owned(),
                ),
            )),
            CubeAttributes { currency: None, .. } => {
                Err((Some("currency"), EcbProblem::MissingAttribute))
            }
            CubeAttributes { rate: None, .. } => Err((Some("rate"), EcbProblem::MissingAttribute)),
            CubeAttributes {
                time: None,
                currency: Some(code),
                rate: Some(rate),
            } => {
                let date = self.day.ok_or((None, EcbProblem::RateOutsideDay))?;
                let currency =
                    import_currency(&code).map_err(|problem| (Some("currency"), problem))?;
                let rate =
                    parse_rate(&rate).ok_or((Some("rate"), EcbProblem::BadRate(rate.clone())))?;
                if !self.seen.insert((date, currency)) {
                    let problem = EcbProblem::DuplicateRate {
                        currency: currency.code().to_owned(),
                        date,
                    };
                    return Err((Some("currency"), problem));
                }
                self.rates.push(EcbRate {
                    date,
                    currency,
                    rate,
                });
                Ok(CubeKind::Rate)
            }
        }
    }

    fn close(&mut self, local_name: &str) {
        // The reader checks that end tags match their start tags.
        self.open_elements.pop();
        if local_name == "Cube" && self.open_cubes.pop() == Some(CubeKind::Day) {
            self.day = None;
        }
    }

    fn finish(self, xml: &str, end: u64) -> Result<Vec<EcbRate>, EcbError> {
        if let Some(unclosed) = self.open_elements.last() {
            let problem = EcbProblem::NotXml(format!("the file ends inside <{unclosed}>"));
            return Err(locate(xml, end, problem));
        }
        if !self.root_seen {
            let problem = EcbProblem::NotXml("no root element".to_owned());
            return Err(locate(xml, end, problem));
        }
        if self.rates.is_empty() {
            return Err(locate(xml, end, EcbProblem::NoRates));
        }
        Ok(self.rates)
    }
}

fn cube_attributes(tag: &BytesStart<'_>) -> Result<CubeAttributes, String> {
    let mut found = CubeAttributes::default();
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let value = attribute
            .normalized_value(XmlVersion::default())
            .map_err(|error| error.to_string())?
            .into_owned();
        match attribute.key.local_name().as_ref() {
            "time" => found.time = Some(value),
            "currency" => found.currency = Some(value),
            "rate" => found.rate = Some(value),
            _ => {}
        }
    }
    Ok(found)
}

/// A code our money type refuses (unknown to ISO 4217, or without a minor
/// unit) is reported, never skipped: a missing rate would surface later as
/// an invoice that cannot be converted.
fn import_currency(code: &str) -> Result<Currency, EcbProblem> {
    let bad = |reason: String| EcbProblem::BadCurrency {
        code: code.to_owned(),
        reason,
    };
    let currency = Currency::parse(code).map_err(|error| bad(error.to_string()))?;
    if currency.code() == "EUR" {
        return Err(bad("every ECB rate is already against EUR".to_owned()));
    }
    Ok(currency)
}

/// Digits with at most one point, greater than zero: `1.0866`, `162.35`.
fn parse_rate(text: &str) -> Option<Decimal> {
    let well_formed = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'.')
        && text.bytes().filter(|byte| *byte == b'.').count() <= 1
        && text.bytes().any(|byte| byte.is_ascii_digit());
    if !well_formed {
        return None;
    }
    text.parse::<Decimal>()
        .ok()
        .filter(|rate| *rate > Decimal::ZERO)
}

fn locate(xml: &str, offset: u64, problem: EcbProblem) -> EcbError {
    let bytes = xml.as_bytes();
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let before = bytes.get(..end).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = before.iter().filter(|byte| **byte == b'\n').count() + 1;
    let column = xml
        .get(line_start..end)
        .map_or(end - line_start, |text| text.chars().count())
        + 1;
    EcbError {
        line,
        column,
        offset,
        element: None,
        attribute: None,
        problem,
    }
}

#[cfg(test)]
mod tests;
