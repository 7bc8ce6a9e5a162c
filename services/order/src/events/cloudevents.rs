//! CloudEvents 1.0 in structured JSON mode, as upstream platforms publish
//! them: every attribute in the JSON body, the payload under `data`. The
//! tenant is the `tenant` extension attribute (or, failing that, the
//! `tenant` Kafka header).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::Violations;
use otc_shared::events::header;
use otc_shared::inbox::IncomingRecord;

#[derive(Debug, Clone, PartialEq)]
pub struct StructuredEvent {
    pub id: String,
    pub source: String,
    pub event_type: String,
    pub tenant: String,
    pub time: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub data: Value,
}

fn attribute(object: &Map<String, Value>, name: &str, violations: &mut Violations) -> String {
    match object.get(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => text.trim().to_owned(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            violations.add(name, "is required");
            String::new()
        }
        Some(_) => {
            violations.add(name, "must be a string");
            String::new()
        }
    }
}

/// Parses the envelope; every problem with it is one violation.
pub fn parse(record: &IncomingRecord) -> Result<StructuredEvent, Violations> {
    let value: Value = serde_json::from_slice(&record.payload).map_err(|error| {
        Violations::single("", format!("the record is not a JSON CloudEvent: {error}"))
    })?;
    let Some(object) = value.as_object() else {
        return Err(Violations::single(
            "",
            "the record is not a JSON object (structured-mode CloudEvent expected)",
        ));
    };
    let mut violations = Violations::new();
    match object.get("specversion").and_then(Value::as_str) {
        Some("1.0") => {}
        other => violations.add(
            "specversion",
            format!(
                "must be \"1.0\", got {}",
                other.map_or("nothing".to_owned(), |v| format!("\"{v}\""))
            ),
        ),
    }
    let id = attribute(object, "id", &mut violations);
    let source = attribute(object, "source", &mut violations);
    let event_type = attribute(object, "type", &mut violations);
    let tenant = match object.get("tenant").and_then(Value::as_str) {
        Some(tenant) if !tenant.trim().is_empty() => tenant.trim().to_owned(),
        _ => match record.headers.get(header::TENANT) {
            Some(tenant) if !tenant.trim().is_empty() => tenant.trim().to_owned(),
            _ => {
                violations.add("tenant", "is required (the `tenant` extension attribute)");
                String::new()
            }
        },
    };
    if !tenant.is_empty()
        && let Err(error) = otc_shared::TenantId::parse(&tenant)
    {
        violations.add("tenant", error.to_string());
    }
    if let Some(content_type) = object.get("datacontenttype").and_then(Value::as_str)
        && !content_type.starts_with("application/json")
    {
        violations.add(
            "datacontenttype",
            format!("must be application/json, got `{content_type}`"),
        );
    }
    let time = match object.get("time") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match DateTime::parse_from_rfc3339(text) {
            Ok(time) => Some(time.with_timezone(&Utc)),
            Err(_) => {
                violations.add("time", format!("`{text}` is not an RFC 3339 timestamp"));
                None
            }
        },
        Some(_) => {
            violations.add("time", "must be an RFC 3339 string");
            None
        }
    };
    let data = match object.get("data") {
        Some(data @ Value::Object(_)) => data.clone(),
        Some(_) => {
            violations.add("data", "must be a JSON object");
            Value::Null
        }
        None => {
            violations.add("data", "is required");
            Value::Null
        }
    };
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(StructuredEvent {
        id,
        source,
        event_type,
        tenant,
        time,
        subject: object
            .get("subject")
            .and_then(Value::as_str)
            .map(str::to_owned),
        data,
    })
}

/// Upstream ids are unique per source (CloudEvents), so dedupe on both.
pub fn dedupe_id(record: &IncomingRecord) -> Option<String> {
    let value: Value = serde_json::from_slice(&record.payload).ok()?;
    let id = value.get("id")?.as_str()?.trim();
    let source = value.get("source")?.as_str()?.trim();
    let tenant = value
        .get("tenant")
        .and_then(Value::as_str)
        .or_else(|| record.headers.get(header::TENANT))
        .unwrap_or_default();
    (!id.is_empty() && !source.is_empty()).then(|| format!("{tenant}|{source}|{id}"))
}

/// The tenant as the body (or header) states it, if it is a valid tenant id.
pub fn tenant_of(record: &IncomingRecord) -> Option<String> {
    let from_body = serde_json::from_slice::<Value>(&record.payload)
        .ok()
        .and_then(|value| {
            value
                .get("tenant")
                .and_then(Value::as_str)
                .map(|tenant| tenant.trim().to_owned())
        });
    from_body
        .or_else(|| {
            record
                .headers
                .get(header::TENANT)
                .map(|tenant| tenant.trim().to_owned())
        })
        .filter(|tenant| otc_shared::TenantId::parse(tenant).is_ok())
}
