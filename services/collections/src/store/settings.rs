//! The tenant's collections settings: the dispute SLA and the write-off
//! approval threshold (defaults when the tenant has no row).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::Tx;

pub const DEFAULT_SLA_DAYS: i32 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub dispute_sla_days: i32,
    pub write_off_threshold: Decimal,
    /// 0 while the tenant has the defaults.
    pub version: i64,
    pub updated_by: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for SettingsRow {
    fn default() -> Self {
        Self {
            dispute_sla_days: DEFAULT_SLA_DAYS,
            write_off_threshold: Decimal::new(50, 0),
            version: 0,
            updated_by: String::new(),
            updated_at: None,
        }
    }
}

/// The settings, locked until the transaction ends when the tenant has a row.
pub async fn lock(tx: &mut Tx) -> Result<SettingsRow, sqlx::Error> {
    let row = sqlx::query_as!(
        SettingsRow,
        r#"SELECT dispute_sla_days, write_off_threshold, version, updated_by,
                  updated_at AS "updated_at?"
           FROM collections_settings WHERE tenant = current_setting('app.tenant', true)
           FOR UPDATE"#
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn get(tx: &mut Tx) -> Result<SettingsRow, sqlx::Error> {
    let row = sqlx::query_as!(
        SettingsRow,
        r#"SELECT dispute_sla_days, write_off_threshold, version, updated_by,
                  updated_at AS "updated_at?"
           FROM collections_settings WHERE tenant = current_setting('app.tenant', true)"#
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn set(
    tx: &mut Tx,
    tenant: &str,
    sla_days: i32,
    threshold: Decimal,
    updated_by: &str,
) -> Result<SettingsRow, sqlx::Error> {
    sqlx::query_as!(
        SettingsRow,
        r#"INSERT INTO collections_settings (tenant, dispute_sla_days, write_off_threshold, updated_by)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant) DO UPDATE SET
               dispute_sla_days = EXCLUDED.dispute_sla_days,
               write_off_threshold = EXCLUDED.write_off_threshold,
               updated_by = EXCLUDED.updated_by,
               version = collections_settings.version + 1,
               updated_at = now()
           RETURNING dispute_sla_days, write_off_threshold, version, updated_by,
                     updated_at AS "updated_at?""#,
        tenant,
        sla_days,
        threshold,
        updated_by,
    )
    .fetch_one(&mut **tx)
    .await
}
