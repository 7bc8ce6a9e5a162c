//! The collection run: every open EUR item of a customer with an active
//! mandate, due on or before the date and not already being collected, goes
//! into one pain.008 batch; each becomes an expected receipt (a collection)
//! that the bank's results settle or return. The run is safe to repeat and
//! to run on several replicas at once: an item is collected once at a time
//! (unique index) and rows being collected elsewhere are skipped.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Utc, Weekday};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::store::{
    self, BatchRow, Collectible, CollectionRow, MandateRow, NewBatch, NewCollection,
};
use crate::commands::{Actor, CommandError};
use crate::store::Tx;
use otc_bank_formats::pain008::{self, SequenceType};
use otc_shared::audit::{self, AuditEntry};

/// The next TARGET2 business day after `date` (weekends skipped; bank
/// holidays are the bank's to roll).
pub fn next_business_day(date: NaiveDate) -> NaiveDate {
    let mut next = date.succ_opt().unwrap_or(date);
    while matches!(next.weekday(), Weekday::Sat | Weekday::Sun) {
        next = next.succ_opt().unwrap_or(next);
    }
    next
}

fn sequence_type(code: &str) -> SequenceType {
    match code {
        "FRST" => SequenceType::First,
        "OOFF" => SequenceType::OneOff,
        "FNAL" => SequenceType::Final,
        _ => SequenceType::Recurring,
    }
}

/// A batch and its collections, as written.
#[derive(Debug, Clone)]
pub struct WrittenBatch {
    pub batch: BatchRow,
    pub collections: Vec<CollectionRow>,
}

/// Collects what is due; `None` when nothing is.
pub async fn run_collection(
    tx: &mut Tx,
    actor: &Actor,
    due_on_or_before: NaiveDate,
    collection_date: NaiveDate,
) -> Result<Option<WrittenBatch>, CommandError> {
    let creditor = store::creditor(tx).await?.ok_or_else(|| {
        CommandError::FailedPrecondition(
            "no SEPA creditor is set for this tenant (DirectDebitService/SetCreditor)".to_owned(),
        )
    })?;
    let due = store::collectible(tx, due_on_or_before).await?;
    if due.is_empty() {
        return Ok(None);
    }
    let mut mandates: BTreeMap<Uuid, MandateRow> = BTreeMap::new();
    for item in &due {
        if !mandates.contains_key(&item.mandate_id)
            && let Some(mandate) = store::mandate(tx, item.mandate_id).await?
        {
            mandates.insert(mandate.id, mandate);
        }
    }
    let batch_id = Uuid::now_v7();
    let message_id = format!("OTCDD{}", &batch_id.simple().to_string()[..26]);
    let planned: Vec<(&Collectible, &MandateRow, String)> = due
        .iter()
        .filter_map(|item| {
            let mandate = mandates.get(&item.mandate_id)?;
            let end_to_end_id = format!("DD{}", &Uuid::now_v7().simple().to_string()[..30]);
            Some((item, mandate, end_to_end_id))
        })
        .collect();
    let batch = pain008::Batch {
        message_id: message_id.clone(),
        created_at: Utc::now().naive_utc(),
        initiating_party: creditor.name.clone(),
        creditor: pain008::Creditor {
            name: creditor.name.clone(),
            iban: creditor.iban.clone(),
            bic: creditor.bic.clone(),
            creditor_id: creditor.creditor_id.clone(),
        },
        collections: planned
            .iter()
            .map(|(item, mandate, end_to_end_id)| pain008::Collection {
                end_to_end_id: end_to_end_id.clone(),
                amount: item.open_amount,
                currency: item.currency.clone(),
                mandate_id: mandate.reference.clone(),
                mandate_signed_on: mandate.signed_on,
                sequence_type: sequence_type(&mandate.sequence_type),
                collection_date,
                debtor_name: mandate.debtor_name.clone(),
                debtor_iban: mandate.iban.clone(),
                debtor_bic: mandate.bic.clone(),
                remittance: format!("Invoice {}", item.invoice_number),
            })
            .collect(),
    };
    let xml = pain008::write(&batch).map_err(|error| {
        CommandError::FailedPrecondition(format!(
            "the direct-debit batch cannot be written: {error}"
        ))
    })?;
    let total: Decimal = planned.iter().map(|(item, _, _)| item.open_amount).sum();
    let count = i32::try_from(planned.len()).unwrap_or(i32::MAX);
    let sha256 = crate::commands::import::sha256_hex(xml.as_bytes());
    store::insert_batch(
        tx,
        actor.tenant.as_str(),
        &NewBatch {
            id: batch_id,
            message_id: &message_id,
            collection_date,
            currency: "EUR",
            total,
            collections: count,
            file_xml: &xml,
            file_sha256: &sha256,
            created_by: &actor.subject,
        },
    )
    .await?;
    for (item, mandate, end_to_end_id) in &planned {
        store::insert_collection(
            tx,
            actor.tenant.as_str(),
            &NewCollection {
                id: Uuid::now_v7(),
                batch_id,
                invoice_id: item.invoice_id,
                customer_id: item.customer_id,
                mandate_id: mandate.id,
                end_to_end_id,
                amount: item.open_amount,
                currency: &item.currency,
                sequence_type: &mandate.sequence_type,
            },
        )
        .await?;
    }
    // After a first collection the mandate is recurring; a one-off mandate
    // is spent.
    for mandate in mandates.values() {
        match mandate.sequence_type.as_str() {
            "FRST" => store::set_sequence_type(tx, mandate.id, "RCUR").await?,
            "OOFF" | "FNAL" => store::revoke_mandate(tx, mandate.id).await?,
            _ => {}
        }
    }
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action: "direct_debit.batch",
            entity_type: "direct_debit_batch",
            entity_id: &batch_id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "message_id": message_id,
                "collection_date": collection_date,
                "collections": count,
                "total": total,
                "sha256": sha256,
            })),
        },
    )
    .await?;
    let collections = store::collections_of(tx, &[batch_id]).await?;
    let batch = store::batches(tx, 1, None)
        .await?
        .into_iter()
        .find(|row| row.id == batch_id)
        .ok_or_else(|| CommandError::NotFound(format!("batch {batch_id}")))?;
    tracing::info!(%message_id, collections = count, %total, "direct-debit batch written");
    Ok(Some(WrittenBatch { batch, collections }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_dates_skip_weekends() {
        let friday = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
        assert_eq!(next_business_day(friday).weekday(), Weekday::Mon);
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        assert_eq!(next_business_day(monday).weekday(), Weekday::Tue);
    }
}
