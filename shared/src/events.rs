//! The event envelope: CloudEvents 1.0 attributes carried as Kafka headers
//! (binary content mode), plus the tenant and W3C trace context.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rdkafka::message::{Header, Headers, OwnedHeaders};

use crate::ids::{EventId, TenantId};

/// Header names on every record this suite publishes.
pub mod header {
    pub const ID: &str = "ce_id";
    pub const TYPE: &str = "ce_type";
    pub const SOURCE: &str = "ce_source";
    pub const TIME: &str = "ce_time";
    pub const SUBJECT: &str = "ce_subject";
    pub const SPEC_VERSION: &str = "ce_specversion";
    pub const CONTENT_TYPE: &str = "content-type";
    pub const TENANT: &str = "tenant";
    pub const TRACEPARENT: &str = "traceparent";
    pub const TRACESTATE: &str = "tracestate";
}

pub const SPEC_VERSION: &str = "1.0";
pub const PROTOBUF_CONTENT_TYPE: &str = "application/protobuf";
pub const JSON_CONTENT_TYPE: &str = "application/json";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("header `{0}` is missing")]
    Missing(&'static str),
    #[error("header `{name}` is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The CloudEvents context of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    /// `ce_id`: unique per source; what consumers deduplicate on.
    pub id: String,
    /// `ce_type`, e.g. `otc.order.v1.OrderPlaced`.
    pub event_type: String,
    /// `ce_source`, e.g. `/otc/order`.
    pub source: String,
    pub time: DateTime<Utc>,
    /// `ce_subject`: the aggregate the event is about, e.g. `order/0190…`.
    pub subject: Option<String>,
    pub tenant: TenantId,
    pub content_type: String,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl EventEnvelope {
    /// A new envelope with a fresh UUIDv7 id, stamped now.
    pub fn new(event_type: &str, source: &str, tenant: &TenantId) -> Self {
        Self {
            id: EventId::new().to_string(),
            event_type: event_type.to_owned(),
            source: source.to_owned(),
            time: crate::time::now(),
            subject: None,
            tenant: tenant.clone(),
            content_type: PROTOBUF_CONTENT_TYPE.to_owned(),
            traceparent: None,
            tracestate: None,
        }
    }

    pub fn to_headers(&self) -> OwnedHeaders {
        let time = crate::time::to_rfc3339(self.time);
        let mut headers = OwnedHeaders::new_with_capacity(10)
            .insert(text_header(header::ID, &self.id))
            .insert(text_header(header::TYPE, &self.event_type))
            .insert(text_header(header::SOURCE, &self.source))
            .insert(text_header(header::TIME, &time))
            .insert(text_header(header::SPEC_VERSION, SPEC_VERSION))
            .insert(text_header(header::CONTENT_TYPE, &self.content_type))
            .insert(text_header(header::TENANT, self.tenant.as_str()));
        if let Some(subject) = &self.subject {
            headers = headers.insert(text_header(header::SUBJECT, subject));
        }
        if let Some(traceparent) = &self.traceparent {
            headers = headers.insert(text_header(header::TRACEPARENT, traceparent));
        }
        if let Some(tracestate) = &self.tracestate {
            headers = headers.insert(text_header(header::TRACESTATE, tracestate));
        }
        headers
    }

    /// Reads the envelope back from a record's headers, naming the first
    /// header that is missing or malformed.
    pub fn from_headers(headers: &RecordHeaders) -> Result<Self, EnvelopeError> {
        let required = |name: &'static str| -> Result<String, EnvelopeError> {
            headers
                .get(name)
                .filter(|value| !value.trim().is_empty())
                .map(str::to_owned)
                .ok_or(EnvelopeError::Missing(name))
        };
        let time_text = required(header::TIME)?;
        let time = crate::time::parse_rfc3339(header::TIME, &time_text).map_err(|error| {
            EnvelopeError::Invalid {
                name: header::TIME,
                reason: error.reason,
            }
        })?;
        let tenant = TenantId::parse(&required(header::TENANT)?).map_err(|error| {
            EnvelopeError::Invalid {
                name: header::TENANT,
                reason: error.to_string(),
            }
        })?;
        Ok(Self {
            id: required(header::ID)?,
            event_type: required(header::TYPE)?,
            source: required(header::SOURCE)?,
            time,
            subject: headers.get(header::SUBJECT).map(str::to_owned),
            tenant,
            content_type: headers
                .get(header::CONTENT_TYPE)
                .unwrap_or(PROTOBUF_CONTENT_TYPE)
                .to_owned(),
            traceparent: headers.get(header::TRACEPARENT).map(str::to_owned),
            tracestate: headers.get(header::TRACESTATE).map(str::to_owned),
        })
    }
}

fn text_header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// A record's headers as text (non-UTF-8 values are dropped), decoupled from
/// the rdkafka message's lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordHeaders(BTreeMap<String, String>);

impl RecordHeaders {
    pub fn from_kafka<H: Headers>(headers: Option<&H>) -> Self {
        let mut map = BTreeMap::new();
        if let Some(headers) = headers {
            for header in headers.iter() {
                if let Some(value) = header
                    .value
                    .and_then(|bytes| std::str::from_utf8(bytes).ok())
                {
                    map.insert(header.key.to_owned(), value.to_owned());
                }
            }
        }
        Self(map)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    pub fn to_kafka(&self) -> OwnedHeaders {
        self.0.iter().fold(
            OwnedHeaders::new_with_capacity(self.0.len()),
            |headers, (name, value)| headers.insert(text_header(name, value)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_through_kafka_headers() {
        let tenant = TenantId::parse("acme").unwrap();
        let mut envelope = EventEnvelope::new("otc.order.v1.OrderPlaced", "/otc/order", &tenant);
        envelope.subject = Some("order/42".to_owned());
        envelope.traceparent =
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned());
        let headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
        assert_eq!(headers.get(header::SPEC_VERSION), Some("1.0"));
        assert_eq!(EventEnvelope::from_headers(&headers).unwrap(), envelope);
    }

    #[test]
    fn missing_and_bad_headers_are_named() {
        let tenant = TenantId::parse("acme").unwrap();
        let envelope = EventEnvelope::new("otc.order.v1.OrderPlaced", "/otc/order", &tenant);
        let mut headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
        headers.0.remove(header::ID);
        assert_eq!(
            EventEnvelope::from_headers(&headers).unwrap_err(),
            EnvelopeError::Missing(header::ID)
        );
        let mut headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
        headers.insert(header::TENANT, "Not A Tenant");
        let error = EventEnvelope::from_headers(&headers).unwrap_err();
        assert!(
            error.to_string().starts_with("header `tenant` is invalid"),
            "{error}"
        );
    }
}
