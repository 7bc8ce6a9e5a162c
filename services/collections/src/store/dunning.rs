//! Dunning tables: strategies and their levels, contacts, runs (with their
//! lease and checkpoint), and notices with their items and delivery state.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;
use crate::domain::dunning::{Candidate, Channel, Fee, Level, Strategy};

// ---------------------------------------------------------------- strategies

struct LevelRow {
    strategy_id: Uuid,
    level: i32,
    days_after_due: i32,
    channel: String,
    subject_template: String,
    body_template: String,
    fee_amount: Option<Decimal>,
    fee_currency: Option<String>,
    interest_rate: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyRecord {
    pub strategy: Strategy,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

fn level_of(row: LevelRow) -> Result<Level, sqlx::Error> {
    let channel = Channel::parse(&row.channel).ok_or_else(|| {
        sqlx::Error::Decode(format!("dunning level channel `{}`", row.channel).into())
    })?;
    Ok(Level {
        level: row.level,
        days_after_due: row.days_after_due,
        channel,
        subject_template: row.subject_template,
        body_template: row.body_template,
        fee: row
            .fee_amount
            .zip(row.fee_currency)
            .map(|(amount, currency)| Fee { amount, currency }),
        interest_rate: row.interest_rate,
    })
}

async fn levels_of(
    tx: &mut Tx,
    strategy_ids: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<Level>>, sqlx::Error> {
    let rows = sqlx::query_as!(
        LevelRow,
        r#"SELECT strategy_id, level, days_after_due, channel, subject_template, body_template,
                  fee_amount, fee_currency::text AS fee_currency, interest_rate
           FROM dunning_levels
           WHERE tenant = current_setting('app.tenant', true) AND strategy_id = ANY($1)
           ORDER BY strategy_id, level"#,
        strategy_ids
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut levels: BTreeMap<Uuid, Vec<Level>> = BTreeMap::new();
    for row in rows {
        levels
            .entry(row.strategy_id)
            .or_default()
            .push(level_of(row)?);
    }
    Ok(levels)
}

/// Every strategy of the tenant with its levels, by id.
pub async fn strategies(tx: &mut Tx) -> Result<Vec<StrategyRecord>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, segment, name, version, updated_by, updated_at FROM dunning_strategies
           WHERE tenant = current_setting('app.tenant', true) ORDER BY segment"#
    )
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut levels = levels_of(tx, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| StrategyRecord {
            strategy: Strategy {
                id: row.id,
                levels: levels.remove(&row.id).unwrap_or_default(),
                segment: row.segment,
                name: row.name,
                version: row.version,
            },
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        })
        .collect())
}

pub async fn strategy_for_segment(
    tx: &mut Tx,
    segment: &str,
) -> Result<Option<StrategyRecord>, sqlx::Error> {
    Ok(strategies(tx)
        .await?
        .into_iter()
        .find(|record| record.strategy.segment == segment))
}

/// Creates the segment's strategy or replaces its name and levels (the
/// version goes up); the row stays locked until the transaction ends.
pub async fn put_strategy(
    tx: &mut Tx,
    tenant: &str,
    segment: &str,
    name: &str,
    levels: &[Level],
    updated_by: &str,
) -> Result<(), sqlx::Error> {
    let strategy_id = sqlx::query_scalar!(
        r#"INSERT INTO dunning_strategies (tenant, id, segment, name, updated_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant, segment) DO UPDATE SET
               name = EXCLUDED.name,
               version = dunning_strategies.version + 1,
               updated_by = EXCLUDED.updated_by,
               updated_at = now()
           RETURNING id"#,
        tenant,
        Uuid::now_v7(),
        segment,
        name,
        updated_by,
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        "DELETE FROM dunning_levels WHERE tenant = $1 AND strategy_id = $2",
        tenant,
        strategy_id
    )
    .execute(&mut **tx)
    .await?;
    let numbers: Vec<i32> = levels.iter().map(|level| level.level).collect();
    let days: Vec<i32> = levels.iter().map(|level| level.days_after_due).collect();
    let channels: Vec<String> = levels
        .iter()
        .map(|level| level.channel.as_str().to_owned())
        .collect();
    let subjects: Vec<String> = levels
        .iter()
        .map(|level| level.subject_template.clone())
        .collect();
    let bodies: Vec<String> = levels
        .iter()
        .map(|level| level.body_template.clone())
        .collect();
    let fee_amounts: Vec<Option<Decimal>> = levels
        .iter()
        .map(|level| level.fee.as_ref().map(|fee| fee.amount))
        .collect();
    let fee_currencies: Vec<Option<String>> = levels
        .iter()
        .map(|level| level.fee.as_ref().map(|fee| fee.currency.clone()))
        .collect();
    let rates: Vec<Option<Decimal>> = levels.iter().map(|level| level.interest_rate).collect();
    #[allow(clippy::as_conversions)]
    sqlx::query!(
        r#"INSERT INTO dunning_levels (tenant, strategy_id, level, days_after_due, channel,
               subject_template, body_template, fee_amount, fee_currency, interest_rate)
           SELECT $1, $2, * FROM UNNEST($3::int4[], $4::int4[], $5::text[], $6::text[],
               $7::text[], $8::numeric[], $9::text[], $10::numeric[])"#,
        tenant,
        strategy_id,
        &numbers,
        &days,
        &channels,
        &subjects,
        &bodies,
        &fee_amounts as &[Option<Decimal>],
        &fee_currencies as &[Option<String>],
        &rates as &[Option<Decimal>],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete_strategy(tx: &mut Tx, segment: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        r#"DELETE FROM dunning_strategies
           WHERE tenant = current_setting('app.tenant', true) AND segment = $1"#,
        segment
    )
    .execute(&mut **tx)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

// ------------------------------------------------------------------ contacts

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContactRow {
    pub customer_id: Uuid,
    pub contact_name: String,
    pub email: String,
    pub webhook_url: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn contact(tx: &mut Tx, customer_id: Uuid) -> Result<Option<ContactRow>, sqlx::Error> {
    sqlx::query_as!(
        ContactRow,
        r#"SELECT customer_id, contact_name, email, webhook_url, updated_by, updated_at
           FROM dunning_contacts
           WHERE tenant = current_setting('app.tenant', true) AND customer_id = $1"#,
        customer_id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn put_contact(
    tx: &mut Tx,
    tenant: &str,
    customer_id: Uuid,
    contact_name: &str,
    email: &str,
    webhook_url: &str,
    updated_by: &str,
) -> Result<ContactRow, sqlx::Error> {
    sqlx::query_as!(
        ContactRow,
        r#"INSERT INTO dunning_contacts (tenant, customer_id, contact_name, email, webhook_url,
               updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant, customer_id) DO UPDATE SET
               contact_name = EXCLUDED.contact_name,
               email = EXCLUDED.email,
               webhook_url = EXCLUDED.webhook_url,
               updated_by = EXCLUDED.updated_by,
               updated_at = now()
           RETURNING customer_id, contact_name, email, webhook_url, updated_by, updated_at"#,
        tenant,
        customer_id,
        contact_name,
        email,
        webhook_url,
        updated_by,
    )
    .fetch_one(&mut **tx)
    .await
}

// ---------------------------------------------------------------------- runs

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: Uuid,
    pub as_of: NaiveDate,
    pub trigger: String,
    pub requested_by: String,
    pub state: String,
    pub after_customer: Option<Uuid>,
    pub items_considered: i64,
    pub items_skipped_disputed: i64,
    pub items_skipped_promised: i64,
    pub items_dunned: i64,
    pub notices_created: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A new run; None when it is the scheduler's and today's already exists.
pub async fn insert_run(
    tx: &mut Tx,
    tenant: &str,
    as_of: NaiveDate,
    trigger: &str,
    requested_by: &str,
) -> Result<Option<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        r#"INSERT INTO dunning_runs (tenant, id, as_of, trigger, requested_by, state)
           VALUES ($1, $2, $3, $4, $5, 'running')
           ON CONFLICT (tenant, as_of) WHERE trigger = 'schedule' DO NOTHING
           RETURNING id, as_of, trigger, requested_by, state, after_customer, items_considered,
                     items_skipped_disputed, items_skipped_promised, items_dunned,
                     notices_created, started_at, finished_at"#,
        tenant,
        Uuid::now_v7(),
        as_of,
        trigger,
        requested_by,
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn run(tx: &mut Tx, id: Uuid) -> Result<Option<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        r#"SELECT id, as_of, trigger, requested_by, state, after_customer, items_considered,
                  items_skipped_disputed, items_skipped_promised, items_dunned, notices_created,
                  started_at, finished_at
           FROM dunning_runs WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn runs(
    tx: &mut Tx,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        r#"SELECT id, as_of, trigger, requested_by, state, after_customer, items_considered,
                  items_skipped_disputed, items_skipped_promised, items_dunned, notices_created,
                  started_at, finished_at
           FROM dunning_runs
           WHERE tenant = current_setting('app.tenant', true) AND ($1::uuid IS NULL OR id < $1)
           ORDER BY id DESC LIMIT $2"#,
        after,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// Takes the run's lease if it is still running and nobody else holds a
/// live lease on it; the run's row, locked until the transaction ends.
pub async fn claim_run(
    tx: &mut Tx,
    id: Uuid,
    owner: &str,
    lease_seconds: i64,
) -> Result<Option<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        r#"UPDATE dunning_runs SET lease_owner = $2,
               lease_until = now() + make_interval(secs => $3::bigint::double precision)
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND state = 'running'
             AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2)
           RETURNING id, as_of, trigger, requested_by, state, after_customer, items_considered,
                     items_skipped_disputed, items_skipped_promised, items_dunned,
                     notices_created, started_at, finished_at"#,
        id,
        owner,
        lease_seconds,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Runs left running whose lease has run out (a crashed or stopped
/// process), of every tenant: (tenant, run id).
pub async fn abandoned_runs(tx: &mut Tx) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tenant, id FROM dunning_runs
           WHERE state = 'running' AND (lease_until IS NULL OR lease_until < now())
           ORDER BY started_at"#
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|row| (row.tenant, row.id)).collect())
}

/// Tenants with anything a run could dun (an open item and a strategy).
pub async fn tenants_to_dun(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT s.tenant AS "tenant!" FROM (SELECT DISTINCT tenant FROM dunning_strategies) s
           WHERE EXISTS (SELECT 1 FROM open_items i WHERE i.tenant = s.tenant AND i.open_amount > 0)
           ORDER BY 1"#
    )
    .fetch_all(&mut **tx)
    .await
}

pub struct Progress {
    pub after_customer: Uuid,
    pub considered: i64,
    pub skipped_disputed: i64,
    pub skipped_promised: i64,
    pub dunned: i64,
    pub notices: i64,
}

/// Moves the checkpoint past a committed batch and renews the lease, only
/// while `owner` still holds it. Whether it did.
pub async fn advance_run(
    tx: &mut Tx,
    id: Uuid,
    owner: &str,
    lease_seconds: i64,
    progress: &Progress,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        r#"UPDATE dunning_runs SET after_customer = $3,
               items_considered = items_considered + $4,
               items_skipped_disputed = items_skipped_disputed + $5,
               items_skipped_promised = items_skipped_promised + $6,
               items_dunned = items_dunned + $7,
               notices_created = notices_created + $8,
               lease_until = now() + make_interval(secs => $9::bigint::double precision)
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND lease_owner = $2
             AND state = 'running'"#,
        id,
        owner,
        progress.after_customer,
        progress.considered,
        progress.skipped_disputed,
        progress.skipped_promised,
        progress.dunned,
        progress.notices,
        lease_seconds,
    )
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn complete_run(
    tx: &mut Tx,
    id: Uuid,
    owner: &str,
) -> Result<Option<RunRow>, sqlx::Error> {
    sqlx::query_as!(
        RunRow,
        r#"UPDATE dunning_runs SET state = 'completed', finished_at = now(), lease_owner = NULL,
               lease_until = NULL
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND lease_owner = $2
             AND state = 'running'
           RETURNING id, as_of, trigger, requested_by, state, after_customer, items_considered,
                     items_skipped_disputed, items_skipped_promised, items_dunned,
                     notices_created, started_at, finished_at"#,
        id,
        owner,
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Serialises the batches of concurrent runs of one tenant, so two runs
/// never dun the same item at the same level (the second sees the first's
/// committed notices).
pub async fn lock_tenant_dunning(tx: &mut Tx, tenant: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('otc.dunning:' || $1::text, 0))",
        tenant
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The next `limit` customers with an open item, after `after`.
pub async fn next_customers(
    tx: &mut Tx,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT customer_id AS "customer_id!" FROM open_items
           WHERE tenant = current_setting('app.tenant', true) AND open_amount > 0
             AND ($1::uuid IS NULL OR customer_id > $1)
           ORDER BY 1 LIMIT $2"#,
        after,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

pub struct CandidateRow {
    pub candidate: Candidate,
    pub customer_name: String,
}

/// Open items of the customers from `first` to `last` with what a run
/// decides on: their strategy (the customer's segment's, else the
/// default, from `strategy_by_segment`), the last level sent, disputed,
/// promised. Five index-driven statements rather than one join: with the
/// tenant in a setting the planner cannot size the batch and would scan
/// every customer, dispute and promise for each batch.
pub async fn candidates(
    tx: &mut Tx,
    first: Uuid,
    last: Uuid,
    strategy_by_segment: &BTreeMap<String, Uuid>,
) -> Result<Vec<CandidateRow>, sqlx::Error> {
    let items = sqlx::query!(
        r#"SELECT id, customer_id, number, currency::text AS "currency!", open_amount, due_date
           FROM open_items
           WHERE tenant = current_setting('app.tenant', true) AND open_amount > 0
             AND customer_id BETWEEN $1 AND $2
           ORDER BY customer_id, id"#,
        first,
        last
    )
    .fetch_all(&mut **tx)
    .await?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let customers: BTreeMap<Uuid, (String, String)> = sqlx::query!(
        r#"SELECT id, legal_name, segment FROM customers
           WHERE tenant = current_setting('app.tenant', true) AND id BETWEEN $1 AND $2"#,
        first,
        last
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| (row.id, (row.legal_name, row.segment)))
    .collect();
    let item_ids: Vec<Uuid> = items.iter().map(|item| item.id).collect();
    let last_levels: BTreeMap<Uuid, i32> = sqlx::query!(
        r#"SELECT item_id, max(level) AS "level!" FROM dunning_notice_items
           WHERE tenant = current_setting('app.tenant', true) AND item_id = ANY($1)
           GROUP BY item_id"#,
        &item_ids
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| (row.item_id, row.level))
    .collect();
    let disputed: std::collections::BTreeSet<Uuid> = sqlx::query_scalar!(
        r#"SELECT DISTINCT di.item_id FROM dispute_items di
           JOIN disputes d ON d.tenant = di.tenant AND d.id = di.dispute_id
           WHERE di.tenant = current_setting('app.tenant', true) AND di.item_id = ANY($1)
             AND d.state IN ('open', 'under_review', 'resolution_pending')"#,
        &item_ids
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let promised: std::collections::BTreeSet<Uuid> = sqlx::query_scalar!(
        r#"SELECT DISTINCT pi.item_id FROM promise_items pi
           JOIN promises_to_pay p ON p.tenant = pi.tenant AND p.id = pi.promise_id
           WHERE pi.tenant = current_setting('app.tenant', true) AND pi.item_id = ANY($1)
             AND p.state = 'open'"#,
        &item_ids
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let default_strategy = strategy_by_segment.get("").copied();
    Ok(items
        .into_iter()
        .map(|item| {
            let (name, segment) = customers
                .get(&item.customer_id)
                .map_or(("", ""), |(name, segment)| {
                    (name.as_str(), segment.as_str())
                });
            CandidateRow {
                customer_name: name.to_owned(),
                candidate: Candidate {
                    strategy_id: strategy_by_segment
                        .get(segment)
                        .copied()
                        .or(default_strategy),
                    last_level: last_levels.get(&item.id).copied().unwrap_or(0),
                    disputed: disputed.contains(&item.id),
                    promised: promised.contains(&item.id),
                    item_id: item.id,
                    customer_id: item.customer_id,
                    number: item.number,
                    currency: item.currency,
                    open_amount: item.open_amount,
                    due_date: item.due_date,
                },
            }
        })
        .collect())
}

// ------------------------------------------------------------------- notices

/// A notice as a run writes it.
pub struct NewNotice {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub strategy_id: Uuid,
    pub level: i32,
    pub channel: Channel,
    pub currency: String,
    pub overdue_amount: Decimal,
    pub fee_amount: Decimal,
    pub interest_amount: Decimal,
    pub total_due: Decimal,
    pub subject: String,
    pub body: String,
    pub recipient: String,
    /// `pending`, or `failed` when it cannot go anywhere (no address).
    pub status: &'static str,
    pub last_error: String,
    pub items: Vec<NewNoticeItem>,
}

pub struct NewNoticeItem {
    pub item_id: Uuid,
    pub number: String,
    pub due_date: NaiveDate,
    pub days_overdue: i32,
    pub open_amount: Decimal,
    pub interest_amount: Decimal,
}

/// Writes the notices and their items, two statements for the lot.
pub async fn insert_notices(
    tx: &mut Tx,
    tenant: &str,
    run_id: Uuid,
    as_of: NaiveDate,
    notices: &[NewNotice],
) -> Result<(), sqlx::Error> {
    if notices.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = notices.iter().map(|notice| notice.id).collect();
    let customers: Vec<Uuid> = notices.iter().map(|notice| notice.customer_id).collect();
    let strategies: Vec<Uuid> = notices.iter().map(|notice| notice.strategy_id).collect();
    let levels: Vec<i32> = notices.iter().map(|notice| notice.level).collect();
    let channels: Vec<String> = notices
        .iter()
        .map(|notice| notice.channel.as_str().to_owned())
        .collect();
    let currencies: Vec<String> = notices
        .iter()
        .map(|notice| notice.currency.clone())
        .collect();
    let overdue: Vec<Decimal> = notices.iter().map(|notice| notice.overdue_amount).collect();
    let fees: Vec<Decimal> = notices.iter().map(|notice| notice.fee_amount).collect();
    let interest: Vec<Decimal> = notices
        .iter()
        .map(|notice| notice.interest_amount)
        .collect();
    let totals: Vec<Decimal> = notices.iter().map(|notice| notice.total_due).collect();
    let subjects: Vec<String> = notices
        .iter()
        .map(|notice| notice.subject.clone())
        .collect();
    let bodies: Vec<String> = notices.iter().map(|notice| notice.body.clone()).collect();
    let recipients: Vec<String> = notices
        .iter()
        .map(|notice| notice.recipient.clone())
        .collect();
    let statuses: Vec<String> = notices
        .iter()
        .map(|notice| notice.status.to_owned())
        .collect();
    let errors: Vec<String> = notices
        .iter()
        .map(|notice| notice.last_error.clone())
        .collect();
    sqlx::query!(
        r#"INSERT INTO dunning_notices (tenant, run_id, as_of, id, customer_id, strategy_id, level,
               channel, currency, overdue_amount, fee_amount, interest_amount, total_due, subject,
               body, recipient, status, last_error, next_attempt_at)
           SELECT $1, $2, $3, n.*, CASE WHEN n.status = 'pending' THEN now() END
           FROM UNNEST($4::uuid[], $5::uuid[], $6::uuid[], $7::int4[], $8::text[], $9::text[],
               $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::text[],
               $15::text[], $16::text[], $17::text[], $18::text[])
               AS n(id, customer_id, strategy_id, level, channel, currency, overdue_amount,
                    fee_amount, interest_amount, total_due, subject, body, recipient, status,
                    last_error)"#,
        tenant,
        run_id,
        as_of,
        &ids,
        &customers,
        &strategies,
        &levels,
        &channels,
        &currencies,
        &overdue,
        &fees,
        &interest,
        &totals,
        &subjects,
        &bodies,
        &recipients,
        &statuses,
        &errors,
    )
    .execute(&mut **tx)
    .await?;
    let count = notices.iter().map(|notice| notice.items.len()).sum();
    let mut notice_ids = Vec::with_capacity(count);
    let mut item_ids = Vec::with_capacity(count);
    let mut item_levels = Vec::with_capacity(count);
    let mut numbers = Vec::with_capacity(count);
    let mut due_dates = Vec::with_capacity(count);
    let mut days = Vec::with_capacity(count);
    let mut open = Vec::with_capacity(count);
    let mut item_interest = Vec::with_capacity(count);
    for notice in notices {
        for item in &notice.items {
            notice_ids.push(notice.id);
            item_ids.push(item.item_id);
            item_levels.push(notice.level);
            numbers.push(item.number.clone());
            due_dates.push(item.due_date);
            days.push(item.days_overdue);
            open.push(item.open_amount);
            item_interest.push(item.interest_amount);
        }
    }
    sqlx::query!(
        r#"INSERT INTO dunning_notice_items (tenant, notice_id, item_id, level, number, due_date,
               days_overdue, open_amount, interest_amount)
           SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::int4[], $5::text[], $6::date[],
               $7::int4[], $8::numeric[], $9::numeric[])"#,
        tenant,
        &notice_ids,
        &item_ids,
        &item_levels,
        &numbers,
        &due_dates,
        &days,
        &open,
        &item_interest,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where each customer's notices go: contact, name and billing address.
pub struct Destination {
    pub customer_id: Uuid,
    pub email: String,
    pub contact_name: String,
    pub webhook_url: String,
    pub billing_address: Option<serde_json::Value>,
}

pub async fn destinations(
    tx: &mut Tx,
    customer_ids: &[Uuid],
) -> Result<Vec<Destination>, sqlx::Error> {
    sqlx::query_as!(
        Destination,
        r#"SELECT ids.id AS "customer_id!", COALESCE(k.email, '') AS "email!",
                  COALESCE(k.contact_name, '') AS "contact_name!",
                  COALESCE(k.webhook_url, '') AS "webhook_url!", c.billing_address
           FROM UNNEST($1::uuid[]) AS ids(id)
           LEFT JOIN dunning_contacts k ON k.tenant = current_setting('app.tenant', true)
                AND k.customer_id = ids.id
           LEFT JOIN customers c ON c.tenant = current_setting('app.tenant', true)
                AND c.id = ids.id"#,
        customer_ids
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub id: Uuid,
    pub run_id: Uuid,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub strategy_id: Uuid,
    pub level: i32,
    pub channel: String,
    pub as_of: NaiveDate,
    pub currency: String,
    pub overdue_amount: Decimal,
    pub fee_amount: Decimal,
    pub interest_amount: Decimal,
    pub total_due: Decimal,
    pub subject: String,
    pub body: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: String,
    pub delivery_response: String,
    pub has_letter: bool,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeItemRow {
    pub item_id: Uuid,
    pub number: String,
    pub due_date: NaiveDate,
    pub days_overdue: i32,
    pub open_amount: Decimal,
    pub interest_amount: Decimal,
}

#[derive(Debug, Default)]
pub struct NoticeFilter {
    pub customer_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub status: Option<String>,
}

pub async fn notices(
    tx: &mut Tx,
    filter: &NoticeFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<NoticeRow>, sqlx::Error> {
    sqlx::query_as!(
        NoticeRow,
        r#"SELECT n.id, n.run_id, n.customer_id, COALESCE(c.legal_name, '') AS "customer_name!",
                  n.strategy_id, n.level, n.channel, n.as_of, n.currency::text AS "currency!",
                  n.overdue_amount, n.fee_amount, n.interest_amount, n.total_due, n.subject,
                  n.body, n.recipient, n.status, n.attempts, n.last_error, n.delivery_response,
                  n.letter_pdf IS NOT NULL AS "has_letter!", n.created_at, n.sent_at
           FROM dunning_notices n
           LEFT JOIN customers c ON c.tenant = n.tenant AND c.id = n.customer_id
           WHERE n.tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR n.customer_id = $1)
             AND ($2::uuid IS NULL OR n.run_id = $2)
             AND ($3::text IS NULL OR n.status = $3)
             AND ($4::uuid IS NULL OR n.id > $4)
           ORDER BY n.id LIMIT $5"#,
        filter.customer_id,
        filter.run_id,
        filter.status,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn notice(tx: &mut Tx, id: Uuid) -> Result<Option<NoticeRow>, sqlx::Error> {
    sqlx::query_as!(
        NoticeRow,
        r#"SELECT n.id, n.run_id, n.customer_id, COALESCE(c.legal_name, '') AS "customer_name!",
                  n.strategy_id, n.level, n.channel, n.as_of, n.currency::text AS "currency!",
                  n.overdue_amount, n.fee_amount, n.interest_amount, n.total_due, n.subject,
                  n.body, n.recipient, n.status, n.attempts, n.last_error, n.delivery_response,
                  n.letter_pdf IS NOT NULL AS "has_letter!", n.created_at, n.sent_at
           FROM dunning_notices n
           LEFT JOIN customers c ON c.tenant = n.tenant AND c.id = n.customer_id
           WHERE n.tenant = current_setting('app.tenant', true) AND n.id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn notice_items(tx: &mut Tx, notice_id: Uuid) -> Result<Vec<NoticeItemRow>, sqlx::Error> {
    sqlx::query_as!(
        NoticeItemRow,
        r#"SELECT item_id, number, due_date, days_overdue, open_amount, interest_amount
           FROM dunning_notice_items
           WHERE tenant = current_setting('app.tenant', true) AND notice_id = $1
           ORDER BY due_date, number"#,
        notice_id
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn letter(tx: &mut Tx, notice_id: Uuid) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let pdf = sqlx::query_scalar!(
        r#"SELECT letter_pdf FROM dunning_notices
           WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        notice_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(pdf.flatten())
}

// ------------------------------------------------------------------ delivery

/// A pending notice whose attempt is due, claimed for `lease_seconds`.
pub struct ClaimedNotice {
    pub tenant: String,
    pub id: Uuid,
    pub attempts: i32,
}

/// Claims up to `limit` due notices of every tenant (the lease moves their
/// next attempt forward, so a crashed sender's notice comes back later).
pub async fn claim_due(
    tx: &mut Tx,
    limit: i64,
    lease_seconds: i64,
) -> Result<Vec<ClaimedNotice>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedNotice,
        r#"UPDATE dunning_notices n SET
               next_attempt_at = now() + make_interval(secs => $2::bigint::double precision),
               attempts = n.attempts + 1
           FROM (SELECT tenant, id FROM dunning_notices
                 WHERE status = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
           WHERE n.tenant = due.tenant AND n.id = due.id
           RETURNING n.tenant, n.id, n.attempts"#,
        limit,
        lease_seconds,
    )
    .fetch_all(&mut **tx)
    .await
}

/// Marks a pending notice sent: its sent time, or None when it was not
/// pending any more.
pub async fn mark_sent(
    tx: &mut Tx,
    id: Uuid,
    response: &str,
    letter_pdf: Option<&[u8]>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE dunning_notices SET status = 'sent', sent_at = now(), delivery_response = $2,
               letter_pdf = COALESCE($3, letter_pdf), next_attempt_at = NULL, last_error = ''
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND status = 'pending'
           RETURNING sent_at AS "sent_at!""#,
        id,
        response,
        letter_pdf,
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn mark_retry(
    tx: &mut Tx,
    id: Uuid,
    error: &str,
    delay_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE dunning_notices SET last_error = $2,
               next_attempt_at = now() + make_interval(secs => $3::bigint::double precision / 1000)
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND status = 'pending'"#,
        id,
        error,
        delay_ms,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn mark_failed(tx: &mut Tx, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE dunning_notices SET status = 'failed', last_error = $2, next_attempt_at = NULL
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND status = 'pending'"#,
        id,
        error,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Items of a notice with the notice's ids, for the event.
pub async fn notice_item_ids(tx: &mut Tx, notice_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT item_id FROM dunning_notice_items
           WHERE tenant = current_setting('app.tenant', true) AND notice_id = $1
           ORDER BY due_date, number"#,
        notice_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// A failed notice back to pending, to `recipient`, due now.
pub async fn requeue(tx: &mut Tx, id: Uuid, recipient: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE dunning_notices SET status = 'pending', recipient = $2, attempts = 0,
               next_attempt_at = now(), last_error = ''
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 AND status = 'failed'"#,
        id,
        recipient,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
