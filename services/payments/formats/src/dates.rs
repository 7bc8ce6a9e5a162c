//! Dates and times as the bank formats write them (ISO 8601 in camt, YYMMDD and HHMM
//! in MT940/BAI2), refused when they name no real day.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// `YYMMDD`. Two-digit years 80-99 are 1980-1999, 00-79 are 2000-2079, the usual
/// SWIFT/BAI reading.
pub(crate) fn yymmdd(text: &str) -> Result<NaiveDate, String> {
    let invalid = || format!("invalid date `{text}` (expected YYMMDD)");
    let number = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = text.get(range).ok_or_else(invalid)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        part.parse().map_err(|_| invalid())
    };
    if text.len() != 6 {
        return Err(invalid());
    }
    let yy = number(0..2)?;
    let year = if yy >= 80 { 1900 + yy } else { 2000 + yy };
    let year = i32::try_from(year).map_err(|_| invalid())?;
    NaiveDate::from_ymd_opt(year, number(2..4)?, number(4..6)?).ok_or_else(invalid)
}

/// `MMDD` of a year taken from a nearby date: the MT940 entry date next to a value
/// date. A booking in late December for a January value date (or the reverse) lies in
/// the neighbouring year, so the year closest to `near` wins.
pub(crate) fn mmdd_near(text: &str, near: NaiveDate) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    let invalid = || format!("invalid date `{text}` (expected MMDD)");
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let month: u32 = text
        .get(0..2)
        .and_then(|m| m.parse().ok())
        .ok_or_else(invalid)?;
    let day: u32 = text
        .get(2..4)
        .and_then(|d| d.parse().ok())
        .ok_or_else(invalid)?;
    let year = match (month, near.month()) {
        (12, 1) => near.year() - 1,
        (1, 12) => near.year() + 1,
        _ => near.year(),
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(invalid)
}

/// `HHMM`; BAI2 writes the end of the day as `2400` or `9999`, read as 23:59:59.
pub(crate) fn hhmm(text: &str) -> Result<NaiveTime, String> {
    let invalid = || format!("invalid time `{text}` (expected HHMM)");
    if text == "2400" || text == "9999" {
        return NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(invalid);
    }
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let hour: u32 = text
        .get(0..2)
        .and_then(|h| h.parse().ok())
        .ok_or_else(invalid)?;
    let minute: u32 = text
        .get(2..4)
        .and_then(|m| m.parse().ok())
        .ok_or_else(invalid)?;
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(invalid)
}

/// xs:date `YYYY-MM-DD`, with an optional time-zone suffix that does not change the day.
pub(crate) fn iso_date(text: &str) -> Result<NaiveDate, String> {
    let invalid = || format!("invalid date `{text}` (expected YYYY-MM-DD)");
    let day = text.get(..10).ok_or_else(invalid)?;
    let zone = text.get(10..).unwrap_or_default();
    if !is_zone(zone) {
        return Err(invalid());
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| invalid())
}

/// xs:dateTime `YYYY-MM-DDThh:mm:ss[.fff][zone]`, kept as the bank's local time: the
/// zone is checked but not applied, since statement days are the bank's days.
pub(crate) fn iso_datetime(text: &str) -> Result<NaiveDateTime, String> {
    let invalid = || format!("invalid date-time `{text}` (expected YYYY-MM-DDThh:mm:ss)");
    let zone_at = text
        .get(19..)
        .and_then(|tail| tail.find(['Z', '+', '-']))
        .map_or(text.len(), |at| at + 19);
    let (local, zone) = (
        text.get(..zone_at).ok_or_else(invalid)?,
        text.get(zone_at..).unwrap_or_default(),
    );
    if !is_zone(zone) {
        return Err(invalid());
    }
    NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| invalid())
}

fn is_zone(zone: &str) -> bool {
    let b = zone.as_bytes();
    match b {
        [] | [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] => {
            (*sign == b'+' || *sign == b'-') && [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn short_dates() {
        assert_eq!(
            yymmdd("240229"),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
        assert_eq!(
            yymmdd("991231"),
            Ok(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap())
        );
        assert!(yymmdd("230229").is_err());
        assert!(yymmdd("24013").is_err());
        let near = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        assert_eq!(
            mmdd_near("1231", near),
            Ok(NaiveDate::from_ymd_opt(2023, 12, 31).unwrap())
        );
        assert_eq!(
            hhmm("0930").map(|t| t.to_string()),
            Ok("09:30:00".to_owned())
        );
        assert!(hhmm("2460").is_err());
    }

    #[test]
    fn iso_dates_and_times() {
        assert_eq!(
            iso_date("2024-03-01"),
            Ok(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap())
        );
        assert!(iso_date("2024-02-30").is_err());
        assert!(iso_date("2024-03-01+01:00").is_ok());
        let stamp = iso_datetime("2024-03-01T10:15:00.123+01:00").unwrap();
        assert_eq!(stamp.to_string(), "2024-03-01 10:15:00.123");
        assert!(iso_datetime("2024-03-01T25:00:00").is_err());
        assert!(iso_datetime("2024-03-01").is_err());
    }
}
