//! Timestamps: always UTC, microsecond precision (what PostgreSQL keeps), with
//! conversions to and from protobuf `Timestamp`.

use chrono::{DateTime, SubsecRound, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct TimestampError {
    pub field: String,
    pub reason: String,
}

/// Now, truncated to microseconds so that a value written to PostgreSQL and
/// read back compares equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn to_proto(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn from_proto(
    field: &str,
    timestamp: Option<&prost_types::Timestamp>,
) -> Result<DateTime<Utc>, TimestampError> {
    let Some(timestamp) = timestamp else {
        return Err(TimestampError {
            field: field.to_owned(),
            reason: "is required".to_owned(),
        });
    };
    let nanos = u32::try_from(timestamp.nanos).map_err(|_| TimestampError {
        field: field.to_owned(),
        reason: format!("nanos {} is negative", timestamp.nanos),
    })?;
    DateTime::from_timestamp(timestamp.seconds, nanos).ok_or_else(|| TimestampError {
        field: field.to_owned(),
        reason: format!("{}s is out of range", timestamp.seconds),
    })
}

/// RFC 3339 in UTC with a `Z` suffix, as on the wire (`ce_time`, JSON topics).
pub fn to_rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn parse_rfc3339(field: &str, value: &str) -> Result<DateTime<Utc>, TimestampError> {
    DateTime::parse_from_rfc3339(value)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|error| TimestampError {
            field: field.to_owned(),
            reason: format!("`{value}` is not an RFC 3339 timestamp: {error}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_round_trip() {
        let instant = now();
        assert_eq!(from_proto("at", Some(&to_proto(instant))).unwrap(), instant);
        assert_eq!(
            from_proto("at", None).unwrap_err().to_string(),
            "at: is required"
        );
        let negative = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(from_proto("at", Some(&negative)).is_err());
    }

    #[test]
    fn rfc3339_round_trip() {
        let instant = now();
        let text = to_rfc3339(instant);
        assert!(text.ends_with('Z'));
        assert_eq!(parse_rfc3339("time", &text).unwrap(), instant);
        assert!(
            parse_rfc3339("time", "yesterday")
                .unwrap_err()
                .to_string()
                .starts_with("time: ")
        );
    }
}
