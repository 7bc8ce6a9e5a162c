//! Disputes, the items they cover, their append-only notes, and the claims
//! of the credit-note resolution (a lease in `next_attempt_at`).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeRow {
    pub id: Uuid,
    pub request_key: String,
    pub customer_id: Uuid,
    pub reason_code: String,
    pub description: String,
    pub currency: String,
    pub amount: Decimal,
    pub state: String,
    pub resolution: Option<String>,
    pub resolution_note: String,
    pub owner: String,
    pub sla_due_date: NaiveDate,
    pub source: String,
    pub deduction_id: Option<Uuid>,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub last_error: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeItemRow {
    pub item_id: Uuid,
    pub amount: Decimal,
    pub credit_note_id: Option<Uuid>,
    pub credit_note_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRow {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    pub attachment_uris: Vec<String>,
    pub created_at: DateTime<Utc>,
}

pub struct NewDispute<'a> {
    pub id: Uuid,
    pub request_key: &'a str,
    pub customer_id: Uuid,
    pub reason_code: &'a str,
    pub description: &'a str,
    pub currency: &'a str,
    pub amount: Decimal,
    pub owner: &'a str,
    pub sla_due_date: NaiveDate,
    pub source: &'a str,
    pub deduction_id: Option<Uuid>,
    pub opened_by: &'a str,
}

/// The states in which a dispute still contests its items.
pub const ACTIVE_STATES: [&str; 3] = ["open", "under_review", "resolution_pending"];

pub async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<DisputeRow>, sqlx::Error> {
    sqlx::query_as!(
        DisputeRow,
        r#"SELECT id, request_key, customer_id, reason_code, description, currency, amount, state,
                  resolution, resolution_note, owner, sla_due_date, source, deduction_id,
                  opened_by, opened_at, resolved_by, resolved_at, attempts, last_error, version
           FROM disputes WHERE tenant = current_setting('app.tenant', true) AND request_key = $1"#,
        key
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<DisputeRow>, sqlx::Error> {
    sqlx::query_as!(
        DisputeRow,
        r#"SELECT id, request_key, customer_id, reason_code, description, currency, amount, state,
                  resolution, resolution_note, owner, sla_due_date, source, deduction_id,
                  opened_by, opened_at, resolved_by, resolved_at, attempts, last_error, version
           FROM disputes WHERE tenant = current_setting('app.tenant', true) AND id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn lock(tx: &mut Tx, id: Uuid) -> Result<Option<DisputeRow>, sqlx::Error> {
    sqlx::query_as!(
        DisputeRow,
        r#"SELECT id, request_key, customer_id, reason_code, description, currency, amount, state,
                  resolution, resolution_note, owner, sla_due_date, source, deduction_id,
                  opened_by, opened_at, resolved_by, resolved_at, attempts, last_error, version
           FROM disputes WHERE tenant = current_setting('app.tenant', true) AND id = $1
           FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Inserts a dispute; `false` if its request key was taken meanwhile.
pub async fn insert(tx: &mut Tx, tenant: &str, new: &NewDispute<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO disputes
               (tenant, id, request_key, customer_id, reason_code, description, currency, amount,
                state, owner, sla_due_date, source, deduction_id, opened_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12, $13)
           ON CONFLICT (tenant, request_key) DO NOTHING
           RETURNING id"#,
        tenant,
        new.id,
        new.request_key,
        new.customer_id,
        new.reason_code,
        new.description,
        new.currency,
        new.amount,
        new.owner,
        new.sla_due_date,
        new.source,
        new.deduction_id,
        new.opened_by,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

pub async fn insert_item(
    tx: &mut Tx,
    tenant: &str,
    dispute_id: Uuid,
    item_id: Uuid,
    amount: Decimal,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO dispute_items (tenant, dispute_id, item_id, amount) VALUES ($1, $2, $3, $4)"#,
        tenant,
        dispute_id,
        item_id,
        amount,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn items(tx: &mut Tx, dispute_id: Uuid) -> Result<Vec<DisputeItemRow>, sqlx::Error> {
    sqlx::query_as!(
        DisputeItemRow,
        r#"SELECT item_id, amount, credit_note_id, credit_note_number FROM dispute_items
           WHERE tenant = current_setting('app.tenant', true) AND dispute_id = $1
           ORDER BY item_id"#,
        dispute_id
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn insert_note(
    tx: &mut Tx,
    tenant: &str,
    dispute_id: Uuid,
    author: &str,
    body: &str,
    attachment_uris: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO dispute_notes (tenant, id, dispute_id, author, body, attachment_uris)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        tenant,
        Uuid::now_v7(),
        dispute_id,
        author,
        body,
        attachment_uris,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn notes(tx: &mut Tx, dispute_id: Uuid) -> Result<Vec<NoteRow>, sqlx::Error> {
    sqlx::query_as!(
        NoteRow,
        r#"SELECT id, author, body, attachment_uris, created_at FROM dispute_notes
           WHERE tenant = current_setting('app.tenant', true) AND dispute_id = $1
           ORDER BY id"#,
        dispute_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// What active disputes already contest on an item.
pub async fn disputed_on(tx: &mut Tx, item_id: Uuid) -> Result<Decimal, sqlx::Error> {
    let amount = sqlx::query_scalar!(
        r#"SELECT COALESCE(SUM(i.amount), 0) AS "amount!" FROM dispute_items i
           JOIN disputes d ON d.tenant = i.tenant AND d.id = i.dispute_id
           WHERE i.tenant = current_setting('app.tenant', true) AND i.item_id = $1
             AND d.state = ANY($2)"#,
        item_id,
        &ACTIVE_STATES.map(str::to_owned)[..],
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(amount)
}

/// What active disputes contest on each of `item_ids` that has any.
pub async fn disputed_amounts(
    tx: &mut Tx,
    item_ids: &[Uuid],
) -> Result<Vec<(Uuid, Decimal)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT i.item_id, SUM(i.amount) AS "amount!" FROM dispute_items i
           JOIN disputes d ON d.tenant = i.tenant AND d.id = i.dispute_id
           WHERE i.tenant = current_setting('app.tenant', true) AND i.item_id = ANY($1)
             AND d.state = ANY($2)
           GROUP BY i.item_id"#,
        item_ids,
        &ACTIVE_STATES.map(str::to_owned)[..],
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.item_id, row.amount))
        .collect())
}

/// Sets the state (and what comes with it) of a locked dispute; bumps its version.
pub struct StateChange<'a> {
    pub state: &'a str,
    pub resolution: Option<&'a str>,
    pub resolution_note: &'a str,
    pub owner: &'a str,
    pub resolved_by: Option<&'a str>,
    pub resolved: bool,
    /// Claimable by the resolver from now on.
    pub due_now: bool,
}

pub async fn change_state(
    tx: &mut Tx,
    id: Uuid,
    change: &StateChange<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE disputes SET state = $2, resolution = $3, resolution_note = $4, owner = $5,
               resolved_by = $6, resolved_at = CASE WHEN $7 THEN now() ELSE resolved_at END,
               next_attempt_at = CASE WHEN $8 THEN now() ELSE NULL END,
               version = version + 1
           WHERE tenant = current_setting('app.tenant', true) AND id = $1
           RETURNING version"#,
        id,
        change.state,
        change.resolution,
        change.resolution_note,
        change.owner,
        change.resolved_by,
        change.resolved,
        change.due_now,
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn touch(tx: &mut Tx, id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE disputes SET version = version + 1
           WHERE tenant = current_setting('app.tenant', true) AND id = $1 RETURNING version"#,
        id
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn set_credit_note(
    tx: &mut Tx,
    dispute_id: Uuid,
    item_id: Uuid,
    credit_note_id: Uuid,
    number: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE dispute_items SET credit_note_id = $3, credit_note_number = $4
           WHERE tenant = current_setting('app.tenant', true) AND dispute_id = $1
             AND item_id = $2 AND credit_note_id IS NULL"#,
        dispute_id,
        item_id,
        credit_note_id,
        number,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A failed attempt: tried again after `delay_millis`.
pub async fn postpone(
    tx: &mut Tx,
    id: Uuid,
    delay_millis: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE disputes SET attempts = attempts + 1, last_error = $3,
               next_attempt_at = now() + make_interval(secs => $2::bigint / 1000.0)
           WHERE tenant = current_setting('app.tenant', true) AND id = $1
             AND state = 'resolution_pending'"#,
        id,
        delay_millis,
        error,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A dispute whose credit notes are due to be asked for.
#[derive(Debug, Clone)]
pub struct DueResolution {
    pub tenant: String,
    pub id: Uuid,
    pub attempts: i32,
}

/// Claims due resolutions across tenants (or just `only`) for `lease_millis`.
pub async fn claim_due(
    tx: &mut Tx,
    only: Option<Uuid>,
    limit: i64,
    lease_millis: i64,
) -> Result<Vec<DueResolution>, sqlx::Error> {
    sqlx::query_as!(
        DueResolution,
        r#"UPDATE disputes SET next_attempt_at = now() + make_interval(secs => $3::bigint / 1000.0)
           WHERE (tenant, id) IN (
               SELECT tenant, id FROM disputes
               WHERE state = 'resolution_pending' AND next_attempt_at <= now()
                 AND ($1::uuid IS NULL OR id = $1)
               ORDER BY next_attempt_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED)
           RETURNING tenant, id, attempts"#,
        only,
        limit,
        lease_millis,
    )
    .fetch_all(&mut **tx)
    .await
}

#[derive(Debug, Clone, Default)]
pub struct DisputeFilter {
    pub customer_id: Option<Uuid>,
    pub item_id: Option<Uuid>,
    pub state: Option<String>,
}

pub async fn page(
    tx: &mut Tx,
    filter: &DisputeFilter,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<DisputeRow>, sqlx::Error> {
    sqlx::query_as!(
        DisputeRow,
        r#"SELECT id, request_key, customer_id, reason_code, description, currency, amount, state,
                  resolution, resolution_note, owner, sla_due_date, source, deduction_id,
                  opened_by, opened_at, resolved_by, resolved_at, attempts, last_error, version
           FROM disputes d
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
             AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM dispute_items i
                  WHERE i.tenant = d.tenant AND i.dispute_id = d.id AND i.item_id = $2))
             AND ($3::text IS NULL OR state = $3)
             AND ($4::uuid IS NULL OR id > $4)
           ORDER BY id
           LIMIT $5"#,
        filter.customer_id,
        filter.item_id,
        filter.state,
        after,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}
