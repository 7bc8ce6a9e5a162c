//! The suite's wiring, declared once: which service publishes which topic,
//! which consumers read what, and which services call which over gRPC. The
//! runtime creates topics from it, consumers take their names from it, and
//! the deployment (Strimzi topics, DLQs, ACLs, network policies) is checked
//! against it.

use crate::kafka::topics::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicDeclaration {
    pub name: &'static str,
    /// Snapshot topics keyed by customer keep only the latest record per key.
    pub compacted: bool,
}

const fn topic(name: &'static str) -> TopicDeclaration {
    TopicDeclaration {
        name,
        compacted: false,
    }
}

const fn snapshot(name: &'static str) -> TopicDeclaration {
    TopicDeclaration {
        name,
        compacted: true,
    }
}

/// A consumer: its group is `<service>.<name>`, its DLQs `<topic>.dlq.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerDeclaration {
    pub name: &'static str,
    pub topics: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTopology {
    pub service: &'static str,
    pub publishes: &'static [TopicDeclaration],
    pub consumers: &'static [ConsumerDeclaration],
    /// Services this one calls over gRPC.
    pub calls: &'static [&'static str],
}

/// Topics that upstream platforms publish to (the suite only reads them).
pub const UPSTREAM_TOPICS: &[TopicDeclaration] =
    &[topic(COMMERCE_ORDERS), topic(COMMERCE_FULFILMENTS)];

pub const SUITE: &[ServiceTopology] = &[
    ServiceTopology {
        service: "order",
        publishes: &[topic(ORDER_EVENTS)],
        consumers: &[
            ConsumerDeclaration {
                name: "commerce-orders",
                topics: &[COMMERCE_ORDERS],
            },
            ConsumerDeclaration {
                name: "commerce-fulfilments",
                topics: &[COMMERCE_FULFILMENTS],
            },
            ConsumerDeclaration {
                name: "credit-status",
                topics: &[COLLECTIONS_EVENTS],
            },
        ],
        calls: &["collections"],
    },
    ServiceTopology {
        service: "billing",
        publishes: &[topic(BILLING_EVENTS)],
        consumers: &[ConsumerDeclaration {
            name: "order-events",
            topics: &[ORDER_EVENTS],
        }],
        calls: &[],
    },
    ServiceTopology {
        service: "payments",
        publishes: &[topic(PAYMENT_EVENTS)],
        consumers: &[ConsumerDeclaration {
            name: "projections",
            topics: &[ORDER_EVENTS, BILLING_EVENTS],
        }],
        calls: &[],
    },
    ServiceTopology {
        service: "collections",
        publishes: &[topic(COLLECTIONS_EVENTS)],
        consumers: &[ConsumerDeclaration {
            name: "ledger",
            topics: &[ORDER_EVENTS, BILLING_EVENTS, PAYMENT_EVENTS],
        }],
        // Disputes resolved by a credit note ask billing for it.
        calls: &["billing"],
    },
    ServiceTopology {
        service: "reporting",
        publishes: &[
            topic(REPORTING_INVOICE_FACTS),
            topic(REPORTING_PAYMENT_FACTS),
            topic(REPORTING_DISPUTE_FACTS),
            snapshot(REPORTING_AR_AGING),
            snapshot(REPORTING_CUSTOMER_KPIS),
            snapshot(REPORTING_KPIS),
        ],
        consumers: &[ConsumerDeclaration {
            name: "read-models",
            topics: &[
                ORDER_EVENTS,
                BILLING_EVENTS,
                PAYMENT_EVENTS,
                COLLECTIONS_EVENTS,
            ],
        }],
        calls: &[],
    },
];

/// The gRPC port each service listens on by default (and in the local set-up).
pub fn default_grpc_port(service: &str) -> Option<u16> {
    match service {
        "order" => Some(50051),
        "billing" => Some(50052),
        "payments" => Some(50053),
        "collections" => Some(50054),
        "reporting" => Some(50055),
        _ => None,
    }
}

pub fn service(name: &str) -> Option<&'static ServiceTopology> {
    SUITE.iter().find(|topology| topology.service == name)
}

/// Every topic the suite publishes or reads (dead-letter topics: see
/// [`dead_letter_topics`]).
pub fn all_topics() -> Vec<TopicDeclaration> {
    let mut all: Vec<TopicDeclaration> = UPSTREAM_TOPICS.to_vec();
    for topology in SUITE {
        all.extend_from_slice(topology.publishes);
    }
    all
}

/// The dead-letter topics every declared consumer may write to.
pub fn dead_letter_topics() -> Vec<String> {
    SUITE
        .iter()
        .flat_map(|topology| topology.consumers)
        .flat_map(|consumer| {
            consumer
                .topics
                .iter()
                .map(|topic| crate::kafka::topics::dead_letter(topic, consumer.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumed_topic_is_published_by_someone_or_upstream() {
        let known: Vec<&str> = all_topics().iter().map(|topic| topic.name).collect();
        for topology in SUITE {
            for consumer in topology.consumers {
                for topic in consumer.topics {
                    assert!(
                        known.contains(topic),
                        "{} reads {topic}, which nobody publishes",
                        topology.service
                    );
                }
            }
            for called in topology.calls {
                assert!(
                    service(called).is_some(),
                    "{} calls unknown {called}",
                    topology.service
                );
            }
        }
        assert!(
            dead_letter_topics().contains(&"commerce.orders.v1.dlq.commerce-orders".to_owned())
        );
    }
}
