//! Each service binary, as an operator runs it: it starts, migrates its own
//! database, reports SERVING on gRPC health, serves reflection and
//! `/metrics`, and exits cleanly on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use otc_testkit::TestDatabase;
use otc_testkit::process::ServiceProcess;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// Undoes what `TestDatabase::create` migrated, so the service must migrate itself.
async fn empty_database(database: &TestDatabase) {
    sqlx::query("DROP TABLE outbox, inbox, dead_letters, audit_log, _otc_shared_migrations")
        .execute(&database.pool)
        .await
        .unwrap();
    sqlx::query("DROP FUNCTION otc_tenant_visible")
        .execute(&database.pool)
        .await
        .unwrap();
}

const SERVICES: [&str; 5] = ["order", "billing", "payments", "collections", "reporting"];

async fn listed_services(grpc_url: &str) -> Vec<String> {
    let channel = tonic::transport::Endpoint::from_shared(grpc_url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_starts_migrates_serves_and_stops_cleanly() {
    for service in SERVICES {
        let database = TestDatabase::create(service).await.unwrap();
        // Start from an empty database: the service must migrate it itself.
        empty_database(&database).await;

        let mut process = ServiceProcess::start(service, &database.url, &[])
            .await
            .unwrap();

        let migrations: i64 =
            sqlx::query_scalar("SELECT count(*) FROM _otc_shared_migrations WHERE success")
                .fetch_one(&database.pool)
                .await
                .unwrap();
        assert_eq!(migrations, 4, "{service} applied the shared migrations");

        let services = listed_services(&process.grpc_url()).await;
        for expected in ["grpc.health.v1.Health", "otc.ops.v1.OperationsService"] {
            assert!(
                services.iter().any(|name| name == expected),
                "{service} reflection lists {services:?}"
            );
        }

        // The relay reports its backlog within a second or so of starting.
        let mut metrics = String::new();
        for _ in 0..50 {
            metrics = process.metrics().await.unwrap();
            if metrics.contains("otc_outbox_backlog") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            metrics.contains(&format!("otc_outbox_backlog{{service=\"{service}\"}} 0")),
            "{service} /metrics:\n{metrics}"
        );

        let exit_code = process.terminate(Duration::from_secs(30)).await.unwrap();
        assert_eq!(exit_code, Some(0), "{service} exits 0 on SIGTERM");
        database.drop_database().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_with_the_field_named() {
    let binary = otc_testkit::process::binary_path("billing").unwrap();
    let output = tokio::process::Command::new(binary)
        .env_clear()
        .env("OTC_DATABASE__URL", "mysql://somewhere/db")
        .env("OTC_KAFKA__BROKERS", otc_testkit::kafka_brokers())
        .env(
            "OTC_AUTH__HS256_SECRET",
            otc_shared::auth::LOCAL_DEV_HS256_SECRET,
        )
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("database.url (env OTC_DATABASE__URL)"),
        "{stderr}"
    );

    let binary = otc_testkit::process::binary_path("billing").unwrap();
    let output = tokio::process::Command::new(binary)
        .env_clear()
        .env(
            "OTC_DATABASE__URL",
            "postgres://otc:otc@127.0.0.1:55432/otc_billing",
        )
        .env("OTC_KAFKA__BROKERS", otc_testkit::kafka_brokers())
        .env(
            "OTC_AUTH__HS256_SECRET",
            otc_shared::auth::LOCAL_DEV_HS256_SECRET,
        )
        .env("OTC_GRPC__PORT", "seventy")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("grpc.port (env OTC_GRPC__PORT)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_subcommand_migrates_and_exits() {
    let database = TestDatabase::create("migrate").await.unwrap();
    empty_database(&database).await;
    let binary = otc_testkit::process::binary_path("payments").unwrap();
    // Only the database settings are needed: no Kafka, no auth.
    let output = tokio::process::Command::new(&binary)
        .arg("migrate")
        .env_clear()
        .env("OTC_DATABASE__URL", &database.url)
        .output()
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let migrations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _otc_shared_migrations WHERE success")
            .fetch_one(&database.pool)
            .await
            .unwrap();
    assert_eq!(migrations, 4);

    let output = tokio::process::Command::new(&binary)
        .arg("serve-please")
        .env_clear()
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument `serve-please`"));
    database.drop_database().await;
}
