//! The in-memory, per-tenant matching index: invoices by number, amount and customer,
//! customers by bank account, name and parent. Updated incrementally, never rescanned.

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::model::{Customer, OpenInvoice};
use crate::name_index::NameIndex;
use crate::references::{RefKey, parse_number};

/// Deepest parent → child chain followed when a parent pays for its group.
const FAMILY_DEPTH: usize = 3;
/// Most customers one payer may settle for.
const FAMILY_CAP: usize = 64;

#[derive(Debug)]
pub(crate) struct InvoiceRec {
    pub inv: OpenInvoice,
    pub cur: u16,
    pub cust: u32,
    pub series: Option<String>,
    pub key: Option<RefKey>,
}

impl InvoiceRec {
    fn matchable(&self) -> bool {
        self.inv.open_amount > Decimal::ZERO
    }
}

/// An open invoice in a customer's list, ordered by currency then amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct OpenEntry {
    pub cur: u16,
    pub amount: Decimal,
    pub slot: u32,
}

#[derive(Debug, Default)]
pub(crate) struct CustomerRec {
    /// `None` while only invoices or children have named this customer.
    pub customer: Option<Customer>,
    pub id: Uuid,
    pub parent: Option<u32>,
    pub children: Vec<u32>,
    /// Sorted by (currency, amount, slot).
    pub open: Vec<OpenEntry>,
    /// Open invoices carrying an early-payment discount.
    pub discounted: Vec<u32>,
    accounts: Vec<String>,
}

/// In-memory matching index of one tenant.
#[derive(Debug, Default)]
pub struct Index {
    customers: Vec<CustomerRec>,
    customer_slots: FxHashMap<Uuid, u32>,
    accounts: FxHashMap<String, Vec<u32>>,
    names: NameIndex,
    invoices: Vec<Option<InvoiceRec>>,
    free: Vec<u32>,
    invoice_slots: FxHashMap<Uuid, u32>,
    by_key: FxHashMap<RefKey, Vec<u32>>,
    by_number: FxHashMap<String, Vec<u32>>,
    by_amount: FxHashMap<(u16, Decimal), Vec<u32>>,
    currencies: Vec<String>,
    currency_ids: FxHashMap<String, u16>,
    open: usize,
}

/// Bank account as compared: letters and digits only, upper case.
pub fn normalise_account(account: &str) -> String {
    account
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Non-standard document numbers as compared: letters and digits only, upper case.
pub(crate) fn compact_number(number: &str) -> String {
    normalise_account(number)
}

pub(crate) fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl Index {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a customer (name, accounts, parent).
    pub fn upsert_customer(&mut self, c: Customer) {
        let slot = self.customer_slot_or_stub(c.customer_id);
        let parent = c
            .parent_id
            .filter(|p| *p != c.customer_id)
            .map(|p| self.customer_slot_or_stub(p));
        let old_parent = self.customers[to_usize(slot)].parent;
        if old_parent != parent {
            if let Some(old) = old_parent {
                self.customers[to_usize(old)]
                    .children
                    .retain(|s| *s != slot);
            }
            if let Some(new) = parent {
                let children = &mut self.customers[to_usize(new)].children;
                children.push(slot);
                children.sort_unstable();
            }
        }
        let old_accounts = std::mem::take(&mut self.customers[to_usize(slot)].accounts);
        for account in old_accounts {
            if let Some(owners) = self.accounts.get_mut(&account) {
                owners.retain(|s| *s != slot);
            }
        }
        let mut accounts: Vec<String> = c
            .bank_accounts
            .iter()
            .map(|a| normalise_account(a))
            .collect();
        accounts.retain(|a| !a.is_empty());
        accounts.sort_unstable();
        accounts.dedup();
        for account in &accounts {
            let owners = self.accounts.entry(account.clone()).or_default();
            owners.push(slot);
            owners.sort_unstable();
        }
        self.names.set(slot, &c.name);
        let rec = &mut self.customers[to_usize(slot)];
        (rec.parent, rec.accounts, rec.customer) = (parent, accounts, Some(c));
    }

    /// Adds or replaces an invoice; an open amount of zero (or less) keeps it out of matching.
    pub fn upsert_invoice(&mut self, i: OpenInvoice) {
        let cur = self.currency_id_or_new(&i.currency);
        let cust = self.customer_slot_or_stub(i.customer_id);
        let (series, key) =
            parse_number(&i.number).map_or((None, None), |(s, k)| (Some(s), Some(k)));
        let rec = InvoiceRec {
            inv: i,
            cur,
            cust,
            series,
            key,
        };
        let slot = match self.invoice_slots.get(&rec.inv.invoice_id).copied() {
            Some(slot) => {
                self.unlink(slot);
                slot
            }
            None => self.new_invoice_slot(rec.inv.invoice_id),
        };
        self.invoices[to_usize(slot)] = Some(rec);
        self.link(slot);
    }

    /// Changes the open amount after a payment or a reversal elsewhere.
    pub fn set_open_amount(&mut self, invoice_id: Uuid, open: Decimal) {
        if let Some(slot) = self.invoice_slots.get(&invoice_id).copied() {
            self.unlink(slot);
            if let Some(rec) = self.invoices[to_usize(slot)].as_mut() {
                rec.inv.open_amount = open;
            }
            self.link(slot);
        }
    }

    pub fn remove_invoice(&mut self, invoice_id: Uuid) {
        if let Some(slot) = self.invoice_slots.remove(&invoice_id) {
            self.unlink(slot);
            self.invoices[to_usize(slot)] = None;
            self.free.push(slot);
        }
    }

    /// The invoice as last upserted (also when settled), until removed.
    pub fn invoice(&self, id: Uuid) -> Option<&OpenInvoice> {
        let slot = self.invoice_slots.get(&id)?;
        self.invoices[to_usize(*slot)].as_ref().map(|r| &r.inv)
    }

    /// Invoices open for matching.
    pub fn len(&self) -> usize {
        self.open
    }

    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// Customers known (with master data) to the index.
    pub fn customer_count(&self) -> usize {
        self.customers
            .iter()
            .filter(|c| c.customer.is_some())
            .count()
    }

    fn new_invoice_slot(&mut self, id: Uuid) -> u32 {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.invoices.push(None);
            u32::try_from(self.invoices.len() - 1).unwrap_or(u32::MAX)
        });
        self.invoice_slots.insert(id, slot);
        slot
    }

    fn customer_slot_or_stub(&mut self, id: Uuid) -> u32 {
        if let Some(slot) = self.customer_slots.get(&id) {
            return *slot;
        }
        let slot = u32::try_from(self.customers.len()).unwrap_or(u32::MAX);
        self.customers.push(CustomerRec {
            id,
            ..CustomerRec::default()
        });
        self.customer_slots.insert(id, slot);
        slot
    }

    fn currency_id_or_new(&mut self, code: &str) -> u16 {
        let code = code.trim().to_ascii_uppercase();
        if let Some(id) = self.currency_ids.get(&code) {
            return *id;
        }
        let id = u16::try_from(self.currencies.len()).unwrap_or(u16::MAX);
        self.currencies.push(code.clone());
        self.currency_ids.insert(code, id);
        id
    }

    /// Puts a matchable invoice into the lookup structures.
    fn link(&mut self, slot: u32) {
        let Some(rec) = self.invoices[to_usize(slot)].as_ref() else {
            return;
        };
        if !rec.matchable() {
            return;
        }
        let entry = OpenEntry {
            cur: rec.cur,
            amount: rec.inv.open_amount,
            slot,
        };
        match rec.key {
            Some(key) => self.by_key.entry(key).or_default().push(slot),
            None => self
                .by_number
                .entry(compact_number(&rec.inv.number))
                .or_default()
                .push(slot),
        }
        self.by_amount
            .entry((rec.cur, rec.inv.open_amount.normalize()))
            .or_default()
            .push(slot);
        let discounted = rec.inv.discount_date.is_some() && rec.inv.discount_amount > Decimal::ZERO;
        let customer = &mut self.customers[to_usize(rec.cust)];
        let at = customer.open.partition_point(|e| *e < entry);
        customer.open.insert(at, entry);
        if discounted {
            customer.discounted.push(slot);
        }
        self.open += 1;
    }

    /// Takes an invoice out of the lookup structures (before a change or removal).
    fn unlink(&mut self, slot: u32) {
        let Some(rec) = self.invoices[to_usize(slot)].as_ref() else {
            return;
        };
        if !rec.matchable() {
            return;
        }
        let drop_slot = |v: &mut Vec<u32>| v.retain(|s| *s != slot);
        match rec.key {
            Some(key) => remove_from(&mut self.by_key, &key, drop_slot),
            None => remove_from(
                &mut self.by_number,
                &compact_number(&rec.inv.number),
                drop_slot,
            ),
        }
        remove_from(
            &mut self.by_amount,
            &(rec.cur, rec.inv.open_amount.normalize()),
            drop_slot,
        );
        let customer = &mut self.customers[to_usize(rec.cust)];
        customer.open.retain(|e| e.slot != slot);
        customer.discounted.retain(|s| *s != slot);
        self.open = self.open.saturating_sub(1);
    }

    pub(crate) fn rec(&self, slot: u32) -> Option<&InvoiceRec> {
        self.invoices.get(to_usize(slot)).and_then(Option::as_ref)
    }

    pub(crate) fn customer_slot(&self, id: Uuid) -> Option<u32> {
        self.customer_slots.get(&id).copied()
    }

    pub(crate) fn customer(&self, slot: u32) -> &CustomerRec {
        &self.customers[to_usize(slot)]
    }

    pub(crate) fn customer_name(&self, slot: u32) -> &str {
        self.customer(slot)
            .customer
            .as_ref()
            .map_or("(unknown customer)", |c| c.name.as_str())
    }

    pub(crate) fn by_account(&self, normalised: &str) -> &[u32] {
        self.accounts.get(normalised).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn by_key(&self, key: RefKey) -> &[u32] {
        self.by_key.get(&key).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn by_number(&self, compact: &str) -> &[u32] {
        self.by_number.get(compact).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn has_nonstandard_numbers(&self) -> bool {
        !self.by_number.is_empty()
    }

    pub(crate) fn by_amount(&self, cur: u16, amount: Decimal) -> &[u32] {
        self.by_amount
            .get(&(cur, amount.normalize()))
            .map_or(&[], Vec::as_slice)
    }

    pub(crate) fn currency_id(&self, code: &str) -> Option<u16> {
        self.currency_ids
            .get(code.trim().to_ascii_uppercase().as_str())
            .copied()
    }

    pub(crate) fn names(&self) -> &NameIndex {
        &self.names
    }

    /// Open invoices of one customer in one currency, by ascending amount.
    pub(crate) fn open_of(&self, cust: u32, cur: u16) -> &[OpenEntry] {
        let open = &self.customer(cust).open;
        let lo = open.partition_point(|e| e.cur < cur);
        let hi = open.partition_point(|e| e.cur <= cur);
        &open[lo..hi]
    }

    /// The payer and the group companies it may pay for (children, grandchildren).
    pub(crate) fn family(&self, payer: u32) -> Vec<u32> {
        let mut family = vec![payer];
        let mut level = vec![payer];
        for _ in 0..FAMILY_DEPTH {
            let next: Vec<u32> = level
                .iter()
                .flat_map(|s| self.customer(*s).children.iter().copied())
                .collect();
            let fresh: Vec<u32> = next.into_iter().filter(|s| !family.contains(s)).collect();
            if fresh.is_empty() || family.len() >= FAMILY_CAP {
                break;
            }
            family.extend(fresh.iter().copied().take(FAMILY_CAP - family.len()));
            level = fresh;
        }
        family
    }
}

fn remove_from<K: std::hash::Hash + Eq>(
    map: &mut FxHashMap<K, Vec<u32>>,
    key: &K,
    drop: impl Fn(&mut Vec<u32>),
) {
    if let Some(v) = map.get_mut(key) {
        drop(v);
        if v.is_empty() {
            map.remove(key);
        }
    }
}
