#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The documented provider webhook payload (`docs/schemas/payments`) held
//! against the code that reads it: every valid example passes the JSON
//! Schema and the service's parser, the invalid one fails both on the same
//! field. No database, no Kafka.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/payments")
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&read(&directory().join("provider-webhook.v1.schema.json")))
        .unwrap()
}

#[test]
fn every_valid_example_passes_the_schema_and_the_service() {
    let validator = validator();
    let mut seen = 0;
    for entry in std::fs::read_dir(directory().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("invalid-") {
            continue;
        }
        let example = read(&path);
        let errors: Vec<String> = validator
            .iter_errors(&example)
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let parsed = otc_payments::webhooks::parse(example.to_string().as_bytes());
        assert!(parsed.is_ok(), "{name}: {parsed:?}");
        seen += 1;
    }
    assert!(seen >= 3, "the examples are missing");
}

#[test]
fn an_amount_as_a_json_number_fails_both_on_data_amount() {
    let example = read(&directory().join("examples/invalid-amount-as-number.json"));
    let errors: Vec<String> = validator()
        .iter_errors(&example)
        .map(|error| error.instance_path().to_string())
        .collect();
    assert!(
        errors.iter().any(|path| path == "/data/amount"),
        "{errors:?}"
    );
    let Err(problems) = otc_payments::webhooks::parse(example.to_string().as_bytes()) else {
        panic!("the service accepted an amount given as a JSON number");
    };
    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("data.amount")),
        "{problems:?}"
    );
}
