//! The billing profile of a customer: how often it is invoiced, how its
//! documents are delivered and how it is taxed.

use uuid::Uuid;

use super::CommandError;
use crate::store::Tx;
use crate::store::customers::{self, BillingProfile};
use otc_shared::TenantId;
use otc_shared::audit::{self, AuditEntry};

pub async fn set_profile(
    tx: &mut Tx,
    tenant: &TenantId,
    actor: &str,
    customer_id: Uuid,
    profile: &BillingProfile,
) -> Result<i64, CommandError> {
    let before = customers::load(tx, customer_id)
        .await?
        .map(|row| BillingProfile::of(&row));
    let version = customers::upsert_profile(tx, tenant.as_str(), customer_id, profile).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant,
            actor,
            action: "billing_profile.set",
            entity_type: "customer",
            entity_id: &customer_id.to_string(),
            before: before.map(|profile| serde_json::to_value(profile).unwrap_or_default()),
            after: Some(serde_json::to_value(profile).unwrap_or_default()),
        },
    )
    .await?;
    Ok(version)
}
