//! The tenant's cash-application policy (threshold and tolerances).

use rust_decimal::Decimal;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub auto_apply_threshold: i16,
    pub max_combination: i16,
    pub short_pay_tolerance_amount: Decimal,
    pub short_pay_tolerance_percent: Decimal,
}

impl Default for PolicyRow {
    fn default() -> Self {
        Self {
            auto_apply_threshold: 90,
            max_combination: 5,
            short_pay_tolerance_amount: Decimal::ZERO,
            short_pay_tolerance_percent: Decimal::ZERO,
        }
    }
}

/// The tenant's policy, or the defaults when none was set.
pub async fn get(tx: &mut Tx) -> Result<PolicyRow, sqlx::Error> {
    let row = sqlx::query_as!(
        PolicyRow,
        r#"SELECT auto_apply_threshold, max_combination, short_pay_tolerance_amount,
                  short_pay_tolerance_percent
           FROM cash_application_policies
           WHERE tenant = current_setting('app.tenant', true)"#
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn set(
    tx: &mut Tx,
    tenant: &str,
    policy: &PolicyRow,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO cash_application_policies
               (tenant, auto_apply_threshold, max_combination, short_pay_tolerance_amount,
                short_pay_tolerance_percent, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant) DO UPDATE SET
               auto_apply_threshold = EXCLUDED.auto_apply_threshold,
               max_combination = EXCLUDED.max_combination,
               short_pay_tolerance_amount = EXCLUDED.short_pay_tolerance_amount,
               short_pay_tolerance_percent = EXCLUDED.short_pay_tolerance_percent,
               updated_by = EXCLUDED.updated_by,
               version = cash_application_policies.version + 1,
               updated_at = now()"#,
        tenant,
        policy.auto_apply_threshold,
        policy.max_combination,
        policy.short_pay_tolerance_amount,
        policy.short_pay_tolerance_percent,
        actor,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
