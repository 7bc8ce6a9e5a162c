//! Posting to the AR sub-ledger. An item (invoice, debit note) opens with
//! its own movement; every other effect (credit note, cash applied,
//! discount, unapplication) is a movement on an item. A movement whose item
//! is not known yet (its event came first, from another topic or partition)
//! is parked and posted when the item arrives: never lost, and, being
//! unique per event and per document, never applied twice.

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::functional::{FunctionalItem, functional_amount};
use crate::store::Tx;
use crate::store::movements::{self, MovementRow, NewMovement};
use crate::store::open_items::{self, ItemRow, NewItem};

/// What a posting changed: the customers whose balances moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posted {
    pub customers: Vec<Uuid>,
}

impl Posted {
    fn add(&mut self, customer: Uuid) {
        if !self.customers.contains(&customer) {
            self.customers.push(customer);
        }
    }
}

/// An item's own movement (what opens it).
pub struct Opening<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// Opens an item once, then posts what was parked for it.
pub async fn open_item(
    tx: &mut Tx,
    tenant: &str,
    item: &NewItem<'_>,
    opening: &Opening<'_>,
) -> Result<Posted, sqlx::Error> {
    let mut posted = Posted::default();
    open_items::lock_key(tx, item.id).await?;
    if !open_items::insert(tx, tenant, item).await? {
        tracing::info!(item_id = %item.id, "item already in the ledger; nothing to do");
        return Ok(posted);
    }
    let given = item
        .functional
        .as_ref()
        .map(|(currency, amount)| (*amount, currency.as_str()));
    let own = NewMovement {
        item_id: item.id,
        customer_id: item.customer_id,
        kind: item.kind,
        document_id: item.id,
        event_id: opening.event_id,
        event_type: opening.event_type,
        currency: item.currency,
        amount: item.original_amount,
        functional: given,
        occurred_at: opening.occurred_at,
    };
    // The item's own movement first, then what waited for it, in arrival order.
    let mut waiting = Vec::new();
    if let Some(row) = movements::insert(tx, tenant, &own).await? {
        waiting.push(row);
    }
    let own_ids: Vec<Uuid> = waiting.iter().map(|row| row.id).collect();
    let parked = movements::parked_for(tx, item.id).await?;
    waiting.extend(parked.into_iter().filter(|row| !own_ids.contains(&row.id)));
    let Some(mut locked) = open_items::lock(tx, item.id).await? else {
        return Ok(posted);
    };
    for movement in &waiting {
        post(tx, &mut locked, movement).await?;
    }
    posted.add(locked.customer_id);
    Ok(posted)
}

/// Records a movement on an item: posted if the item is known, else parked.
pub async fn record_movement(
    tx: &mut Tx,
    tenant: &str,
    movement: &NewMovement<'_>,
) -> Result<Posted, sqlx::Error> {
    let mut posted = Posted::default();
    if movement.amount.is_zero() {
        return Ok(posted);
    }
    open_items::lock_key(tx, movement.item_id).await?;
    let Some(row) = movements::insert(tx, tenant, movement).await? else {
        tracing::info!(
            item_id = %movement.item_id,
            kind = movement.kind,
            document_id = %movement.document_id,
            "movement already recorded; nothing to do"
        );
        return Ok(posted);
    };
    match open_items::lock(tx, movement.item_id).await? {
        Some(mut item) => {
            if post(tx, &mut item, &row).await? {
                posted.add(item.customer_id);
            }
        }
        None => {
            tracing::info!(item_id = %movement.item_id, kind = movement.kind, "item not known yet: movement parked");
        }
    }
    Ok(posted)
}

/// Posts one parked movement to its (locked) item; `false` if it cannot be
/// (another currency than the item's: it stays parked, visible, uncounted).
async fn post(
    tx: &mut Tx,
    item: &mut ItemRow,
    movement: &MovementRow,
) -> Result<bool, sqlx::Error> {
    if movement.currency != item.currency {
        tracing::error!(
            item_id = %item.id,
            movement_id = %movement.id,
            item_currency = %item.currency,
            movement_currency = %movement.currency,
            "movement in another currency than its item: left parked"
        );
        return Ok(false);
    }
    let functional = functional_of(item, movement);
    let first_time = movements::post(
        tx,
        movement.id,
        item.customer_id,
        functional
            .as_ref()
            .map(|(amount, currency)| (*amount, currency.as_str())),
    )
    .await?;
    if !first_time {
        return Ok(false);
    }
    open_items::add(
        tx,
        item.id,
        movement.amount,
        functional.as_ref().map(|(amount, _)| *amount),
    )
    .await?;
    item.open_amount += movement.amount;
    if let (Some(open), Some((amount, _))) = (item.functional_open.as_mut(), &functional) {
        *open += *amount;
    }
    Ok(true)
}

/// The movement's functional amount and currency, when its item has one.
fn functional_of(item: &ItemRow, movement: &MovementRow) -> Option<(Decimal, String)> {
    let currency = item.functional_currency.clone()?;
    let functional_item = FunctionalItem {
        functional_currency: currency.clone(),
        original: item.original_amount,
        functional_original: item.functional_original?,
        open: item.open_amount,
        functional_open: item.functional_open?,
    };
    let given = match (&movement.functional_amount, &movement.functional_currency) {
        (Some(amount), Some(code)) => Some((*amount, code.as_str())),
        _ => None,
    };
    let minor_units = otc_shared::Currency::parse(&currency)
        .map(|parsed| parsed.minor_units())
        .unwrap_or(6);
    Some((
        functional_amount(&functional_item, movement.amount, given, minor_units),
        currency,
    ))
}
