//! Auth end to end, against a real service process: refused tokens get
//! UNAUTHENTICATED, the wrong tenant or a role without the permission gets
//! PERMISSION_DENIED, and the right token is answered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use otc_proto::ops::GetOutboxStatusRequest;
use otc_proto::ops::operations_service_client::OperationsServiceClient;
use otc_shared::auth::{Role, TENANT_METADATA};
use otc_testkit::process::ServiceProcess;
use otc_testkit::{TestDatabase, local_token_issuer, tenant};
use tonic::Code;
use tonic::transport::Channel;

async fn call(
    channel: &Channel,
    token: Option<&str>,
    tenant_header: Option<&str>,
) -> Result<u64, tonic::Status> {
    let mut request = tonic::Request::new(GetOutboxStatusRequest {});
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(tenant_header) = tenant_header {
        request
            .metadata_mut()
            .insert(TENANT_METADATA, tenant_header.parse().unwrap());
    }
    let mut client = OperationsServiceClient::new(channel.clone());
    client
        .get_outbox_status(request)
        .await
        .map(|response| response.into_inner().pending_events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_tenants_and_roles_are_enforced_with_the_right_status() {
    let database = TestDatabase::create("auth").await.unwrap();
    let mut service = ServiceProcess::start("collections", &database.url, &[])
        .await
        .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(service.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let issuer = local_token_issuer();
    let acme = tenant("acme");
    let hour = Duration::from_secs(3600);

    let admin = issuer
        .mint(&acme, "ada", &[Role::TenantAdmin], hour)
        .unwrap();
    assert_eq!(call(&channel, Some(&admin), None).await.unwrap(), 0);
    assert_eq!(call(&channel, Some(&admin), Some("acme")).await.unwrap(), 0);

    let missing = call(&channel, None, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(
        missing.message().contains("missing bearer token"),
        "{}",
        missing.message()
    );

    let mut expired_claims = issuer.claims(&acme, "ada", &[Role::TenantAdmin], Duration::ZERO);
    expired_claims.exp -= 600;
    let expired = call(
        &channel,
        Some(&issuer.mint_claims(&expired_claims).unwrap()),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert_eq!(expired.message(), "token expired");

    let mut foreign_claims = issuer.claims(&acme, "ada", &[Role::TenantAdmin], hour);
    foreign_claims.aud = "some-other-system".to_owned();
    let wrong_audience = call(
        &channel,
        Some(&issuer.mint_claims(&foreign_claims).unwrap()),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(wrong_audience.code(), Code::Unauthenticated);
    assert!(wrong_audience.message().contains("wrong audience"));

    let forged = otc_shared::auth::TokenIssuer::new(
        "otc-local",
        "otc",
        "not-the-secret-but-long-enough-0000",
    )
    .mint(&acme, "mallory", &[Role::TenantAdmin], hour)
    .unwrap();
    assert_eq!(
        call(&channel, Some(&forged), None)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    let wrong_tenant = call(&channel, Some(&admin), Some("globex"))
        .await
        .unwrap_err();
    assert_eq!(wrong_tenant.code(), Code::PermissionDenied);
    assert!(
        wrong_tenant.message().contains("globex"),
        "{}",
        wrong_tenant.message()
    );

    let collector = issuer
        .mint(&acme, "cole", &[Role::Collector], hour)
        .unwrap();
    let denied = call(&channel, Some(&collector), None).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(
        denied.message().contains("operations.read"),
        "{}",
        denied.message()
    );

    // Health stays open to probes without a token.
    assert_eq!(
        service.health().await.unwrap(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    assert_eq!(
        service.terminate(Duration::from_secs(30)).await.unwrap(),
        Some(0)
    );
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_sees_only_its_own_outbox() {
    let database = TestDatabase::create("tenancy").await.unwrap();
    let acme = tenant("acme");
    let mut transaction = otc_shared::db::begin_for_tenant(&database.pool, &acme)
        .await
        .unwrap();
    let envelope = otc_shared::events::EventEnvelope::new("otc.test.v1.Thing", "/otc/test", &acme);
    let event = otc_shared::outbox::OutgoingEvent {
        topic: "test.unpublished".to_owned(),
        key: "k".to_owned(),
        envelope,
        payload: b"x".to_vec(),
    };
    otc_shared::outbox::enqueue(&mut transaction, &event)
        .await
        .unwrap();
    transaction.commit().await.unwrap();

    // Row-level security: another tenant's transaction sees nothing, and
    // cannot write rows for acme.
    let globex = tenant("globex");
    let mut transaction = otc_shared::db::begin_for_tenant(&database.pool, &globex)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut *transaction)
        .await
        .unwrap();
    assert_eq!(visible, 0);
    let smuggled = otc_shared::outbox::enqueue(&mut transaction, &event).await;
    assert!(smuggled.is_err(), "globex must not write acme's outbox");
    drop(transaction);

    // Outside a tenant transaction nothing is visible at all.
    let unscoped: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&database.pool)
        .await
        .unwrap();
    assert_eq!(unscoped, 0);
    let mut transaction = otc_shared::db::begin_for_tenant(&database.pool, &acme)
        .await
        .unwrap();
    let own: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut *transaction)
        .await
        .unwrap();
    assert_eq!(own, 1);
    drop(transaction);
    database.drop_database().await;
}
