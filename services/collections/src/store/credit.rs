//! Credit limits and their history, the tenant's credit policy, each
//! customer's hold status, and the two queries a credit decision is made
//! from: [`lock_terms`] and [`exposure_lines`].

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

/// The default of `overdue_hold_days` for a tenant that set no policy.
pub const DEFAULT_OVERDUE_HOLD_DAYS: i32 = 30;

/// A customer's hold status, limit and policy, read under the lock that
/// serialises credit decisions of that customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub on_hold: bool,
    pub hold_reason: String,
    pub held_since: Option<DateTime<Utc>>,
    pub limit_amount: Option<Decimal>,
    pub limit_currency: Option<String>,
    pub risk_class: Option<String>,
    pub limit_version: Option<i64>,
    pub overdue_hold_days: Option<i32>,
    pub default_limit_amount: Option<Decimal>,
    pub default_limit_currency: Option<String>,
    pub customer_name: Option<String>,
    pub customer_status: Option<String>,
    pub customer_currency: Option<String>,
}

/// Locks the customer's credit status row (creating it) until the
/// transaction ends, and reads what a decision needs besides the figures.
pub async fn lock_terms(
    tx: &mut Tx,
    tenant: &str,
    customer_id: Uuid,
) -> Result<Terms, sqlx::Error> {
    sqlx::query_as!(
        Terms,
        r#"WITH status AS (
               INSERT INTO credit_status (tenant, customer_id) VALUES ($1, $2)
               ON CONFLICT (tenant, customer_id) DO UPDATE SET on_hold = credit_status.on_hold
               RETURNING on_hold, hold_reason, held_since)
           SELECT s.on_hold AS "on_hold!", s.hold_reason AS "hold_reason!",
                  s.held_since AS "held_since?",
                  l.amount AS "limit_amount?", l.currency AS "limit_currency?",
                  l.risk_class AS "risk_class?", l.version AS "limit_version?",
                  p.overdue_hold_days AS "overdue_hold_days?",
                  p.default_limit_amount AS "default_limit_amount?",
                  p.default_limit_currency AS "default_limit_currency?",
                  c.legal_name AS "customer_name?", c.status AS "customer_status?",
                  c.currency AS "customer_currency?"
           FROM status s
           LEFT JOIN credit_limits l ON l.tenant = $1 AND l.customer_id = $2
           LEFT JOIN credit_policies p ON p.tenant = $1
           LEFT JOIN customers c ON c.tenant = $1 AND c.id = $2"#,
        tenant,
        customer_id,
    )
    .fetch_one(&mut **tx)
    .await
}

/// One line of a customer's exposure: `receivable` (open items), `unbilled`
/// (approved orders) or `held` (the smallest held order), per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureLine {
    pub source: String,
    pub currency: String,
    pub amount: Decimal,
    pub overdue_items: i64,
    pub oldest_overdue: Option<NaiveDate>,
}

/// The customer's figures in one query over two partial indexes; items
/// due before `overdue_before` are overdue beyond the policy, and
/// `except_order` (the order being checked) is left out of the orders.
pub async fn exposure_lines(
    tx: &mut Tx,
    customer_id: Uuid,
    overdue_before: NaiveDate,
    except_order: Option<Uuid>,
) -> Result<Vec<ExposureLine>, sqlx::Error> {
    sqlx::query_as!(
        ExposureLine,
        r#"SELECT 'receivable' AS "source!", currency AS "currency!", SUM(open_amount) AS "amount!",
                  COUNT(*) FILTER (WHERE open_amount > 0 AND due_date < $2) AS "overdue_items!",
                  MIN(due_date) FILTER (WHERE open_amount > 0 AND due_date < $2) AS "oldest_overdue?"
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
             AND open_amount <> 0
           GROUP BY currency
           UNION ALL
           SELECT CASE WHEN held THEN 'held' ELSE 'unbilled' END, currency,
                  CASE WHEN held THEN MIN(remaining) ELSE SUM(remaining) END, 0::bigint, NULL::date
           FROM (SELECT state = 'held' AS held, currency,
                        GREATEST(order_total - shipped, 0) AS remaining
                 FROM unbilled_orders
                 WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
                   AND state IN ('reserved', 'approved', 'held')
                   AND ($3::uuid IS NULL OR order_id <> $3)) orders
           GROUP BY held, currency"#,
        customer_id,
        overdue_before,
        except_order,
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn set_on_hold(tx: &mut Tx, customer_id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE credit_status SET on_hold = true, hold_reason = $2, held_since = now()
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1"#,
        customer_id,
        reason,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_released(tx: &mut Tx, customer_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE credit_status SET on_hold = false, hold_reason = '', released_at = now()
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1"#,
        customer_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Customers of the tenant on hold (re-assessed when the policy changes).
pub async fn customers_on_hold(tx: &mut Tx) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT customer_id FROM credit_status
           WHERE tenant = current_setting('app.tenant', true) AND on_hold
           ORDER BY customer_id"#
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRow {
    pub amount: Decimal,
    pub currency: String,
    pub risk_class: Option<String>,
    pub version: i64,
}

pub async fn lock_limit(tx: &mut Tx, customer_id: Uuid) -> Result<Option<LimitRow>, sqlx::Error> {
    sqlx::query_as!(
        LimitRow,
        r#"SELECT amount, currency, risk_class, version FROM credit_limits
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
           FOR UPDATE"#,
        customer_id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub struct LimitChange<'a> {
    pub customer_id: Uuid,
    pub amount: Decimal,
    pub currency: &'a str,
    pub risk_class: Option<&'a str>,
    pub reason: &'a str,
    pub changed_by: &'a str,
}

/// Writes the new limit and its history row; the new version.
pub async fn set_limit(
    tx: &mut Tx,
    tenant: &str,
    change: &LimitChange<'_>,
    previous: Option<&LimitRow>,
) -> Result<i64, sqlx::Error> {
    let version = sqlx::query_scalar!(
        r#"INSERT INTO credit_limits (tenant, customer_id, amount, currency, risk_class, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant, customer_id) DO UPDATE SET
               amount = EXCLUDED.amount, currency = EXCLUDED.currency,
               risk_class = EXCLUDED.risk_class, updated_by = EXCLUDED.updated_by,
               version = credit_limits.version + 1, updated_at = now()
           RETURNING version"#,
        tenant,
        change.customer_id,
        change.amount,
        change.currency,
        change.risk_class,
        change.changed_by,
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO credit_limit_history
               (tenant, id, customer_id, amount, currency, previous_amount, previous_currency,
                risk_class, previous_risk_class, version, reason, changed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"#,
        tenant,
        Uuid::now_v7(),
        change.customer_id,
        change.amount,
        change.currency,
        previous.map(|row| row.amount),
        previous.map(|row| row.currency.as_str()),
        change.risk_class,
        previous.and_then(|row| row.risk_class.as_deref()),
        version,
        change.reason,
        change.changed_by,
    )
    .execute(&mut **tx)
    .await?;
    Ok(version)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: Uuid,
    pub amount: Decimal,
    pub currency: String,
    pub previous_amount: Option<Decimal>,
    pub previous_currency: Option<String>,
    pub risk_class: Option<String>,
    pub previous_risk_class: Option<String>,
    pub version: i64,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// A page of a customer's limit changes, newest first.
pub async fn history(
    tx: &mut Tx,
    customer_id: Uuid,
    limit: i64,
    before: Option<Uuid>,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    sqlx::query_as!(
        HistoryRow,
        r#"SELECT id, amount, currency, previous_amount, previous_currency, risk_class,
                  previous_risk_class, version, reason, changed_by, changed_at
           FROM credit_limit_history
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
             AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC
           LIMIT $3"#,
        customer_id,
        before,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub overdue_hold_days: i32,
    pub default_limit_amount: Option<Decimal>,
    pub default_limit_currency: Option<String>,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for PolicyRow {
    fn default() -> Self {
        Self {
            overdue_hold_days: DEFAULT_OVERDUE_HOLD_DAYS,
            default_limit_amount: None,
            default_limit_currency: None,
            version: 0,
            updated_by: String::new(),
            updated_at: None,
        }
    }
}

/// The tenant's policy (the defaults when none was set).
pub async fn policy(tx: &mut Tx) -> Result<PolicyRow, sqlx::Error> {
    let row = sqlx::query_as!(
        PolicyRow,
        r#"SELECT overdue_hold_days, default_limit_amount, default_limit_currency, version,
                  updated_by, updated_at AS "updated_at?"
           FROM credit_policies WHERE tenant = current_setting('app.tenant', true)"#
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

/// The tenant's policy (the defaults when none was set), locked for a change.
pub async fn lock_policy(tx: &mut Tx) -> Result<PolicyRow, sqlx::Error> {
    let row = sqlx::query_as!(
        PolicyRow,
        r#"SELECT overdue_hold_days, default_limit_amount, default_limit_currency, version,
                  updated_by, updated_at AS "updated_at?"
           FROM credit_policies WHERE tenant = current_setting('app.tenant', true)
           FOR UPDATE"#
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or_default())
}

pub async fn set_policy(
    tx: &mut Tx,
    tenant: &str,
    policy: &PolicyRow,
) -> Result<PolicyRow, sqlx::Error> {
    sqlx::query_as!(
        PolicyRow,
        r#"INSERT INTO credit_policies
               (tenant, overdue_hold_days, default_limit_amount, default_limit_currency, updated_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant) DO UPDATE SET
               overdue_hold_days = EXCLUDED.overdue_hold_days,
               default_limit_amount = EXCLUDED.default_limit_amount,
               default_limit_currency = EXCLUDED.default_limit_currency,
               updated_by = EXCLUDED.updated_by,
               version = credit_policies.version + 1,
               updated_at = now()
           RETURNING overdue_hold_days, default_limit_amount, default_limit_currency, version,
                     updated_by, updated_at AS "updated_at?""#,
        tenant,
        policy.overdue_hold_days,
        policy.default_limit_amount,
        policy.default_limit_currency,
        policy.updated_by,
    )
    .fetch_one(&mut **tx)
    .await
}

/// What [`lock_terms`] reads, without locking or creating anything (for
/// reads); `None` when collections knows nothing of the customer.
pub async fn read_terms(tx: &mut Tx, customer_id: Uuid) -> Result<Option<Terms>, sqlx::Error> {
    sqlx::query_as!(
        Terms,
        r#"SELECT COALESCE(s.on_hold, false) AS "on_hold!", COALESCE(s.hold_reason, '') AS "hold_reason!",
                  s.held_since AS "held_since?",
                  l.amount AS "limit_amount?", l.currency AS "limit_currency?",
                  l.risk_class AS "risk_class?", l.version AS "limit_version?",
                  p.overdue_hold_days AS "overdue_hold_days?",
                  p.default_limit_amount AS "default_limit_amount?",
                  p.default_limit_currency AS "default_limit_currency?",
                  c.legal_name AS "customer_name?", c.status AS "customer_status?",
                  c.currency AS "customer_currency?"
           FROM (SELECT current_setting('app.tenant', true) AS tenant, $1::uuid AS customer_id) k
           LEFT JOIN credit_status s ON s.tenant = k.tenant AND s.customer_id = k.customer_id
           LEFT JOIN credit_limits l ON l.tenant = k.tenant AND l.customer_id = k.customer_id
           LEFT JOIN credit_policies p ON p.tenant = k.tenant
           LEFT JOIN customers c ON c.tenant = k.tenant AND c.id = k.customer_id
           WHERE s.customer_id IS NOT NULL OR l.customer_id IS NOT NULL OR c.id IS NOT NULL"#,
        customer_id,
    )
    .fetch_optional(&mut **tx)
    .await
}
