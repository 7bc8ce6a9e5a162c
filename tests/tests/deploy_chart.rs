//! The Helm chart against the code: every topic the code declares (and every
//! consumer's DLQ) is a Strimzi topic of the chart with the right cleanup
//! policy, the chart's topology mirrors `shared::topology`, every ACL a
//! service needs is granted, and every environment variable the services read
//! can be set from values (and lands in the rendered manifests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use otc_shared::topology;
use serde_json::{Value, json};

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/helm/otc")
}

/// `helm` from OTC_HELM, the PATH, or `go install`'s bin folder.
fn helm() -> PathBuf {
    if let Some(path) = std::env::var_os("OTC_HELM") {
        return PathBuf::from(path);
    }
    let mut candidates: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|directory| directory.join("helm"))
            .collect();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join("go/bin/helm"));
    }
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .expect("helm is not installed: run scripts/deploy/install-tools.sh")
}

fn render(extra_values: Option<&Value>) -> String {
    let mut command = Command::new(helm());
    command
        .args(["template", "otc"])
        .arg(chart_dir())
        .args(["--kube-version", "1.34.4"]);
    let values_file =
        std::env::temp_dir().join(format!("otc-values-{}.json", otc_testkit::unique_suffix()));
    if let Some(values) = extra_values {
        // JSON is YAML: helm reads it as a values file.
        std::fs::write(&values_file, serde_json::to_vec_pretty(values).unwrap()).unwrap();
        command.arg("-f").arg(&values_file);
    }
    let output = command.output().unwrap();
    let _ = std::fs::remove_file(&values_file);
    assert!(
        output.status.success(),
        "helm template failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The rendered documents of one kind, as text.
fn documents<'a>(rendered: &'a str, kind: &str) -> Vec<&'a str> {
    rendered
        .split("\n---")
        .filter(|document| document.lines().any(|line| line == format!("kind: {kind}")))
        .collect()
}

fn field<'a>(document: &'a str, name: &str) -> Option<&'a str> {
    document
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{name}: ")))
        .map(|value| value.trim_matches('"'))
}

#[test]
fn every_declared_topic_is_a_strimzi_topic_with_the_right_policy() {
    let rendered = render(None);
    let topics = documents(&rendered, "KafkaTopic");
    let rendered_names: BTreeSet<&str> = topics
        .iter()
        .filter_map(|topic| field(topic, "topicName"))
        .collect();

    let mut expected: BTreeSet<String> = topology::all_topics()
        .iter()
        .map(|topic| topic.name.to_owned())
        .collect();
    expected.extend(topology::dead_letter_topics());
    let expected_names: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(
        rendered_names, expected_names,
        "chart topics differ from shared::topology"
    );

    for declared in topology::all_topics() {
        let document = topics
            .iter()
            .find(|topic| field(topic, "topicName") == Some(declared.name))
            .unwrap();
        let policy = field(document, "cleanup.policy").unwrap();
        let expected_policy = if declared.compacted {
            "compact"
        } else {
            "delete"
        };
        assert_eq!(policy, expected_policy, "{}", declared.name);
    }
}

#[test]
fn each_service_user_is_granted_exactly_its_topics_and_groups() {
    let rendered = render(None);
    let users = documents(&rendered, "KafkaUser");
    assert_eq!(users.len(), topology::SUITE.len());
    for service in topology::SUITE {
        let user = users
            .iter()
            .find(|user| field(user, "name") == Some(&format!("otc-{}", service.service)))
            .unwrap_or_else(|| panic!("no KafkaUser for {}", service.service));
        for published in service.publishes {
            assert!(
                user.contains(&format!("name: \"{}\"", published.name)),
                "{} cannot write {}",
                service.service,
                published.name
            );
        }
        for consumer in service.consumers {
            assert!(user.contains(&format!("name: \"{}.{}\"", service.service, consumer.name)));
            for topic in consumer.topics {
                assert!(
                    user.contains(&format!("name: \"{topic}\"")),
                    "{} cannot read {topic}",
                    service.service
                );
                let dead_letter = otc_shared::kafka::topics::dead_letter(topic, consumer.name);
                assert!(user.contains(&format!("name: \"{dead_letter}\"")));
            }
        }
        // Nothing beyond that: count the topic grants.
        let grants = user.matches("type: topic").count();
        let expected: usize = service.publishes.len()
            + service
                .consumers
                .iter()
                .map(|consumer| consumer.topics.len() * 2)
                .sum::<usize>();
        assert_eq!(
            grants, expected,
            "{} has extra topic grants",
            service.service
        );
    }
}

#[test]
fn network_policies_follow_the_declared_calls() {
    let rendered = render(None);
    let policies = documents(&rendered, "NetworkPolicy");
    assert_eq!(policies.len(), topology::SUITE.len());
    let collections = policies
        .iter()
        .find(|policy| field(policy, "name") == Some("otc-collections"))
        .unwrap();
    // order calls collections, so collections admits order on its gRPC port.
    assert!(
        collections.contains("app.kubernetes.io/component: order"),
        "{collections}"
    );
    let billing = policies
        .iter()
        .find(|policy| field(policy, "name") == Some("otc-billing"))
        .unwrap();
    // collections calls billing (credit notes for disputes); order does not.
    assert!(
        billing.contains("app.kubernetes.io/component: collections"),
        "collections may not call billing: {billing}"
    );
    assert!(
        !billing.contains("app.kubernetes.io/component: order"),
        "order may call billing: {billing}"
    );
}

/// A sample value of the JSON-schema type at `config.<path>`, or `None`
/// if the chart's schema has no such setting.
fn sample_for(schema: &Value, path: &[&str]) -> Option<Value> {
    let mut node = &schema["properties"]["config"];
    for part in path {
        node = node.get("properties")?.get(*part)?;
    }
    if let Some(choices) = node.get("enum") {
        return choices.get(0).cloned();
    }
    Some(match node["type"].as_str() {
        Some("integer") => json!(
            node.get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .max(1)
        ),
        Some("boolean") => json!(true),
        Some("array") => json!(["acme"]),
        _ if path.first() == Some(&"peers") => json!("http://otc-peer:50051"),
        _ if path.last() == Some(&"url") => json!("postgres://otc@db:5432/otc"),
        _ if path
            .last()
            .is_some_and(|field| field.ends_with("hs256_secret")) =>
        {
            json!("x".repeat(40))
        }
        _ if path.last() == Some(&"otlp_endpoint") => json!("http://collector:4317"),
        _ => json!("set-from-values"),
    })
}

#[test]
fn every_environment_variable_the_services_read_is_settable_from_values() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(chart_dir().join("values.schema.json")).unwrap(),
    )
    .unwrap();
    let variables = otc_shared::config::environment_variables().unwrap();
    let mut config = json!({});
    let mut secret_env = json!({});
    // Set by the chart from dedicated values (ports, listenHost, configFile).
    let chart_managed = [
        "OTC_GRPC__HOST",
        "OTC_GRPC__PORT",
        "OTC_HTTP__HOST",
        "OTC_HTTP__PORT",
        "OTC_CONFIG_FILE",
    ];
    for variable in &variables {
        if chart_managed.contains(&variable.as_str()) {
            continue;
        }
        let path: Vec<String> = variable
            .trim_start_matches("OTC_")
            .split("__")
            .map(str::to_lowercase)
            .collect();
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        let sample = sample_for(&schema, &parts).unwrap_or_else(|| {
            panic!("{variable}: no values setting for it in values.schema.json")
        });
        let mut node = &mut config;
        for part in &parts[..parts.len() - 1] {
            node = node
                .as_object_mut()
                .unwrap()
                .entry(*part)
                .or_insert(json!({}));
        }
        node[parts[parts.len() - 1]] = sample;
        if parts.len() == 2 {
            secret_env[parts.join(".")] = json!({"name": "some-secret", "key": "some-key"});
        }
    }
    let values = json!({"config": config, "configFile": "[telemetry]\nlog_filter = \"debug\"\n"});
    let rendered = render(Some(&values));
    let settings = documents(&rendered, "ConfigMap")
        .into_iter()
        .filter(|document| field(document, "name") == Some("otc-order-settings"))
        .collect::<Vec<_>>();
    assert_eq!(settings.len(), 1);
    for variable in &variables {
        assert!(
            settings[0].contains(&format!("\n  {variable}: ")),
            "{variable} not rendered:\n{}",
            settings[0]
        );
    }
    // The migration Job sees the same settings inline.
    let jobs = documents(&rendered, "Job");
    assert!(
        jobs.iter()
            .all(|job| job.contains("name: OTC_DATABASE__MAX_CONNECTIONS"))
    );

    // And every two-level setting can come from a Secret instead.
    let rendered = render(Some(&json!({"secretEnv": secret_env})));
    let deployment = documents(&rendered, "Deployment")
        .into_iter()
        .find(|document| field(document, "name") == Some("otc-order"))
        .unwrap();
    for variable in variables.iter().filter(|variable| {
        variable.matches("__").count() == 1 && !chart_managed.contains(&variable.as_str())
    }) {
        assert!(
            deployment.contains(&format!("- name: {variable}\n              valueFrom:")),
            "{variable} cannot come from a Secret"
        );
    }
}

#[test]
fn bad_values_fail_at_install_time_with_the_field_named() {
    let output = Command::new(helm())
        .args(["template", "otc"])
        .arg(chart_dir())
        .args([
            "--kube-version",
            "1.34.4",
            "--set",
            "config.kafka.security_protocol=carrier-pigeon",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/config/kafka/security_protocol"),
        "{stderr}"
    );
}

#[test]
fn provider_webhooks_reach_payments_only_through_the_ingress_and_its_peers() {
    let rendered = render(None);
    assert!(
        documents(&rendered, "Ingress").is_empty(),
        "no Ingress unless asked for"
    );
    let peer = json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}});
    let rendered = render(Some(&json!({
        "webhooks": {"ingress": {"enabled": true, "className": "nginx", "host": "pay.example.com"}},
        "networkPolicy": {"webhookClients": [peer]},
    })));
    let ingresses = documents(&rendered, "Ingress");
    assert_eq!(ingresses.len(), 1);
    let ingress = ingresses[0];
    assert!(ingress.contains("path: /webhooks"), "{ingress}");
    assert!(ingress.contains("name: otc-payments\n"), "{ingress}");
    assert!(!ingress.contains("/metrics"), "{ingress}");
    let policies = documents(&rendered, "NetworkPolicy");
    let with_peer = |name: &str| {
        policies
            .iter()
            .find(|policy| field(policy, "name") == Some(name))
            .unwrap()
            .contains("kubernetes.io/metadata.name: ingress-nginx")
    };
    assert!(
        with_peer("otc-payments"),
        "payments does not admit the webhook peer"
    );
    assert!(!with_peer("otc-billing"), "billing admits the webhook peer");
}
