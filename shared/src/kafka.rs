//! Kafka client configuration (brokers, SASL/SSL by configuration), the
//! suite's topic names, idempotent producers and topic creation.

use std::time::Duration;

use anyhow::Context;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaErrorCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::ConfigError;

/// Topic names. Every name ends with its version; a breaking change is a
/// new topic.
pub mod topics {
    pub const ORDER_EVENTS: &str = "otc.order.events.v1";
    pub const BILLING_EVENTS: &str = "otc.billing.events.v1";
    pub const PAYMENT_EVENTS: &str = "otc.payment.events.v1";
    pub const COLLECTIONS_EVENTS: &str = "otc.collections.events.v1";
    /// Upstream commerce platforms' orders (CloudEvents, structured JSON).
    pub const COMMERCE_ORDERS: &str = "commerce.orders.v1";
    pub const COMMERCE_FULFILMENTS: &str = "commerce.fulfilments.v1";
    /// Reporting topics for BI tools (JSON); snapshots are compacted and keyed by customer.
    pub const REPORTING_INVOICE_FACTS: &str = "otc.reporting.invoice_facts.v1";
    pub const REPORTING_PAYMENT_FACTS: &str = "otc.reporting.payment_facts.v1";
    pub const REPORTING_DISPUTE_FACTS: &str = "otc.reporting.dispute_facts.v1";
    pub const REPORTING_AR_AGING: &str = "otc.reporting.ar_aging.v1";
    pub const REPORTING_CUSTOMER_KPIS: &str = "otc.reporting.customer_kpis.v1";
    pub const REPORTING_KPIS: &str = "otc.reporting.kpis.v1";

    /// `<topic>.dlq.<consumer>`: where a consumer parks records it cannot apply.
    pub fn dead_letter(topic: &str, consumer: &str) -> String {
        format!("{topic}.dlq.{consumer}")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub brokers: String,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    #[serde(default = "default_security_protocol")]
    pub security_protocol: String,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`, with SASL protocols.
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<SecretString>,
    /// CA bundle, client certificate and key (PEM files) for SSL / mTLS.
    pub ssl_ca_location: Option<String>,
    pub ssl_certificate_location: Option<String>,
    pub ssl_key_location: Option<String>,
    pub ssl_key_password: Option<SecretString>,
    /// Create missing topics at start-up (local runs; in production Strimzi
    /// `KafkaTopic` resources own them).
    #[serde(default = "default_true")]
    pub create_topics: bool,
    #[serde(default = "default_partitions")]
    pub topic_partitions: i32,
    #[serde(default = "default_replication")]
    pub topic_replication: i32,
    /// Prefixed to every topic name the service publishes to or reads
    /// (e.g. `staging.`), for clusters shared by several environments, and
    /// so that tests get topics of their own. Empty by default.
    #[serde(default)]
    pub topic_namespace: String,
}

fn default_security_protocol() -> String {
    "plaintext".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_partitions() -> i32 {
    6
}

fn default_replication() -> i32 {
    1
}

impl KafkaSettings {
    pub fn for_brokers(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_owned(),
            security_protocol: default_security_protocol(),
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            ssl_key_password: None,
            create_topics: true,
            topic_partitions: default_partitions(),
            topic_replication: default_replication(),
            topic_namespace: String::new(),
        }
    }

    /// The name on the cluster of a topic of the suite.
    pub fn physical_topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_namespace)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.trim().is_empty() {
            return Err(ConfigError::invalid(
                "kafka.brokers",
                "must list at least one host:port",
            ));
        }
        for broker in self.brokers.split(',') {
            let has_port = broker
                .trim()
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !has_port {
                return Err(ConfigError::invalid(
                    "kafka.brokers",
                    format!("`{broker}` is not host:port"),
                ));
            }
        }
        let protocol = self.security_protocol.to_lowercase();
        if !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"].contains(&protocol.as_str()) {
            return Err(ConfigError::invalid(
                "kafka.security_protocol",
                format!(
                    "`{}` is not one of plaintext, ssl, sasl_plaintext, sasl_ssl",
                    self.security_protocol
                ),
            ));
        }
        if protocol.starts_with("sasl") {
            if self.sasl_mechanism.is_none() {
                return Err(ConfigError::invalid(
                    "kafka.sasl_mechanism",
                    "is required with SASL",
                ));
            }
            if self.sasl_username.is_none() || self.sasl_password.is_none() {
                return Err(ConfigError::invalid(
                    "kafka.sasl_username",
                    "username and password are required with SASL",
                ));
            }
        }
        if self.topic_partitions < 1 {
            return Err(ConfigError::invalid(
                "kafka.topic_partitions",
                "must be at least 1",
            ));
        }
        if self.topic_replication < 1 {
            return Err(ConfigError::invalid(
                "kafka.topic_replication",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Connection and security settings common to every client.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id)
            .set("security.protocol", self.security_protocol.to_lowercase());
        let optional = [
            ("sasl.mechanism", self.sasl_mechanism.clone()),
            ("sasl.username", self.sasl_username.clone()),
            (
                "sasl.password",
                self.sasl_password
                    .as_ref()
                    .map(|secret| secret.expose_secret().to_owned()),
            ),
            ("ssl.ca.location", self.ssl_ca_location.clone()),
            (
                "ssl.certificate.location",
                self.ssl_certificate_location.clone(),
            ),
            ("ssl.key.location", self.ssl_key_location.clone()),
            (
                "ssl.key.password",
                self.ssl_key_password
                    .as_ref()
                    .map(|secret| secret.expose_secret().to_owned()),
            ),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                config.set(key, value);
            }
        }
        config
    }

    /// An idempotent producer: no duplicates from its own retries, and per
    /// partition order kept even with several requests in flight.
    pub fn idempotent_producer(&self, client_id: &str) -> anyhow::Result<FutureProducer> {
        self.client_config(client_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "30000")
            .create()
            .context("could not create the Kafka producer")
    }

    pub fn admin_client(
        &self,
        client_id: &str,
    ) -> anyhow::Result<AdminClient<DefaultClientContext>> {
        self.client_config(client_id)
            .create()
            .context("could not create the Kafka admin client")
    }
}

/// A topic a service publishes to or reads from, created when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: Option<i32>,
    pub compacted: bool,
}

impl TopicSpec {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            partitions: None,
            compacted: false,
        }
    }
}

/// Creates the topics that do not exist yet (an existing topic is left as is).
pub async fn ensure_topics(settings: &KafkaSettings, specs: &[TopicSpec]) -> anyhow::Result<()> {
    if specs.is_empty() {
        return Ok(());
    }
    let admin = settings.admin_client("otc-topic-admin")?;
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|spec| {
            let topic = NewTopic::new(
                &spec.name,
                spec.partitions.unwrap_or(settings.topic_partitions),
                TopicReplication::Fixed(settings.topic_replication),
            );
            if spec.compacted {
                topic.set("cleanup.policy", "compact")
            } else {
                topic
            }
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .context("Kafka did not answer the topic creation request")?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("could not create topic {topic}: {code}"),
        }
    }
    Ok(())
}
