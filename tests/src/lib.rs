//! Test kit: everything integration tests need to run against the real
//! PostgreSQL and Kafka started by `scripts/infra/infra.sh` — a fresh
//! database per test, unique topic names, service binaries as processes,
//! tokens, and plain Kafka clients that read what was published.
//!
//! Test support code: a failed expectation here should fail the test at once.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod billing;
pub mod browser;
pub mod collections;
pub mod credit;
pub mod kafka;
pub mod mail;
pub mod payments;
pub mod private_infra;
pub mod process;
pub mod reporting;
pub mod statements;
pub mod suite;
pub mod whole;

use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;

use otc_shared::auth::{LOCAL_DEV_HS256_SECRET, Role, TokenIssuer};
use otc_shared::ids::TenantId;

/// Where the test infrastructure is (the defaults match `infra.sh`), unless
/// this test process runs on a [`private_infra::PrivateInfra`].
pub fn pg_admin_url() -> String {
    if let Some(private) = private_infra::current() {
        return private.pg_admin_url.clone();
    }
    std::env::var("OTC_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://otc:otc@127.0.0.1:55432/postgres".to_owned())
}

pub fn kafka_brokers() -> String {
    if let Some(private) = private_infra::current() {
        return private.kafka_brokers.clone();
    }
    std::env::var("OTC_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:59092".to_owned())
}

/// A short unique suffix for names (databases, topics, groups).
pub fn unique_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()[20..].to_owned()
}

/// A topic name of its own for one test.
pub fn unique_topic(prefix: &str) -> String {
    format!("test.{prefix}.{}", unique_suffix())
}

/// A database created for one test, with the shared migrations applied.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create(prefix: &str) -> anyhow::Result<Self> {
        let name = format!("test_{prefix}_{}", unique_suffix());
        let admin_options = PgConnectOptions::from_str(&pg_admin_url())?;
        let mut admin = admin_options
            .connect()
            .await
            .context("cannot reach PostgreSQL; start it with `make infra-up`")?;
        // The name is ours (prefix + hex), never user input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let options = admin_options.database(&name);
        let url = options.to_url_lossy().to_string();
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        otc_shared::db::migrate(&pool, None).await?;
        Ok(Self { name, url, pool })
    }

    /// A scalar query over every tenant's rows (as the services' system
    /// tasks see them; row-level security applies to tests too).
    pub async fn scalar<T>(&self, query: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool)
            .await
            .unwrap();
        let value: T = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        value
    }

    /// The first column of every row of `query`, over every tenant's rows.
    pub async fn column<T>(&self, query: &str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool)
            .await
            .unwrap();
        let values: Vec<T> = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        values
    }

    /// Polls `query` (a scalar `bigint` count) until it reaches `expected`
    /// or the timeout passes; returns the last count.
    pub async fn wait_for_count(&self, query: &str, expected: i64, timeout: Duration) -> i64 {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let count: i64 = self.scalar(query).await;
            if count >= expected || std::time::Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn url_secret(&self) -> SecretString {
        SecretString::from(self.url.clone())
    }

    /// Drops the database (best effort; `make infra-reset` clears leftovers).
    pub async fn drop_database(self) {
        self.pool.close().await;
        let Ok(options) = PgConnectOptions::from_str(&pg_admin_url()) else {
            return;
        };
        if let Ok(mut admin) = options.connect().await {
            let _ignored = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

/// A tenant from a literal slug; a bad literal fails the test that wrote it.
pub fn tenant(slug: &str) -> TenantId {
    TenantId::parse(slug).expect("tenant literal in a test must be a valid slug")
}

/// The issuer the local services trust by default.
pub fn local_token_issuer() -> TokenIssuer {
    TokenIssuer::new("otc-local", "otc", LOCAL_DEV_HS256_SECRET)
}

/// A valid local token for `tenant` with `roles`, good for an hour.
pub fn token(tenant_slug: &str, roles: &[Role]) -> anyhow::Result<String> {
    Ok(local_token_issuer().mint(
        &tenant(tenant_slug),
        "test-user",
        roles,
        Duration::from_secs(3600),
    )?)
}

/// The fields an `INVALID_ARGUMENT` names in its `BadRequest` details
/// (none when it has no such details).
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    tonic_types::StatusExt::get_error_details(status)
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default()
}
