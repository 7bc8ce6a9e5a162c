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

/// [`Terms`] of one of several customers locked at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerTerms {
    pub customer_id: Uuid,
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

impl CustomerTerms {
    pub fn split(self) -> (Uuid, Terms) {
        (
            self.customer_id,
            Terms {
                on_hold: self.on_hold,
                hold_reason: self.hold_reason,
                held_since: self.held_since,
                limit_amount: self.limit_amount,
                limit_currency: self.limit_currency,
                risk_class: self.risk_class,
                limit_version: self.limit_version,
                overdue_hold_days: self.overdue_hold_days,
                default_limit_amount: self.default_limit_amount,
                default_limit_currency: self.default_limit_currency,
                customer_name: self.customer_name,
                customer_status: self.customer_status,
                customer_currency: self.customer_currency,
            },
        )
    }
}

/// [`lock_terms`] for several customers in one statement: the status rows
/// are created or locked in id order (so two batches of overlapping
/// customers wait for each other rather than deadlock).
pub async fn lock_terms_many(
    tx: &mut Tx,
    tenant: &str,
    customer_ids: &[Uuid],
) -> Result<Vec<CustomerTerms>, sqlx::Error> {
    sqlx::query_as!(
        CustomerTerms,
        r#"WITH status AS (
               INSERT INTO credit_status (tenant, customer_id)
               SELECT $1, customer_id FROM (SELECT DISTINCT unnest($2::uuid[]) AS customer_id) asked
               ORDER BY customer_id
               ON CONFLICT (tenant, customer_id) DO UPDATE SET on_hold = credit_status.on_hold
               RETURNING customer_id, on_hold, hold_reason, held_since)
           SELECT s.customer_id AS "customer_id!", s.on_hold AS "on_hold!",
                  s.hold_reason AS "hold_reason!", s.held_since AS "held_since?",
                  l.amount AS "limit_amount?", l.currency AS "limit_currency?",
                  l.risk_class AS "risk_class?", l.version AS "limit_version?",
                  p.overdue_hold_days AS "overdue_hold_days?",
                  p.default_limit_amount AS "default_limit_amount?",
                  p.default_limit_currency AS "default_limit_currency?",
                  c.legal_name AS "customer_name?", c.status AS "customer_status?",
                  c.currency AS "customer_currency?"
           FROM status s
           -- LATERAL ... LIMIT 1: one primary-key lookup per customer, never a scan.
           LEFT JOIN LATERAL (SELECT amount, currency, risk_class, version FROM credit_limits
                              WHERE tenant = $1 AND customer_id = s.customer_id LIMIT 1) l ON true
           LEFT JOIN credit_policies p ON p.tenant = $1
           LEFT JOIN LATERAL (SELECT legal_name, status, currency FROM customers
                              WHERE tenant = $1 AND id = s.customer_id LIMIT 1) c ON true"#,
        tenant,
        customer_ids,
    )
    .fetch_all(&mut **tx)
    .await
}

/// An [`ExposureLine`] of one of several customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerExposureLine {
    pub customer_id: Uuid,
    pub source: String,
    pub currency: String,
    pub amount: Decimal,
    pub overdue_items: i64,
    pub oldest_overdue: Option<NaiveDate>,
}

impl CustomerExposureLine {
    pub fn split(self) -> (Uuid, ExposureLine) {
        (
            self.customer_id,
            ExposureLine {
                source: self.source,
                currency: self.currency,
                amount: self.amount,
                overdue_items: self.overdue_items,
                oldest_overdue: self.oldest_overdue,
            },
        )
    }
}

/// [`exposure_lines`] for several customers in one statement: customer
/// `customer_ids[i]` counts items due before `overdue_before[i]` as overdue,
/// and the orders `except_orders` are left out of every customer's orders.
pub async fn exposure_lines_many(
    tx: &mut Tx,
    customer_ids: &[Uuid],
    overdue_before: &[NaiveDate],
    except_orders: &[Uuid],
) -> Result<Vec<CustomerExposureLine>, sqlx::Error> {
    sqlx::query_as!(
        CustomerExposureLine,
        r#"WITH asked AS (
               SELECT customer_id, overdue_before
               FROM UNNEST($1::uuid[], $2::date[]) AS asked(customer_id, overdue_before))
           -- LATERAL: one index lookup per customer, never a scan of the ledger.
           SELECT a.customer_id AS "customer_id!", 'receivable' AS "source!",
                  r.currency AS "currency!", r.amount AS "amount!",
                  r.overdue_items AS "overdue_items!", r.oldest_overdue AS "oldest_overdue?"
           FROM asked a
           CROSS JOIN LATERAL (
               SELECT o.currency, SUM(o.open_amount) AS amount,
                      COUNT(*) FILTER (WHERE o.open_amount > 0 AND o.due_date < a.overdue_before) AS overdue_items,
                      MIN(o.due_date) FILTER (WHERE o.open_amount > 0 AND o.due_date < a.overdue_before) AS oldest_overdue
               FROM open_items o
               WHERE o.tenant = current_setting('app.tenant', true)
                 AND o.customer_id = a.customer_id AND o.open_amount <> 0
               GROUP BY o.currency) r
           UNION ALL
           SELECT a.customer_id, CASE WHEN u.held THEN 'held' ELSE 'unbilled' END, u.currency,
                  u.amount, 0::bigint, NULL::date
           FROM asked a
           CROSS JOIN LATERAL (
               SELECT held, currency,
                      CASE WHEN held THEN MIN(remaining) ELSE SUM(remaining) END AS amount
               FROM (SELECT state = 'held' AS held, currency,
                            GREATEST(order_total - shipped, 0) AS remaining
                     FROM unbilled_orders
                     WHERE tenant = current_setting('app.tenant', true)
                       AND customer_id = a.customer_id
                       AND state IN ('reserved', 'approved', 'held')
                       AND order_id <> ALL($3::uuid[])) orders
               GROUP BY held, currency) u"#,
        customer_ids,
        overdue_before,
        except_orders,
    )
    .fetch_all(&mut **tx)
    .await
}

/// [`set_on_hold`] for several customers, each with its reason.
pub async fn set_on_hold_many(
    tx: &mut Tx,
    customer_ids: &[Uuid],
    reasons: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE credit_status
           SET on_hold = true, hold_reason = ($2::text[])[array_position($1::uuid[], customer_id)],
               held_since = now()
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = ANY($1)"#,
        customer_ids,
        reasons,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Locks the existing credit status rows of several customers, of any
/// tenants, in (tenant, customer) order: what a consumer batch takes before
/// applying its records, so that it and a `CheckCredit` batch (which locks in
/// customer order too) wait for each other instead of deadlocking. Keys
/// that are no customer's lock nothing; rows created later are locked when
/// they are created.
pub async fn lock_status_in_order(
    tx: &mut Tx,
    tenants: &[String],
    customer_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"SELECT s.customer_id FROM credit_status s
           JOIN unnest($1::text[], $2::uuid[]) AS wanted (tenant, customer_id)
             ON s.tenant = wanted.tenant AND s.customer_id = wanted.customer_id
           ORDER BY s.tenant, s.customer_id
           FOR UPDATE OF s"#,
        tenants,
        customer_ids,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(())
}
