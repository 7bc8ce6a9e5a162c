//! Disputes, write-offs and collections settings as wire messages.

use crate::store::disputes::{DisputeItemRow, DisputeRow, NoteRow};
use crate::store::settings::SettingsRow;
use crate::store::write_offs::WriteOffRow;
use otc_proto::collections as wire;
use otc_shared::money::column_to_proto as money;
use otc_shared::time::to_proto as timestamp;

pub fn dispute(
    row: &DisputeRow,
    items: &[DisputeItemRow],
    notes: &[NoteRow],
    write_off_ids: &[uuid::Uuid],
) -> wire::Dispute {
    wire::Dispute {
        dispute_id: row.id.to_string(),
        customer_id: row.customer_id.to_string(),
        reason_code: row.reason_code.to_uppercase(),
        description: row.description.clone(),
        amount: Some(money(row.amount, &row.currency)),
        items: items
            .iter()
            .map(|item| wire::DisputedItem {
                item_id: item.item_id.to_string(),
                amount: Some(money(item.amount, &row.currency)),
                credit_note_id: item
                    .credit_note_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                credit_note_number: item.credit_note_number.clone().unwrap_or_default(),
            })
            .collect(),
        state: row.state.to_uppercase(),
        resolution: row
            .resolution
            .as_deref()
            .map(str::to_uppercase)
            .unwrap_or_default(),
        resolution_note: row.resolution_note.clone(),
        owner: row.owner.clone(),
        sla_due_date: row.sla_due_date.to_string(),
        source: row.source.to_uppercase(),
        deduction_id: row
            .deduction_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        opened_by: row.opened_by.clone(),
        opened_at: Some(timestamp(row.opened_at)),
        resolved_by: row.resolved_by.clone().unwrap_or_default(),
        resolved_at: row.resolved_at.map(timestamp),
        notes: notes
            .iter()
            .map(|note| wire::DisputeNote {
                note_id: note.id.to_string(),
                author: note.author.clone(),
                body: note.body.clone(),
                attachment_uris: note.attachment_uris.clone(),
                created_at: Some(timestamp(note.created_at)),
            })
            .collect(),
        last_error: row.last_error.clone(),
        version: u64::try_from(row.version).unwrap_or(0),
        write_off_ids: write_off_ids.iter().map(uuid::Uuid::to_string).collect(),
    }
}

pub fn write_off(row: &WriteOffRow) -> wire::WriteOff {
    wire::WriteOff {
        write_off_id: row.id.to_string(),
        customer_id: row.customer_id.to_string(),
        item_id: row.item_id.to_string(),
        amount: Some(money(row.amount, &row.currency)),
        reason: row.reason.clone(),
        state: row.state.to_uppercase(),
        requested_by: row.requested_by.clone(),
        requested_at: Some(timestamp(row.requested_at)),
        decided_by: row.decided_by.clone().unwrap_or_default(),
        decided_at: row.decided_at.map(timestamp),
        decision_note: row.decision_note.clone(),
        dispute_id: row.dispute_id.map(|id| id.to_string()).unwrap_or_default(),
        version: u64::try_from(row.version).unwrap_or(0),
    }
}

pub fn settings(row: &SettingsRow) -> wire::CollectionsSettings {
    wire::CollectionsSettings {
        dispute_sla_days: u32::try_from(row.dispute_sla_days).unwrap_or(0),
        write_off_threshold: row.write_off_threshold.normalize().to_string(),
        version: u64::try_from(row.version).unwrap_or(0),
        updated_by: row.updated_by.clone(),
        updated_at: row.updated_at.map(timestamp),
    }
}
