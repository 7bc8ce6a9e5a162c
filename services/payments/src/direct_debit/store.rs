//! sqlx queries over the direct-debit tables.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::store::Tx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditorRow {
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub creditor_id: String,
}

pub async fn creditor(tx: &mut Tx) -> Result<Option<CreditorRow>, sqlx::Error> {
    sqlx::query_as!(
        CreditorRow,
        r#"SELECT name, iban, bic, creditor_id FROM creditors
           WHERE tenant = current_setting('app.tenant', true)"#
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn set_creditor(
    tx: &mut Tx,
    tenant: &str,
    creditor: &CreditorRow,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO creditors (tenant, name, iban, bic, creditor_id, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant) DO UPDATE SET
               name = EXCLUDED.name, iban = EXCLUDED.iban, bic = EXCLUDED.bic,
               creditor_id = EXCLUDED.creditor_id, updated_by = EXCLUDED.updated_by,
               updated_at = now()"#,
        tenant,
        creditor.name,
        creditor.iban,
        creditor.bic,
        creditor.creditor_id,
        actor
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Tenants that have a creditor set (the scheduler's work list).
pub async fn creditor_tenants(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT tenant FROM creditors ORDER BY tenant")
        .fetch_all(&mut **tx)
        .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub reference: String,
    pub debtor_name: String,
    pub iban: String,
    pub bic: Option<String>,
    pub signed_on: NaiveDate,
    pub sequence_type: String,
    pub status: String,
}

pub async fn insert_mandate(
    tx: &mut Tx,
    tenant: &str,
    mandate: &MandateRow,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO mandates
               (tenant, id, customer_id, reference, debtor_name, iban, bic, signed_on,
                sequence_type, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT DO NOTHING
           RETURNING id"#,
        tenant,
        mandate.id,
        mandate.customer_id,
        mandate.reference,
        mandate.debtor_name,
        mandate.iban,
        mandate.bic,
        mandate.signed_on,
        mandate.sequence_type,
        actor
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}

pub async fn mandate(tx: &mut Tx, id: Uuid) -> Result<Option<MandateRow>, sqlx::Error> {
    sqlx::query_as!(
        MandateRow,
        r#"SELECT id, customer_id, reference, debtor_name, iban, bic, signed_on, sequence_type, status
           FROM mandates WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn mandate_by_reference(
    tx: &mut Tx,
    reference: &str,
) -> Result<Option<MandateRow>, sqlx::Error> {
    sqlx::query_as!(
        MandateRow,
        r#"SELECT id, customer_id, reference, debtor_name, iban, bic, signed_on, sequence_type, status
           FROM mandates
           WHERE tenant = current_setting('app.tenant', true) AND reference = $1"#,
        reference
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn revoke_mandate(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE mandates SET status = 'revoked', revoked_at = now() WHERE id = $1",
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_sequence_type(
    tx: &mut Tx,
    id: Uuid,
    sequence_type: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE mandates SET sequence_type = $2 WHERE id = $1",
        id,
        sequence_type
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn mandates(
    tx: &mut Tx,
    customer_id: Option<Uuid>,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<MandateRow>, sqlx::Error> {
    sqlx::query_as!(
        MandateRow,
        r#"SELECT id, customer_id, reference, debtor_name, iban, bic, signed_on, sequence_type, status
           FROM mandates
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR customer_id = $1)
             AND ($2::uuid IS NULL OR id > $2)
           ORDER BY id LIMIT $3"#,
        customer_id,
        after,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// An open item of a customer with an active mandate, due and not being
/// collected yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collectible {
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub customer_id: Uuid,
    pub currency: String,
    pub open_amount: Decimal,
    pub mandate_id: Uuid,
}

pub async fn collectible(
    tx: &mut Tx,
    due_on_or_before: NaiveDate,
) -> Result<Vec<Collectible>, sqlx::Error> {
    sqlx::query_as!(
        Collectible,
        r#"SELECT o.id AS invoice_id, o.number AS invoice_number, o.customer_id,
                  o.currency AS "currency!", o.open_amount AS "open_amount!", m.id AS mandate_id
           FROM open_items o
           JOIN mandates m ON m.customer_id = o.customer_id AND m.status = 'active'
           WHERE o.tenant = current_setting('app.tenant', true)
             AND o.open_amount > 0 AND o.due_date <= $1 AND o.currency = 'EUR'
             AND NOT EXISTS (SELECT 1 FROM direct_debit_collections c
                             WHERE c.invoice_id = o.id AND c.status IN ('expected', 'settled'))
           ORDER BY m.id, o.due_date, o.number
           FOR UPDATE OF o SKIP LOCKED"#,
        due_on_or_before
    )
    .fetch_all(&mut **tx)
    .await
}

pub struct NewBatch<'a> {
    pub id: Uuid,
    pub message_id: &'a str,
    pub collection_date: NaiveDate,
    pub currency: &'a str,
    pub total: Decimal,
    pub collections: i32,
    pub file_xml: &'a str,
    pub file_sha256: &'a str,
    pub created_by: &'a str,
}

pub async fn insert_batch(
    tx: &mut Tx,
    tenant: &str,
    batch: &NewBatch<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO direct_debit_batches
               (tenant, id, message_id, collection_date, currency, total, collections, file_xml,
                file_sha256, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        tenant,
        batch.id,
        batch.message_id,
        batch.collection_date,
        batch.currency,
        batch.total,
        batch.collections,
        batch.file_xml,
        batch.file_sha256,
        batch.created_by
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRow {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub customer_id: Uuid,
    pub mandate_reference: String,
    pub end_to_end_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub status: String,
    pub return_reason: Option<String>,
    pub receipt_id: Option<Uuid>,
}

pub struct NewCollection<'a> {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub invoice_id: Uuid,
    pub customer_id: Uuid,
    pub mandate_id: Uuid,
    pub end_to_end_id: &'a str,
    pub amount: Decimal,
    pub currency: &'a str,
    pub sequence_type: &'a str,
}

pub async fn insert_collection(
    tx: &mut Tx,
    tenant: &str,
    collection: &NewCollection<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO direct_debit_collections
               (tenant, id, batch_id, invoice_id, customer_id, mandate_id, end_to_end_id, amount,
                currency, sequence_type)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        tenant,
        collection.id,
        collection.batch_id,
        collection.invoice_id,
        collection.customer_id,
        collection.mandate_id,
        collection.end_to_end_id,
        collection.amount,
        collection.currency,
        collection.sequence_type
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The collection with this end-to-end id, locked.
pub async fn collection_by_end_to_end(
    tx: &mut Tx,
    end_to_end_id: &str,
) -> Result<Option<CollectionRow>, sqlx::Error> {
    sqlx::query_as!(
        CollectionRow,
        r#"SELECT c.id, c.batch_id, c.invoice_id, o.number AS invoice_number, c.customer_id,
                  m.reference AS mandate_reference, c.end_to_end_id, c.amount,
                  c.currency AS "currency!", c.status, c.return_reason, c.receipt_id
           FROM direct_debit_collections c
           JOIN open_items o ON o.id = c.invoice_id
           JOIN mandates m ON m.id = c.mandate_id
           WHERE c.tenant = current_setting('app.tenant', true) AND c.end_to_end_id = $1
           FOR UPDATE OF c"#,
        end_to_end_id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn collections_of(
    tx: &mut Tx,
    batch_ids: &[Uuid],
) -> Result<Vec<CollectionRow>, sqlx::Error> {
    sqlx::query_as!(
        CollectionRow,
        r#"SELECT c.id, c.batch_id, c.invoice_id, o.number AS invoice_number, c.customer_id,
                  m.reference AS mandate_reference, c.end_to_end_id, c.amount,
                  c.currency AS "currency!", c.status, c.return_reason, c.receipt_id
           FROM direct_debit_collections c
           JOIN open_items o ON o.id = c.invoice_id
           JOIN mandates m ON m.id = c.mandate_id
           WHERE c.batch_id = ANY($1)
           ORDER BY c.end_to_end_id"#,
        batch_ids
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn mark_settled(tx: &mut Tx, id: Uuid, receipt_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE direct_debit_collections
           SET status = 'settled', receipt_id = $2, settled_at = now() WHERE id = $1"#,
        id,
        receipt_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn mark_returned(tx: &mut Tx, id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE direct_debit_collections
           SET status = 'returned', return_reason = $2, returned_at = now() WHERE id = $1"#,
        id,
        reason
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub id: Uuid,
    pub message_id: String,
    pub collection_date: NaiveDate,
    pub currency: String,
    pub total: Decimal,
    pub collections: i32,
    pub created_at: DateTime<Utc>,
}

pub async fn batches(
    tx: &mut Tx,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<BatchRow>, sqlx::Error> {
    sqlx::query_as!(
        BatchRow,
        r#"SELECT id, message_id, collection_date, currency AS "currency!", total, collections,
                  created_at
           FROM direct_debit_batches
           WHERE tenant = current_setting('app.tenant', true)
             AND ($1::uuid IS NULL OR id < $1)
           ORDER BY id DESC LIMIT $2"#,
        after,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn batch_file(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT message_id, file_xml, file_sha256 FROM direct_debit_batches WHERE id = $1",
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.message_id, row.file_xml, row.file_sha256)))
}
