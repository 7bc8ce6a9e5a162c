#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The documented upstream commerce events (`docs/schemas/commerce`) held
//! against the code that reads them: every example passes its JSON Schema
//! and the order service's own parsing, every invalid example (and every
//! mutation below) fails both on the same field, and the schemas and the
//! README name the real topics, types and limits. No database, no Kafka.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use jsonschema::Validator;
use otc_order::domain::Violations;
use otc_order::domain::request::{
    MAX_LINES, ParsedOrder, order_request_from_json, parse_order, parse_quantity,
};
use otc_order::events::cloudevents;
use otc_order::events::commerce_orders::{CommerceOrders, ORDER_CANCELLED, ORDER_PLACED};
use otc_order::events::fulfilments::{CommerceFulfilments, FULFILMENT_SHIPPED};
use otc_order::events::outgoing;
use otc_shared::events::RecordHeaders;
use otc_shared::ids::OrderId;
use otc_shared::inbox::{EventHandler, HandlerError, IncomingRecord, dlq_header};
use otc_shared::kafka::topics;
use serde_json::{Value, json};

const ORDER_SCHEMA: &str = "order-event.v1.schema.json";
const FULFILMENT_SCHEMA: &str = "fulfilment-event.v1.schema.json";
/// The consumer names `otc_order::install` registers; they name the DLQs.
const ORDERS_CONSUMER: &str = "commerce-orders";
const FULFILMENTS_CONSUMER: &str = "commerce-fulfilments";
const REQUIRED_EXAMPLES: [&str; 4] = [
    "order-placed.json",
    "order-placed-minimal.json",
    "order-cancelled.json",
    "fulfilment-shipped.json",
];
/// Every invalid example and the field the service names when it rejects it.
const INVALID_EXAMPLES: [(&str, &str); 4] = [
    ("quantity-as-number.json", "lines[0].quantity"),
    ("missing-shipping-address.json", "shipping_address"),
    (
        "discount-with-percentage-and-amount.json",
        "lines[0].discount",
    ),
    ("wrong-specversion.json", "specversion"),
];
/// `$defs` both schemas carry, word for word (the envelope and quantities).
const SHARED_DEFINITIONS: [&str; 11] = [
    "attributeName",
    "specversion",
    "id",
    "source",
    "tenant",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "nonBlankString",
    "quantity",
];

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/commerce")
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

fn json_files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn example(name: &str) -> Value {
    read_json(&docs_dir().join("examples").join(name))
}

fn is_fulfilment(event: &Value) -> bool {
    event["type"]
        .as_str()
        .is_some_and(|event_type| event_type.starts_with("commerce.fulfilment."))
}

struct Schemas {
    order: Validator,
    fulfilment: Validator,
}

impl Schemas {
    fn load() -> Self {
        Self {
            order: compile(ORDER_SCHEMA),
            fulfilment: compile(FULFILMENT_SCHEMA),
        }
    }

    /// Every violation of the schema of the event's topic.
    fn errors(&self, event: &Value) -> Vec<(String, String)> {
        if is_fulfilment(event) {
            errors_in(&self.fulfilment, event)
        } else {
            errors_in(&self.order, event)
        }
    }
}

/// Every violation of `validator` as (service-style field, message).
fn errors_in(validator: &Validator, event: &Value) -> Vec<(String, String)> {
    validator
        .iter_errors(event)
        .map(|error| {
            (
                field_of_pointer(error.instance_path().as_str()),
                error.to_string(),
            )
        })
        .collect()
}

fn compile(name: &str) -> Validator {
    let schema = read_json(&docs_dir().join(name));
    jsonschema::draft202012::options()
        // Formats (date, date-time, uri-reference) are only annotations in
        // 2020-12 unless asserted; the service does check them.
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|error| panic!("{name} is not a valid draft 2020-12 schema: {error}"))
}

/// `/data/lines/0/quantity` → `lines[0].quantity`, the way the service
/// names fields: payload fields from `data`, envelope fields by attribute.
fn field_of_pointer(pointer: &str) -> String {
    let path = match pointer.strip_prefix("/data/") {
        Some(inside_data) => inside_data,
        None => pointer.trim_start_matches('/'),
    };
    let mut field = String::new();
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        if segment.bytes().all(|byte| byte.is_ascii_digit()) {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(segment);
        }
    }
    field
}

/// Whether a schema error at `schema_field` is about `service_field`: at
/// it, or at an object that holds it and naming the member it misses (a
/// missing member is reported on its parent). Errors about the envelope as
/// a whole count for any field.
fn covers(schema_field: &str, message: &str, service_field: &str) -> bool {
    if schema_field.is_empty() || schema_field == service_field {
        return true;
    }
    let rest = if schema_field == "data" {
        Some(service_field)
    } else {
        service_field
            .strip_prefix(schema_field)
            .filter(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    let Some(rest) = rest else {
        return false;
    };
    let member = rest
        .trim_start_matches('.')
        .split(['.', '['])
        .next()
        .unwrap_or_default();
    member.is_empty() || message.contains(member)
}

fn record_of(event: &Value) -> IncomingRecord {
    let topic = if is_fulfilment(event) {
        topics::COMMERCE_FULFILMENTS
    } else {
        topics::COMMERCE_ORDERS
    };
    IncomingRecord {
        topic: topic.to_owned(),
        partition: 0,
        offset: 0,
        key: None,
        payload: serde_json::to_vec(event).unwrap(),
        headers: RecordHeaders::default(),
    }
}

fn rejection(result: Result<String, HandlerError>) -> Option<Violations> {
    match result {
        Ok(_) => None,
        Err(HandlerError::Rejected(reason)) => Some(Violations::parse_lines(&reason)),
        Err(HandlerError::Transient(error)) => panic!("no I/O expected here: {error:#}"),
    }
}

/// The order date when an event gives neither `data.order_date` nor `time`.
fn processing_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// What the consumers check before they touch the database, in their order:
/// the dedupe key, the envelope, the type, and for an order the payload.
/// Returns the parsed order of a `commerce.order.placed` event.
fn service_check(event: &Value) -> (Violations, Option<ParsedOrder>) {
    let record = record_of(event);
    let fulfilment = is_fulfilment(event);
    let id_check = if fulfilment {
        CommerceFulfilments.event_id(&record)
    } else {
        CommerceOrders.event_id(&record)
    };
    if let Some(violations) = rejection(id_check) {
        return (violations, None);
    }
    let parsed_event = match cloudevents::parse(&record) {
        Ok(parsed_event) => parsed_event,
        Err(violations) => return (violations, None),
    };
    let accepted: &[&str] = if fulfilment {
        &[FULFILMENT_SHIPPED]
    } else {
        &[ORDER_PLACED, ORDER_CANCELLED]
    };
    if !accepted.contains(&parsed_event.event_type.as_str()) {
        return (
            Violations::single("type", "is not accepted on this topic"),
            None,
        );
    }
    if parsed_event.event_type != ORDER_PLACED {
        return (Violations::new(), None);
    }
    let mut violations = Violations::new();
    let mut request = order_request_from_json(&parsed_event.data, &mut violations);
    request.source = parsed_event.source.clone();
    if !violations.is_empty() {
        return (violations, None);
    }
    let today = parsed_event
        .time
        .map_or_else(processing_date, |time| time.date_naive());
    let parsed = parse_order(&request, today, &mut violations);
    (violations, Some(parsed))
}

fn service_violations(event: &Value) -> Violations {
    service_check(event).0
}

#[test]
fn every_example_passes_its_schema_and_the_order_service() {
    let schemas = Schemas::load();
    let files = json_files(&docs_dir().join("examples"));
    let names: BTreeSet<String> = files.iter().map(|path| file_name(path)).collect();
    for required in REQUIRED_EXAMPLES {
        assert!(names.contains(required), "examples/{required} is missing");
    }
    for path in &files {
        let event = read_json(path);
        let errors = schemas.errors(&event);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        let (violations, parsed) = service_check(&event);
        assert!(
            violations.is_empty(),
            "{}: the order service would reject it: {violations}",
            path.display()
        );
        if event["type"] == ORDER_PLACED {
            assert!(parsed.is_some(), "{}", path.display());
        }
    }
}

#[test]
fn the_full_order_example_shows_every_feature() {
    let (violations, parsed) = service_check(&example("order-placed.json"));
    assert!(violations.is_empty(), "{violations}");
    let order = parsed.unwrap();
    assert!(order.lines.len() >= 2);
    assert!(order.currency.is_some());
    assert!(order.order_discount.is_some());
    assert!(
        order
            .lines
            .iter()
            .any(|line| line.source_price.is_some() && line.discount.is_some()),
        "one line needs a unit_price and a discount: {:?}",
        order.lines
    );
    assert_eq!(
        order.order_date,
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    );

    let (violations, parsed) = service_check(&example("order-placed-minimal.json"));
    assert!(violations.is_empty(), "{violations}");
    let minimal = parsed.unwrap();
    assert_eq!(minimal.currency, None);
    assert_eq!(minimal.lines[0].line_id, "1");
}

#[test]
fn every_invalid_example_fails_the_schema_and_the_service_on_the_same_field() {
    let schemas = Schemas::load();
    let files = json_files(&docs_dir().join("examples/invalid"));
    let names: BTreeSet<String> = files.iter().map(|path| file_name(path)).collect();
    let listed: BTreeSet<String> = INVALID_EXAMPLES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(
        names, listed,
        "list every invalid example in INVALID_EXAMPLES"
    );
    for (name, field) in INVALID_EXAMPLES {
        let event = read_json(&docs_dir().join("examples/invalid").join(name));
        assert_rejected_alike(&schemas, &event, field, name);
    }
}

fn assert_rejected_alike(schemas: &Schemas, event: &Value, field: &str, what: &str) {
    let errors = schemas.errors(event);
    assert!(!errors.is_empty(), "{what}: the schema accepts it");
    assert!(
        errors
            .iter()
            .any(|(schema_field, message)| covers(schema_field, message, field)),
        "{what}: the schema complains about {errors:#?}, the service about `{field}`"
    );
    let violations = service_violations(event);
    assert!(
        violations.iter().any(|violation| violation.field == field),
        "{what}: expected the service to name `{field}`, it said: {violations:?}"
    );
}

fn assert_accepted_alike(schemas: &Schemas, event: &Value, what: &str) {
    let errors = schemas.errors(event);
    assert!(
        errors.is_empty(),
        "{what}: the schema refuses it: {errors:#?}"
    );
    let violations = service_violations(event);
    assert!(
        violations.is_empty(),
        "{what}: the service refuses it: {violations}"
    );
}

/// In a mutation table: remove the member instead of setting it.
const REMOVE: &str = "";
/// In a mutation table: schema and service both accept the change.
const ACCEPTED: &str = "";

/// Changes to `order-placed.json` as (JSON pointer, new value as JSON text
/// or [`REMOVE`], the field both schema and service reject or [`ACCEPTED`]).
#[rustfmt::skip]
const ORDER_EVENT_MUTATIONS: &[(&str, &str, &str)] = &[
    ("/data/lines/0/quantity", r#""0""#, "lines[0].quantity"),
    ("/data/lines/0/quantity", r#""-1""#, "lines[0].quantity"),
    ("/data/lines/0/quantity", r#""1.1234567""#, "lines[0].quantity"),
    ("/data/lines/0/quantity", r#""1,5""#, "lines[0].quantity"),
    ("/data/lines/0/quantity", r#""1e3""#, "lines[0].quantity"),
    ("/data/lines/0/quantity", r#""1000000001""#, "lines[0].quantity"),
    ("/data/lines/0/quantity", "2.5", "lines[0].quantity"),
    ("/data/lines/0/quantity", REMOVE, "lines[0].quantity"),
    ("/data/lines/0/quantity", r#""0.000001""#, ACCEPTED),
    ("/data/lines/0/quantity", r#""1000000000""#, ACCEPTED),
    ("/data/lines/0/quantity", r#""12.500000""#, ACCEPTED),
    ("/data/lines/0/sku", REMOVE, "lines[0].sku"),
    ("/data/lines/0/sku", r#""  ""#, "lines[0].sku"),
    ("/data/lines/0/line_id", "7", "lines[0].line_id"),
    ("/data/lines/0/line_id", REMOVE, ACCEPTED),
    ("/data/lines/0/description", "null", ACCEPTED),
    ("/data/lines/0/platform_specific", "42", ACCEPTED),
    ("/data/lines/0", r#""TEA""#, "lines[0]"),
    ("/data/lines", "[]", "lines"),
    ("/data/lines", r#"{"sku": "TEA"}"#, "lines"),
    ("/data/external_order_id", REMOVE, "external_order_id"),
    ("/data/external_order_id", r#"" ""#, "external_order_id"),
    ("/data/external_order_id", "1001", "external_order_id"),
    ("/data/customer_ref", REMOVE, "customer_ref"),
    ("/data/customer_ref", r#""7790123""#, "customer_ref"),
    ("/data/customer_ref", r#"":7790123""#, "customer_ref"),
    ("/data/customer_ref", r#""shopify: ""#, "customer_ref"),
    ("/data/customer_ref", r#""0193a9f0-6c1e-7a53-9c61-1f6d1c2b7e40""#, ACCEPTED),
    ("/data/customer_ref", r#""amazon:A1B2:C3""#, ACCEPTED),
    ("/data/currency_code", r#""EURO""#, "currency_code"),
    ("/data/currency_code", r#""eur""#, "currency_code"),
    ("/data/currency_code", "null", ACCEPTED),
    ("/data/order_date", r#""23.11.2026""#, "order_date"),
    ("/data/order_date", r#""2026-02-30""#, "order_date"),
    ("/data/order_date", "null", ACCEPTED),
    ("/data/lines/0/unit_price/amount", r#""-1""#, "lines[0].unit_price.amount"),
    ("/data/lines/0/unit_price/amount", "12.9", "lines[0].unit_price.amount"),
    ("/data/lines/0/unit_price/amount", r#""1.1234567""#, "lines[0].unit_price.amount"),
    ("/data/lines/0/unit_price/amount", r#""0.125""#, ACCEPTED),
    ("/data/lines/0/unit_price/amount", r#""0""#, ACCEPTED),
    ("/data/lines/0/unit_price/currency_code", REMOVE, "lines[0].unit_price.currency_code"),
    ("/data/lines/0/unit_price", r#""12.90""#, "lines[0].unit_price"),
    ("/data/lines/0/unit_price", "null", ACCEPTED),
    ("/data/lines/0/discount/percentage", r#""120""#, "lines[0].discount.percentage"),
    ("/data/lines/0/discount/percentage", r#""0""#, "lines[0].discount.percentage"),
    ("/data/lines/0/discount/percentage", "10", "lines[0].discount.percentage"),
    ("/data/lines/0/discount/percentage", r#""100""#, ACCEPTED),
    ("/data/lines/0/discount/percentage", r#""12.5""#, ACCEPTED),
    ("/data/lines/0/discount", "{}", "lines[0].discount"),
    ("/data/lines/0/discount", r#""10%""#, "lines[0].discount"),
    ("/data/lines/1/discount/amount/amount", r#""0""#, "lines[1].discount.amount.amount"),
    ("/data/order_discount/amount/amount", r#""-5""#, "order_discount.amount.amount"),
    ("/data/order_discount/amount", r#""5.00""#, "order_discount.amount"),
    ("/data/order_discount", r#"{"percentage": "5"}"#, ACCEPTED),
    ("/data/order_discount", REMOVE, ACCEPTED),
    ("/data/shipping_address", r#""Berlin""#, "shipping_address"),
    ("/data/shipping_address", "null", "shipping_address"),
    ("/data/shipping_address/country_code", r#""de""#, "shipping_address.country_code"),
    ("/data/shipping_address/country_code", r#""DEU""#, "shipping_address.country_code"),
    ("/data/shipping_address/country_code", REMOVE, "shipping_address.country_code"),
    ("/data/shipping_address/city", r#"" ""#, "shipping_address.city"),
    ("/data/shipping_address/city", REMOVE, "shipping_address.city"),
    ("/data/shipping_address/lines", r#"[" "]"#, "shipping_address.lines"),
    ("/data/shipping_address/lines", "[]", "shipping_address.lines"),
    ("/data/shipping_address/lines", REMOVE, "shipping_address.lines"),
    ("/data/shipping_address/lines", r#""Hauptstraße 5""#, "shipping_address.lines"),
    ("/data/shipping_address/lines", r#"["", "Hauptstraße 5"]"#, ACCEPTED),
    ("/data/shipping_address/region", REMOVE, ACCEPTED),
    ("/specversion", r#""1""#, "specversion"),
    ("/specversion", "1.0", "specversion"),
    ("/specversion", REMOVE, "specversion"),
    ("/id", REMOVE, "id"),
    ("/id", r#"" ""#, "id"),
    // Without a source there is no dedupe key: reported on `id`.
    ("/source", REMOVE, "id"),
    ("/type", REMOVE, "type"),
    ("/type", r#""commerce.order.shipped""#, "type"),
    ("/tenant", REMOVE, "tenant"),
    ("/tenant", r#""Acme""#, "tenant"),
    ("/tenant", r#""-acme""#, "tenant"),
    ("/tenant", r#""acme_eu""#, "tenant"),
    ("/tenant", r#""globex-eu""#, ACCEPTED),
    ("/time", r#""23/11/2026 10:15""#, "time"),
    ("/time", "1763889300", "time"),
    ("/time", r#""2026-11-23T10:15:00+01:00""#, ACCEPTED),
    ("/time", "null", ACCEPTED),
    ("/datacontenttype", r#""text/plain""#, "datacontenttype"),
    ("/datacontenttype", r#""application/json; charset=utf-8""#, ACCEPTED),
    ("/data", r#""{}""#, "data"),
    ("/data", REMOVE, "data"),
    ("/subject", "null", ACCEPTED),
    ("/traceparent", r#""00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01""#, ACCEPTED),
];

/// Changes to `fulfilment-shipped.json` and whether its schema accepts them
/// (the fulfilment consumer reads these fields the same way).
#[rustfmt::skip]
const FULFILMENT_EVENT_MUTATIONS: &[(&str, &str, bool)] = &[
    ("/data/external_order_id", REMOVE, false),
    ("/data/external_order_id", "null", false),
    ("/data/order_id", r#""0193a9f1-2b7d-7c40-8f0e-5a9d3e4b1c22""#, true),
    ("/data/order_id", r#""1001""#, false),
    ("/data/order_source", REMOVE, true),
    ("/data/shipment_id", REMOVE, false),
    ("/data/shipment_id", r#""""#, false),
    ("/data/shipment_id", "88121", false),
    ("/data/shipped_at", r#""24.11.2026""#, false),
    ("/data/shipped_at", REMOVE, true),
    ("/data/lines", "[]", false),
    ("/data/lines", REMOVE, false),
    ("/data/lines/0", r#"{"quantity": "1"}"#, false),
    ("/data/lines/0", r#"{"line_id": "", "quantity": "1"}"#, false),
    ("/data/lines/0", r#"{"sku": "TEA-ASSAM-500G", "quantity": "1"}"#, true),
    ("/data/lines/0/quantity", "1", false),
    ("/data/lines/0/quantity", r#""0""#, false),
    ("/data/lines/0/quantity", r#""0.5""#, true),
    // The topic decides the schema: an order's type is refused here.
    ("/type", r#""commerce.order.cancelled""#, false),
];

/// Sets the member at a JSON pointer to the JSON `text`, or removes it.
fn changed(event: &Value, pointer: &str, text: &str) -> Value {
    let mut event = event.clone();
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let target = event
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent} to change"));
    let value = (text != REMOVE).then(|| serde_json::from_str::<Value>(text).unwrap());
    match (target, value) {
        (Value::Object(object), Some(value)) => {
            object.insert(last.to_owned(), value);
        }
        (Value::Object(object), None) => {
            object.remove(last);
        }
        (Value::Array(items), Some(value)) => items[last.parse::<usize>().unwrap()] = value,
        (Value::Array(items), None) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        (other, _) => panic!("{parent} is {other}, not a container"),
    }
    event
}

#[test]
fn schema_and_service_judge_every_change_to_an_order_alike() {
    let schemas = Schemas::load();
    let placed = example("order-placed.json");
    for (pointer, text, field) in ORDER_EVENT_MUTATIONS {
        let event = changed(&placed, pointer, text);
        let what = format!("{pointer} = {text}");
        if *field == ACCEPTED {
            assert_accepted_alike(&schemas, &event, &what);
        } else {
            assert_rejected_alike(&schemas, &event, field, &what);
        }
    }
    // The line limit, too long to write out above. Lines without a line_id
    // take their positions as ids, so copies of one line do not clash.
    let mut line = placed["data"]["lines"][2].clone();
    line.as_object_mut().unwrap().remove("line_id");
    let with_lines = |count: usize| {
        let mut event = placed.clone();
        event["data"]["lines"] = Value::Array(vec![line.clone(); count]);
        event
    };
    assert_accepted_alike(&schemas, &with_lines(MAX_LINES), "MAX_LINES lines");
    let too_many = with_lines(MAX_LINES + 1);
    assert_rejected_alike(&schemas, &too_many, "lines", "MAX_LINES + 1 lines");
    for (tenant, field) in [("a".repeat(63), ACCEPTED), ("a".repeat(64), "tenant")] {
        let event = changed(&placed, "/tenant", &Value::String(tenant).to_string());
        if field == ACCEPTED {
            assert_accepted_alike(&schemas, &event, "63 characters of tenant");
        } else {
            assert_rejected_alike(&schemas, &event, field, "64 characters of tenant");
        }
    }
}

#[test]
fn the_fulfilment_schema_refuses_what_the_fulfilment_consumer_refuses() {
    let schemas = Schemas::load();
    let shipped = example("fulfilment-shipped.json");
    for (pointer, text, accepted) in FULFILMENT_EVENT_MUTATIONS {
        // The topic decides the schema, whatever the event's type says.
        let errors = errors_in(&schemas.fulfilment, &changed(&shipped, pointer, text));
        assert_eq!(
            errors.is_empty(),
            *accepted,
            "{pointer} = {text}: {errors:#?}"
        );
    }
    let order_id = r#""0193a9f1-2b7d-7c40-8f0e-5a9d3e4b1c22""#;
    let by_order_id = changed(&shipped, "/data/order_id", order_id);
    assert!(
        schemas
            .errors(&changed(&by_order_id, "/data/external_order_id", REMOVE))
            .is_empty()
    );
    assert!(OrderId::parse(order_id.trim_matches('"')).is_ok());
    // The quantities the schema admits are the ones the consumer parses.
    for (quantity, valid) in [
        ("1", true),
        ("0.000001", true),
        ("1000000000", true),
        ("12.5", true),
        ("0", false),
        ("-1", false),
        ("1.0000001", false),
        ("1000000001", false),
        ("1,5", false),
    ] {
        assert_eq!(parse_quantity(quantity).is_ok(), valid, "{quantity}");
        let event = changed(
            &shipped,
            "/data/lines/0/quantity",
            &format!("\"{quantity}\""),
        );
        assert_eq!(schemas.errors(&event).is_empty(), valid, "{quantity}");
    }
}

#[test]
fn the_fulfilment_example_ships_part_of_the_order_example() {
    let placed = example("order-placed.json");
    let (violations, parsed) = service_check(&placed);
    assert!(violations.is_empty(), "{violations}");
    let order = parsed.unwrap();
    let shipped = example("fulfilment-shipped.json");
    let data = &shipped["data"];
    let order_source = data["order_source"]
        .as_str()
        .or(shipped["source"].as_str())
        .unwrap();
    assert_eq!(order_source, order.source);
    assert_eq!(data["external_order_id"], order.external_order_id.as_str());
    let mut shipped_line_ids = BTreeSet::new();
    for line in data["lines"].as_array().unwrap() {
        let line_id = line["line_id"].as_str().expect("ships by line_id");
        let ordered = order
            .lines
            .iter()
            .find(|candidate| candidate.line_id == line_id)
            .unwrap_or_else(|| panic!("the order has no line `{line_id}`"));
        let quantity = parse_quantity(line["quantity"].as_str().unwrap()).unwrap();
        assert!(
            quantity <= ordered.quantity.unwrap(),
            "line {line_id} ships more than ordered"
        );
        shipped_line_ids.insert(line_id);
    }
    let everything_shipped = order.lines.iter().all(|line| {
        data["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|shipped_line| {
                shipped_line["line_id"] == line.line_id.as_str()
                    && parse_quantity(shipped_line["quantity"].as_str().unwrap()).ok()
                        == line.quantity
            })
    });
    assert!(
        !everything_shipped,
        "the example is meant to be a partial shipment"
    );
    assert!(!shipped_line_ids.is_empty());
}

#[test]
fn the_schemas_agree_with_the_code() {
    let order = read_json(&docs_dir().join(ORDER_SCHEMA));
    let fulfilment = read_json(&docs_dir().join(FULFILMENT_SCHEMA));
    for (schema, name) in [(&order, ORDER_SCHEMA), (&fulfilment, FULFILMENT_SCHEMA)] {
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(
            schema["$id"],
            format!("https://otc.example/schemas/commerce/{name}").as_str()
        );
        let mut undescribed = Vec::new();
        find_undescribed(schema, "#", &mut undescribed);
        assert!(
            undescribed.is_empty(),
            "{name}: no description at {undescribed:#?}"
        );
    }
    assert_eq!(
        order["properties"]["type"]["enum"],
        json!([ORDER_PLACED, ORDER_CANCELLED])
    );
    assert_eq!(
        fulfilment["properties"]["type"]["const"],
        FULFILMENT_SHIPPED
    );
    let lines = &order["$defs"]["orderPlacedData"]["properties"]["lines"];
    assert_eq!(lines["maxItems"].as_u64(), u64::try_from(MAX_LINES).ok());
    for definition in SHARED_DEFINITIONS {
        assert!(order["$defs"][definition].is_object(), "{definition}");
        assert_eq!(
            order["$defs"][definition], fulfilment["$defs"][definition],
            "$defs/{definition} differs between the two schemas"
        );
    }
}

/// Every schema of a member (`properties`), of a `$defs` entry and the root
/// needs a description of its own, or a `$ref` to a described definition.
fn find_undescribed(schema: &Value, location: &str, undescribed: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if !object.contains_key("description") && !object.contains_key("$ref") {
        undescribed.push(location.to_owned());
    }
    for keyword in ["properties", "$defs"] {
        if let Some(members) = object.get(keyword).and_then(Value::as_object) {
            for (name, member) in members {
                find_undescribed(member, &format!("{location}/{keyword}/{name}"), undescribed);
            }
        }
    }
}

#[test]
fn the_readme_names_the_real_topics_headers_and_keys() {
    let readme = std::fs::read_to_string(docs_dir().join("README.md")).unwrap();
    let expected = [
        topics::COMMERCE_ORDERS.to_owned(),
        topics::COMMERCE_FULFILMENTS.to_owned(),
        topics::ORDER_EVENTS.to_owned(),
        topics::dead_letter(topics::COMMERCE_ORDERS, ORDERS_CONSUMER),
        topics::dead_letter(topics::COMMERCE_FULFILMENTS, FULFILMENTS_CONSUMER),
        dlq_header::ERROR.to_owned(),
        dlq_header::ORIGINAL_TOPIC.to_owned(),
        ORDER_PLACED.to_owned(),
        ORDER_CANCELLED.to_owned(),
        FULFILMENT_SHIPPED.to_owned(),
        outgoing::event_type("OrderRejected"),
        "OrderAmended".to_owned(),
        "`<source>:<external_order_id>`".to_owned(),
        ORDER_SCHEMA.to_owned(),
        FULFILMENT_SCHEMA.to_owned(),
    ];
    for text in expected {
        assert!(
            readme.contains(&text),
            "README.md does not mention `{text}`"
        );
    }
    for name in REQUIRED_EXAMPLES {
        assert!(readme.contains(name), "README.md does not mention {name}");
    }

    // The key the README promises for OrderRejected is the one it gets.
    let tenant = otc_shared::TenantId::parse("acme").unwrap();
    let rejected = otc_proto::events::OrderRejected {
        source: "/shopify/acme-eu".to_owned(),
        external_order_id: "1001".to_owned(),
        ..Default::default()
    };
    let event = outgoing::order_rejected(&tenant, &rejected);
    assert_eq!(event.topic, topics::ORDER_EVENTS);
    assert_eq!(event.key, "/shopify/acme-eu:1001");
    assert!(readme.contains(&event.key));

    // Every example file the README points at exists.
    for (start, _) in readme.match_indices("examples/") {
        let path: String = readme[start..]
            .chars()
            .take_while(|character| {
                character.is_ascii_alphanumeric() || matches!(character, '/' | '-' | '.' | '_')
            })
            .collect();
        if path.ends_with(".json") {
            assert!(
                docs_dir().join(&path).is_file(),
                "README.md names {path}, which is missing"
            );
        }
    }
}
