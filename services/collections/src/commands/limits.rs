//! What credit managers and tenant admins change: a customer's credit limit
//! and risk class (kept in a history with who, when and why), and the
//! tenant's credit policy. Either may let held customers through, so both
//! re-assess them in the same transaction.

use uuid::Uuid;

use super::credit_control::reassess;
use super::{Actor, CommandError};
use crate::store::Tx;
use crate::store::credit::{self as store, LimitChange, LimitRow, PolicyRow};
use crate::store::customers;
use otc_shared::Money;
use otc_shared::audit::{self, AuditEntry};

pub const LIMIT_TRIGGER: &str = "credit_limit.set";
pub const POLICY_TRIGGER: &str = "credit_policy.set";
pub const RISK_CLASSES: [&str; 4] = ["A", "B", "C", "D"];

pub struct NewLimit<'a> {
    pub customer_id: Uuid,
    pub limit: Money,
    pub risk_class: Option<&'a str>,
    pub reason: &'a str,
    /// 0: do not check.
    pub expected_version: i64,
}

fn limit_json(row: Option<&LimitRow>) -> Option<serde_json::Value> {
    row.map(|row| {
        serde_json::json!({
            "amount": row.amount,
            "currency": row.currency,
            "risk_class": row.risk_class,
            "version": row.version,
        })
    })
}

pub async fn set_credit_limit(
    tx: &mut Tx,
    actor: &Actor,
    change: &NewLimit<'_>,
) -> Result<(), CommandError> {
    if change.limit.is_negative() {
        return Err(CommandError::invalid(
            "credit_limit.amount",
            "must not be negative",
        ));
    }
    if customers::get(tx, change.customer_id).await?.is_none() {
        return Err(CommandError::NotFound(format!(
            "customer {} is not known to collections (yet): its CustomerUpserted has not arrived",
            change.customer_id
        )));
    }
    let previous = store::lock_limit(tx, change.customer_id).await?;
    let current_version = previous.as_ref().map_or(0, |row| row.version);
    if change.expected_version != 0 && change.expected_version != current_version {
        return Err(CommandError::Aborted(format!(
            "the credit limit is at version {current_version}, not {}: read it again",
            change.expected_version
        )));
    }
    let currency = change.limit.currency().code();
    let version = store::set_limit(
        tx,
        actor.tenant.as_str(),
        &LimitChange {
            customer_id: change.customer_id,
            amount: change.limit.amount(),
            currency,
            risk_class: change.risk_class,
            reason: change.reason,
            changed_by: &actor.subject,
        },
        previous.as_ref(),
    )
    .await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "credit_limit.set",
            entity_type: "customer_credit",
            entity_id: &change.customer_id.to_string(),
            before: limit_json(previous.as_ref()),
            after: Some(serde_json::json!({
                "amount": change.limit.amount(),
                "currency": currency,
                "risk_class": change.risk_class,
                "version": version,
                "reason": change.reason,
            })),
        },
    )
    .await?;
    reassess(tx, &actor.tenant, change.customer_id, LIMIT_TRIGGER).await?;
    Ok(())
}

pub struct NewPolicy {
    pub overdue_hold_days: i32,
    pub default_limit: Option<Money>,
    /// 0: do not check.
    pub expected_version: i64,
}

fn policy_json(row: &PolicyRow) -> serde_json::Value {
    serde_json::json!({
        "overdue_hold_days": row.overdue_hold_days,
        "default_limit_amount": row.default_limit_amount,
        "default_limit_currency": row.default_limit_currency,
        "version": row.version,
    })
}

/// Replaces the tenant's policy; customers on hold are re-assessed under it.
pub async fn set_credit_policy(
    tx: &mut Tx,
    actor: &Actor,
    change: &NewPolicy,
) -> Result<PolicyRow, CommandError> {
    if change
        .default_limit
        .is_some_and(|limit| limit.is_negative())
    {
        return Err(CommandError::invalid(
            "default_credit_limit.amount",
            "must not be negative",
        ));
    }
    let before = store::lock_policy(tx).await?;
    if change.expected_version != 0 && change.expected_version != before.version {
        return Err(CommandError::Aborted(format!(
            "the credit policy is at version {}, not {}: read it again",
            before.version, change.expected_version
        )));
    }
    let wanted = PolicyRow {
        overdue_hold_days: change.overdue_hold_days,
        default_limit_amount: change.default_limit.map(|limit| limit.amount()),
        default_limit_currency: change
            .default_limit
            .map(|limit| limit.currency().code().to_owned()),
        updated_by: actor.subject.clone(),
        ..PolicyRow::default()
    };
    let after = store::set_policy(tx, actor.tenant.as_str(), &wanted).await?;
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "credit_policy.set",
            entity_type: "credit_policy",
            entity_id: actor.tenant.as_str(),
            before: (before.version > 0).then(|| policy_json(&before)),
            after: Some(policy_json(&after)),
        },
    )
    .await?;
    for customer_id in store::customers_on_hold(tx).await? {
        reassess(tx, &actor.tenant, customer_id, POLICY_TRIGGER).await?;
    }
    Ok(after)
}
