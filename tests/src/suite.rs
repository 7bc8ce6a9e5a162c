//! What every service-under-test suite shares: a fresh database, a topic
//! namespace of its own, the service as a process with a gRPC channel, a
//! tenant, a producer to publish other services' events, and the database
//! and topic probes. `BillingSuite`, `PaymentsSuite` and `CollectionsSuite`
//! wrap it (and dereference to it).

use std::time::Duration;

use prost::Message;
use rdkafka::producer::FutureProducer;
use tonic::Request;
use tonic::transport::Channel;

use crate::kafka::{self, ReadRecord};
use crate::process::ServiceProcess;
use crate::{TestDatabase, unique_suffix};
use otc_proto::types::Money;
use otc_shared::auth::Role;

pub struct ServiceSuite {
    pub tenant: String,
    pub database: TestDatabase,
    pub service: ServiceProcess,
    pub namespace: String,
    pub channel: Channel,
    producer: FutureProducer,
}

pub fn money(amount: &str, currency: &str) -> Money {
    Money {
        amount: amount.into(),
        currency_code: currency.into(),
    }
}

/// A fresh topic namespace (`t<hex>.`).
pub fn new_namespace() -> String {
    format!("t{}.", unique_suffix())
}

impl ServiceSuite {
    /// Starts `otc-<service>` on `database` and the topics of `namespace`
    /// (three partitions each); `extra` adds `OTC_*` variables.
    pub async fn start(
        service: &str,
        database: TestDatabase,
        namespace: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let mut environment = vec![
            ("OTC_KAFKA__TOPIC_NAMESPACE", namespace),
            ("OTC_KAFKA__TOPIC_PARTITIONS", "3"),
        ];
        environment.extend_from_slice(extra);
        let service = ServiceProcess::start(service, &database.url, &environment)
            .await
            .unwrap();
        let channel = service.channel().await.unwrap();
        Self {
            tenant: format!("acme{}", &unique_suffix()[..6]),
            database,
            service,
            namespace: namespace.to_owned(),
            channel,
            producer: kafka::producer().unwrap(),
        }
    }

    /// A request with a token of the suite's tenant and `role`.
    pub fn as_role<T>(&self, message: T, role: Role) -> Request<T> {
        crate::billing::request(message, &self.tenant, &[role])
    }

    /// The physical name of `name` in the suite's namespace.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.namespace)
    }

    /// Publishes as the service of `source` would, for `tenant`; `event_id`
    /// redelivers an event under the same id. Returns the event id.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_as<M: Message>(
        &self,
        tenant: &str,
        topic: &str,
        event_type: &str,
        source: &str,
        key: &str,
        message: &M,
        event_id: Option<&str>,
    ) -> String {
        kafka::publish_event(
            &self.producer,
            &self.topic(topic),
            event_type,
            source,
            tenant,
            key,
            message,
            event_id,
        )
        .await
    }

    /// Events of `event_type` on `topic`, once `expected` arrived (or the
    /// timeout passed).
    pub async fn events(
        &self,
        topic: &str,
        event_type: &str,
        expected: usize,
        timeout: Duration,
    ) -> Vec<ReadRecord> {
        kafka::events_of_type(&self.topic(topic), event_type, expected, timeout).await
    }

    /// A scalar query over every tenant's rows.
    pub async fn scalar<T>(&self, query: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        self.database.scalar(query).await
    }

    /// A scalar `bigint` count over every tenant's rows.
    pub async fn count(&self, query: &str) -> i64 {
        self.database.scalar(query).await
    }

    /// Polls a scalar count until it reaches `expected`.
    pub async fn wait_for_count(&self, query: &str, expected: i64, timeout: Duration) -> i64 {
        self.database.wait_for_count(query, expected, timeout).await
    }
}
