//! PostgreSQL: connection pool with start-up retry, the shared migrations
//! (outbox, inbox, audit log) beside each service's own, and tenant-scoped
//! transactions for row-level security.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::config::ConfigError;
use crate::ids::TenantId;

/// The migrations every service database carries, tracked in their own table
/// so that they never collide with a service's versions.
pub static SHARED_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");
pub const SHARED_MIGRATIONS_TABLE: &str = "_otc_shared_migrations";

/// Setting name read by `otc_tenant_visible()` in row-level security policies.
pub const TENANT_SETTING: &str = "app.tenant";
/// `app.tenant` value for system tasks that work across tenants.
pub const ALL_TENANTS: &str = "*";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// How long start-up waits for the database to accept connections.
    #[serde(default = "default_connect_timeout_seconds")]
    pub connect_timeout_seconds: u64,
}

fn default_max_connections() -> u32 {
    10
}

fn default_connect_timeout_seconds() -> u64 {
    60
}

impl DatabaseSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose_secret();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::invalid(
                "database.url",
                "must be a postgres:// URL",
            ));
        }
        PgConnectOptions::from_str(url)
            .map_err(|error| ConfigError::invalid("database.url", error.to_string()))?;
        if self.max_connections == 0 {
            return Err(ConfigError::invalid(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        PgConnectOptions::from_str(self.url.expose_secret())
            .context("database.url is not a valid PostgreSQL URL")
    }
}

/// Connects, retrying with backoff until `connect_timeout_seconds` so that a
/// service started beside a database that is still coming up waits for it.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options = settings.connect_options()?;
    let deadline = Duration::from_secs(settings.connect_timeout_seconds);
    let attempt = || async {
        PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
    };
    attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(5))
                .with_total_delay(Some(deadline))
                .without_max_times(),
        )
        .notify(|error, wait| tracing::warn!(%error, ?wait, "database not reachable yet, retrying"))
        .await
        .with_context(|| {
            format!(
                "could not connect to PostgreSQL within {}s",
                deadline.as_secs()
            )
        })
}

/// Runs the shared migrations, then the service's own.
pub async fn migrate(pool: &PgPool, service_migrations: Option<&Migrator>) -> anyhow::Result<()> {
    let mut shared = Migrator {
        migrations: SHARED_MIGRATIONS.migrations.clone(),
        ..Migrator::DEFAULT
    };
    shared.dangerous_set_table_name(SHARED_MIGRATIONS_TABLE);
    shared.run(pool).await.context("shared migrations failed")?;
    if let Some(migrator) = service_migrations {
        migrator
            .run(pool)
            .await
            .context("service migrations failed")?;
    }
    Ok(())
}

/// Begins a transaction in which row-level security shows only `tenant`'s rows.
pub async fn begin_for_tenant(
    pool: &PgPool,
    tenant: &TenantId,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    set_tenant(&mut transaction, tenant.as_str()).await?;
    Ok(transaction)
}

/// Begins a transaction for a system task that works across tenants.
pub async fn begin_for_all_tenants(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    set_tenant(&mut transaction, ALL_TENANTS).await?;
    Ok(transaction)
}

/// Scopes an open transaction to a tenant (`SET LOCAL`, so it ends with it).
pub async fn set_tenant(
    transaction: &mut Transaction<'_, Postgres>,
    tenant: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT set_config('app.tenant', $1, true) AS applied",
        tenant
    )
    .fetch_one(&mut **transaction)
    .await?;
    Ok(())
}

/// Whether an error is worth retrying (the database or the network is down
/// or overloaded, or a serialization conflict) rather than a bug or bad data.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(database_error) => database_error.code().is_some_and(|code| {
            let code: &str = code.as_ref();
            code.starts_with("08") // connection exception
                || code == "40001" // serialization failure
                || code == "40P01" // deadlock detected
                || code.starts_with("53") // insufficient resources
                || code.starts_with("57P") // shutdown in progress, cannot connect now
        }),
        _ => false,
    }
}
