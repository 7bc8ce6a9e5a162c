//! The worklist's tables (assignment rules, manual assignments, the contact
//! log) and the ranked worklist query.
//!
//! The ranking is computed in SQL per request, not kept in a table: a
//! score grows every day an item stays overdue, so a stored score would be
//! stale by tomorrow, and keeping one fresh would mean rewriting every
//! overdue customer daily. Instead the query aggregates the overdue items
//! (a range scan of the partial index `open_items_receivable_by_due`),
//! in one hash aggregate by customer, resolves each customer's collector,
//! and pages with a keyset on (score, customer id) so a page costs one
//! aggregation and a top-N sort, never an OFFSET. The details of a page
//! (amounts per currency, promises, disputes, contacts) are read for the
//! page's customers only. Measured on 100,000 customers with 1,000,000 open
//! items (see docs/collections.md): 1.3 to 1.6 s a page on a loaded 2-core
//! machine, whichever list is asked for.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;
use crate::domain::worklist::{Cursor, MAX_DAYS_COUNTED, NEUTRAL_WEIGHT, RISK_WEIGHTS, Rule};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub id: Uuid,
    pub collector: String,
    pub segment: Option<String>,
    pub region: Option<String>,
    pub priority: i32,
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl RuleRow {
    pub fn rule(&self) -> Rule {
        Rule {
            id: self.id,
            collector: self.collector.clone(),
            segment: self.segment.clone(),
            region: self.region.clone(),
            priority: self.priority,
        }
    }
}

pub struct RuleValues<'a> {
    pub collector: &'a str,
    pub segment: Option<&'a str>,
    pub region: Option<&'a str>,
    pub priority: i32,
}

/// Every rule of the tenant, in the order they are tried.
pub async fn rules(tx: &mut Tx) -> Result<Vec<RuleRow>, sqlx::Error> {
    sqlx::query_as!(
        RuleRow,
        r#"SELECT id, collector, segment, region, priority, version, created_by, created_at,
                  updated_by, updated_at
           FROM worklist_assignment_rules
           WHERE tenant = current_setting('app.tenant', true)
           ORDER BY priority,
                    (CASE WHEN segment IS NULL THEN 0 ELSE 1 END
                     + CASE WHEN region IS NULL THEN 0 ELSE 1 END) DESC,
                    id"#
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn lock_rule(tx: &mut Tx, id: Uuid) -> Result<Option<RuleRow>, sqlx::Error> {
    sqlx::query_as!(
        RuleRow,
        r#"SELECT id, collector, segment, region, priority, version, created_by, created_at,
                  updated_by, updated_at
           FROM worklist_assignment_rules
           WHERE tenant = current_setting('app.tenant', true) AND id = $1
           FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert_rule(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    values: &RuleValues<'_>,
    actor: &str,
) -> Result<RuleRow, sqlx::Error> {
    sqlx::query_as!(
        RuleRow,
        r#"INSERT INTO worklist_assignment_rules
               (tenant, id, collector, segment, region, priority, created_by, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
           RETURNING id, collector, segment, region, priority, version, created_by, created_at,
                     updated_by, updated_at"#,
        tenant,
        id,
        values.collector,
        values.segment,
        values.region,
        values.priority,
        actor,
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn update_rule(
    tx: &mut Tx,
    id: Uuid,
    values: &RuleValues<'_>,
    actor: &str,
) -> Result<RuleRow, sqlx::Error> {
    sqlx::query_as!(
        RuleRow,
        r#"UPDATE worklist_assignment_rules
           SET collector = $2, segment = $3, region = $4, priority = $5, updated_by = $6,
               updated_at = now(), version = version + 1
           WHERE tenant = current_setting('app.tenant', true) AND id = $1
           RETURNING id, collector, segment, region, priority, version, created_by, created_at,
                     updated_by, updated_at"#,
        id,
        values.collector,
        values.segment,
        values.region,
        values.priority,
        actor,
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn delete_rule(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"DELETE FROM worklist_assignment_rules
           WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualAssignmentRow {
    pub customer_id: Uuid,
    pub collector: String,
    pub reason: String,
    pub version: i64,
    pub assigned_by: String,
    pub assigned_at: DateTime<Utc>,
}

pub async fn lock_manual_assignment(
    tx: &mut Tx,
    customer_id: Uuid,
) -> Result<Option<ManualAssignmentRow>, sqlx::Error> {
    sqlx::query_as!(
        ManualAssignmentRow,
        r#"SELECT customer_id, collector, reason, version, assigned_by, assigned_at
           FROM worklist_assignments
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1
           FOR UPDATE"#,
        customer_id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn upsert_manual_assignment(
    tx: &mut Tx,
    tenant: &str,
    customer_id: Uuid,
    collector: &str,
    reason: &str,
    actor: &str,
) -> Result<ManualAssignmentRow, sqlx::Error> {
    sqlx::query_as!(
        ManualAssignmentRow,
        r#"INSERT INTO worklist_assignments (tenant, customer_id, collector, reason, assigned_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant, customer_id) DO UPDATE SET
               collector = EXCLUDED.collector, reason = EXCLUDED.reason,
               assigned_by = EXCLUDED.assigned_by, assigned_at = now(),
               version = worklist_assignments.version + 1
           RETURNING customer_id, collector, reason, version, assigned_by, assigned_at"#,
        tenant,
        customer_id,
        collector,
        reason,
        actor,
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn delete_manual_assignment(tx: &mut Tx, customer_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"DELETE FROM worklist_assignments
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1"#,
        customer_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What assignment rules match on, of a known customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPlace {
    pub id: Uuid,
    pub segment: String,
    pub region: String,
}

pub async fn customer_place(
    tx: &mut Tx,
    customer_id: Uuid,
) -> Result<Option<CustomerPlace>, sqlx::Error> {
    sqlx::query_as!(
        CustomerPlace,
        r#"SELECT id, segment, tax_region AS region FROM customers
           WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        customer_id
    )
    .fetch_optional(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub id: Uuid,
    pub request_key: String,
    pub customer_id: Uuid,
    pub collector: String,
    pub channel: String,
    pub outcome: String,
    pub note: String,
    pub next_action: Option<String>,
    pub next_action_date: Option<NaiveDate>,
    pub contacted_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

pub struct NewContact<'a> {
    pub id: Uuid,
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub collector: &'a str,
    pub channel: &'a str,
    pub outcome: &'a str,
    pub note: &'a str,
    pub next_action: Option<&'a str>,
    pub next_action_date: Option<NaiveDate>,
    pub contacted_at: DateTime<Utc>,
}

pub async fn contact_by_key(tx: &mut Tx, key: &str) -> Result<Option<ContactRow>, sqlx::Error> {
    sqlx::query_as!(
        ContactRow,
        r#"SELECT id, request_key, customer_id, collector, channel, outcome, note, next_action,
                  next_action_date, contacted_at, recorded_at
           FROM collector_contacts
           WHERE tenant = current_setting('app.tenant', true) AND request_key = $1"#,
        key
    )
    .fetch_optional(&mut **tx)
    .await
}

/// `None` when another call inserted the same key first.
pub async fn insert_contact(
    tx: &mut Tx,
    tenant: &str,
    new: &NewContact<'_>,
) -> Result<Option<ContactRow>, sqlx::Error> {
    sqlx::query_as!(
        ContactRow,
        r#"INSERT INTO collector_contacts
               (tenant, id, request_key, customer_id, collector, channel, outcome, note,
                next_action, next_action_date, contacted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (tenant, request_key) DO NOTHING
           RETURNING id, request_key, customer_id, collector, channel, outcome, note,
                     next_action, next_action_date, contacted_at, recorded_at"#,
        tenant,
        new.id,
        new.request_key,
        new.customer_id,
        new.collector,
        new.channel,
        new.outcome,
        new.note,
        new.next_action,
        new.next_action_date,
        new.contacted_at,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A customer's contacts, newest first, after the contact `after`.
pub async fn contacts(
    tx: &mut Tx,
    customer_id: Uuid,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<ContactRow>, sqlx::Error> {
    sqlx::query_as!(
        ContactRow,
        r#"SELECT c.id, c.request_key, c.customer_id, c.collector, c.channel, c.outcome, c.note,
                  c.next_action, c.next_action_date, c.contacted_at, c.recorded_at
           FROM collector_contacts c
           WHERE c.tenant = current_setting('app.tenant', true) AND c.customer_id = $1
             AND ($2::uuid IS NULL OR (c.contacted_at, c.id) < (
                 SELECT a.contacted_at, a.id FROM collector_contacts a
                 WHERE a.tenant = c.tenant AND a.id = $2))
           ORDER BY c.contacted_at DESC, c.id DESC
           LIMIT $3"#,
        customer_id,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// Which customers a worklist read covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Collector(String),
    Unassigned,
    All,
}

pub struct WorklistQuery<'a> {
    pub scope: &'a Scope,
    pub today: NaiveDate,
    pub currency: Option<&'a str>,
    pub segment: Option<&'a str>,
    pub min_score: Option<Decimal>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// One ranked customer, before the page's details are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedRow {
    pub customer_id: Uuid,
    pub legal_name: String,
    pub segment: String,
    pub region: String,
    pub risk_class: Option<String>,
    pub collector: Option<String>,
    /// `manual`, `rule` or `unassigned`.
    pub assignment: String,
    pub functional_currency: String,
    pub functional_overdue: Decimal,
    pub oldest_due: NaiveDate,
    pub overdue_items: i64,
    pub score: Decimal,
}

/// Sorting and hashing 100,000 customers' aggregates fits in this much
/// memory instead of spilling to disk; it holds for this transaction only.
pub async fn allow_aggregation_memory(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query!("SET LOCAL work_mem = '64MB'")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One page of the ranked worklist. Must mirror `domain::worklist`:
/// score = sum(functional open x LEAST(days past due, cap)) x weight, the
/// weights and cap passed in from there; collector = manual assignment,
/// else the first rule by (priority, specificity desc, id). An item without
/// a functional amount counts at its own amount (billing gives one for
/// every invoice of a tenant with a functional currency).
pub async fn ranked(tx: &mut Tx, query: &WorklistQuery<'_>) -> Result<Vec<RankedRow>, sqlx::Error> {
    let classes: Vec<String> = RISK_WEIGHTS
        .iter()
        .map(|(class, _)| (*class).to_owned())
        .collect();
    let weights: Vec<Decimal> = RISK_WEIGHTS.iter().map(|(_, weight)| *weight).collect();
    let (collector, unassigned) = match query.scope {
        Scope::Collector(collector) => (Some(collector.as_str()), false),
        Scope::Unassigned => (None, true),
        Scope::All => (None, false),
    };
    sqlx::query_as!(
        RankedRow,
        r#"WITH rules AS MATERIALIZED (
               SELECT id, collector, lower(segment) AS segment, lower(region) AS region, priority,
                      (CASE WHEN segment IS NULL THEN 0 ELSE 1 END
                       + CASE WHEN region IS NULL THEN 0 ELSE 1 END) AS specificity
               FROM worklist_assignment_rules
               WHERE tenant = current_setting('app.tenant', true)
           ),
           by_customer AS (
               SELECT customer_id,
                      SUM(COALESCE(functional_open, open_amount)
                          * LEAST($3::date - due_date, $4::int)) AS money_days,
                      SUM(COALESCE(functional_open, open_amount)) AS functional,
                      MIN(COALESCE(functional_currency, currency)::text) AS functional_currency,
                      COALESCE(bool_or(currency::text = $8::text), true) AS has_currency,
                      MIN(due_date) AS oldest_due,
                      COUNT(*) AS items
               FROM open_items
               WHERE tenant = current_setting('app.tenant', true) AND open_amount > 0
                 AND due_date < $3::date
               GROUP BY customer_id
           ),
           ranked AS (
               SELECT b.*, c.legal_name, c.segment, c.tax_region, l.risk_class,
                      b.money_days * COALESCE(w.weight, $5::numeric) AS score,
                      COALESCE(m.collector, r.collector) AS collector,
                      CASE WHEN m.collector IS NOT NULL THEN 'manual'
                           WHEN r.collector IS NOT NULL THEN 'rule'
                           ELSE 'unassigned' END AS assignment
               FROM by_customer b
               LEFT JOIN customers c
                 ON c.tenant = current_setting('app.tenant', true) AND c.id = b.customer_id
               LEFT JOIN credit_limits l
                 ON l.tenant = current_setting('app.tenant', true) AND l.customer_id = b.customer_id
               LEFT JOIN unnest($1::text[], $2::numeric[]) AS w(class, weight)
                 ON w.class = l.risk_class
               LEFT JOIN worklist_assignments m
                 ON m.tenant = current_setting('app.tenant', true) AND m.customer_id = b.customer_id
               LEFT JOIN LATERAL (
                   SELECT rules.collector FROM rules
                   WHERE (rules.segment IS NULL OR rules.segment = lower(c.segment))
                     AND (rules.region IS NULL OR rules.region = lower(c.tax_region))
                   ORDER BY rules.priority, rules.specificity DESC, rules.id
                   LIMIT 1
               ) r ON true
           )
           SELECT customer_id AS "customer_id!",
                  COALESCE(legal_name, '') AS "legal_name!",
                  COALESCE(segment, '') AS "segment!",
                  COALESCE(tax_region, '') AS "region!",
                  risk_class,
                  collector,
                  assignment AS "assignment!",
                  functional_currency AS "functional_currency!",
                  functional AS "functional_overdue!",
                  oldest_due AS "oldest_due!",
                  items AS "overdue_items!",
                  score AS "score!"
           FROM ranked
           WHERE ($6::text IS NULL OR collector = $6)
             AND (NOT $7::bool OR collector IS NULL)
             AND has_currency
             AND ($9::text IS NULL OR lower(segment) = lower($9))
             AND ($10::numeric IS NULL OR score >= $10)
             AND ($11::numeric IS NULL OR score < $11 OR (score = $11 AND customer_id > $12))
           ORDER BY score DESC, customer_id
           LIMIT $13"#,
        &classes,
        &weights,
        query.today,
        MAX_DAYS_COUNTED,
        NEUTRAL_WEIGHT,
        collector,
        unassigned,
        query.currency,
        query.segment,
        query.min_score,
        query.after.map(|cursor| cursor.score),
        query.after.map(|cursor| cursor.customer_id),
        query.limit,
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueAmount {
    pub customer_id: Uuid,
    pub currency: String,
    pub amount: Decimal,
}

/// What the page's customers owe overdue, per currency.
pub async fn overdue_by_currency(
    tx: &mut Tx,
    customer_ids: &[Uuid],
    today: NaiveDate,
) -> Result<Vec<OverdueAmount>, sqlx::Error> {
    sqlx::query_as!(
        OverdueAmount,
        r#"SELECT customer_id, currency::text AS "currency!", SUM(open_amount) AS "amount!"
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = ANY($1)
             AND open_amount > 0 AND due_date < $2
           GROUP BY customer_id, currency
           ORDER BY customer_id, currency"#,
        customer_ids,
        today,
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseSummary {
    pub customer_id: Uuid,
    pub open_promises: i64,
    pub broken_promises: i64,
    pub last_broken_at: Option<DateTime<Utc>>,
    pub next_amount: Option<Decimal>,
    pub next_currency: Option<String>,
    pub next_date: Option<NaiveDate>,
}

pub async fn promise_summaries(
    tx: &mut Tx,
    customer_ids: &[Uuid],
) -> Result<Vec<PromiseSummary>, sqlx::Error> {
    sqlx::query_as!(
        PromiseSummary,
        r#"SELECT s.customer_id AS "customer_id!",
                  s.open_promises AS "open_promises!",
                  s.broken_promises AS "broken_promises!",
                  s.last_broken_at,
                  n.amount AS "next_amount?",
                  n.currency::text AS "next_currency?",
                  n.promised_date AS "next_date?"
           FROM (
               SELECT customer_id,
                      COUNT(*) FILTER (WHERE state = 'open') AS open_promises,
                      COUNT(*) FILTER (WHERE state = 'broken') AS broken_promises,
                      MAX(settled_at) FILTER (WHERE state = 'broken') AS last_broken_at
               FROM promises_to_pay
               WHERE tenant = current_setting('app.tenant', true) AND customer_id = ANY($1)
               GROUP BY customer_id
           ) s
           LEFT JOIN LATERAL (
               SELECT amount, currency, promised_date FROM promises_to_pay p
               WHERE p.tenant = current_setting('app.tenant', true)
                 AND p.customer_id = s.customer_id AND p.state = 'open'
               ORDER BY p.promised_date, p.id
               LIMIT 1
           ) n ON true"#,
        customer_ids
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeSummary {
    pub customer_id: Uuid,
    pub currency: String,
    pub open_disputes: i64,
    pub amount: Decimal,
    pub first_sla_due: NaiveDate,
}

/// Open disputes (not resolved or rejected) per customer and currency.
pub async fn dispute_summaries(
    tx: &mut Tx,
    customer_ids: &[Uuid],
) -> Result<Vec<DisputeSummary>, sqlx::Error> {
    sqlx::query_as!(
        DisputeSummary,
        r#"SELECT customer_id, currency::text AS "currency!", COUNT(*) AS "open_disputes!",
                  SUM(amount) AS "amount!", MIN(sla_due_date) AS "first_sla_due!"
           FROM disputes
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = ANY($1)
             AND state IN ('open', 'under_review', 'resolution_pending')
           GROUP BY customer_id, currency
           ORDER BY customer_id, currency"#,
        customer_ids
    )
    .fetch_all(&mut **tx)
    .await
}

/// Of `customer_ids`, those with an overdue item no open dispute covers.
pub async fn with_undisputed_overdue(
    tx: &mut Tx,
    customer_ids: &[Uuid],
    today: NaiveDate,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT o.customer_id FROM open_items o
           WHERE o.tenant = current_setting('app.tenant', true) AND o.customer_id = ANY($1)
             AND o.open_amount > 0 AND o.due_date < $2
             AND NOT EXISTS (
                 SELECT 1 FROM dispute_items i
                 JOIN disputes d ON d.tenant = i.tenant AND d.id = i.dispute_id
                 WHERE i.tenant = o.tenant AND i.item_id = o.id
                   AND d.state IN ('open', 'under_review', 'resolution_pending'))"#,
        customer_ids,
        today,
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchRow {
    pub customer_id: Uuid,
    pub touched_at: DateTime<Utc>,
    pub channel: String,
    pub outcome: String,
    pub kind: String,
}

/// The latest touch of each customer: the one place "last contact" is read
/// from (the `customer_touches` view, which every kind of contact joins).
pub async fn last_touches(
    tx: &mut Tx,
    customer_ids: &[Uuid],
) -> Result<Vec<TouchRow>, sqlx::Error> {
    sqlx::query_as!(
        TouchRow,
        r#"SELECT c.id AS "customer_id!", t.touched_at AS "touched_at!",
                  t.channel AS "channel!", t.outcome AS "outcome!", t.kind AS "kind!"
           FROM unnest($1::uuid[]) AS c(id)
           CROSS JOIN LATERAL (
               SELECT touched_at, channel, outcome, kind FROM customer_touches
               WHERE tenant = current_setting('app.tenant', true) AND customer_id = c.id
               ORDER BY touched_at DESC
               LIMIT 1
           ) t"#,
        customer_ids
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub customer_id: Uuid,
    pub contacted_at: DateTime<Utc>,
    pub next_action: Option<String>,
    pub next_action_date: Option<NaiveDate>,
}

/// Each customer's latest collector contact: what it planned next.
pub async fn latest_plans(tx: &mut Tx, customer_ids: &[Uuid]) -> Result<Vec<PlanRow>, sqlx::Error> {
    sqlx::query_as!(
        PlanRow,
        r#"SELECT c.id AS "customer_id!", p.contacted_at AS "contacted_at!",
                  p.next_action AS "next_action?", p.next_action_date AS "next_action_date?"
           FROM unnest($1::uuid[]) AS c(id)
           CROSS JOIN LATERAL (
               SELECT contacted_at, next_action, next_action_date FROM collector_contacts
               WHERE tenant = current_setting('app.tenant', true) AND customer_id = c.id
               ORDER BY contacted_at DESC, id DESC
               LIMIT 1
           ) p"#,
        customer_ids
    )
    .fetch_all(&mut **tx)
    .await
}
