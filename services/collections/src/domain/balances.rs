//! A customer's ledger balance in one currency taken apart by movement
//! kind, and the ledger's own invariant on it: the open items' balance =
//! the sum of the posted movements = invoices + debit notes - credit notes -
//! applied cash - discounts - write-offs, and every item's open amount is
//! the sum of its own movements.

use rust_decimal::Decimal;
use uuid::Uuid;

/// Posted movements summed by kind, each as a positive amount where it
/// lowers the balance (unapplications are netted into what they undo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindTotals {
    pub invoices: Decimal,
    pub debit_notes: Decimal,
    pub credit_notes: Decimal,
    pub applied_cash: Decimal,
    pub discounts: Decimal,
    pub write_offs: Decimal,
    /// Movements of a kind this list does not know (a new kind nobody
    /// taught the check): signed, and always a violation.
    pub unknown: Decimal,
}

impl KindTotals {
    /// Adds the signed sum of one movement kind.
    pub fn add(&mut self, kind: &str, signed_sum: Decimal) {
        match kind {
            "invoice" => self.invoices += signed_sum,
            "debit_note" => self.debit_notes += signed_sum,
            "credit_note" => self.credit_notes -= signed_sum,
            "cash_applied" | "cash_unapplied" => self.applied_cash -= signed_sum,
            "discount_taken" | "discount_unapplied" => self.discounts -= signed_sum,
            "write_off" => self.write_offs -= signed_sum,
            _ => self.unknown += signed_sum,
        }
    }

    /// invoices + debit notes - credit notes - applied cash - discounts -
    /// write-offs.
    pub fn balance(&self) -> Decimal {
        self.invoices + self.debit_notes
            - self.credit_notes
            - self.applied_cash
            - self.discounts
            - self.write_offs
    }

    /// What the payments service can know of: everything but write-offs
    /// (collections' own decision, never told to payments).
    pub fn without_write_offs(&self) -> Decimal {
        self.balance() + self.write_offs
    }
}

/// One customer and currency as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerBalance {
    pub customer_id: Uuid,
    pub currency: String,
    /// The sum of the open items' open amounts.
    pub balance: Decimal,
    /// The sum of the posted movements, all kinds.
    pub movements_sum: Decimal,
    pub totals: KindTotals,
    pub parked: i64,
    pub items_out_of_balance: i64,
}

impl LedgerBalance {
    pub fn new(customer_id: Uuid, currency: &str) -> Self {
        Self {
            customer_id,
            currency: currency.to_owned(),
            balance: Decimal::ZERO,
            movements_sum: Decimal::ZERO,
            totals: KindTotals::default(),
            parked: 0,
            items_out_of_balance: 0,
        }
    }

    /// Every broken invariant, in words (empty when consistent).
    pub fn violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        if self.balance != self.movements_sum {
            found.push(format!(
                "open items add up to {} {} but their posted movements to {}",
                self.balance, self.currency, self.movements_sum
            ));
        }
        let by_kind = self.totals.balance();
        if by_kind != self.balance {
            found.push(format!(
                "balance {} {} differs from invoices {} + debit notes {} - credit notes {} - applied cash {} - discounts {} - write-offs {} = {}",
                self.balance,
                self.currency,
                self.totals.invoices,
                self.totals.debit_notes,
                self.totals.credit_notes,
                self.totals.applied_cash,
                self.totals.discounts,
                self.totals.write_offs,
                by_kind
            ));
        }
        if !self.totals.unknown.is_zero() {
            found.push(format!(
                "{} {} of movements of an unknown kind",
                self.totals.unknown, self.currency
            ));
        }
        if self.items_out_of_balance > 0 {
            found.push(format!(
                "{} open items differ from the sum of their own movements",
                self.items_out_of_balance
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn ledger(movements: &[(&str, Decimal)]) -> LedgerBalance {
        let mut row = LedgerBalance::new(Uuid::nil(), "EUR");
        for (kind, amount) in movements {
            row.totals.add(kind, *amount);
            row.movements_sum += *amount;
        }
        row.balance = row.movements_sum;
        row
    }

    #[test]
    fn kinds_add_up_to_the_balance_with_unapplications_netted() {
        let row = ledger(&[
            ("invoice", dec!(1190.00)),
            ("debit_note", dec!(50.00)),
            ("credit_note", dec!(-119.00)),
            ("cash_applied", dec!(-500.00)),
            ("cash_unapplied", dec!(200.00)),
            ("discount_taken", dec!(-10.00)),
            ("discount_unapplied", dec!(10.00)),
            ("write_off", dec!(-1.50)),
        ]);
        assert_eq!(row.totals.applied_cash, dec!(300.00));
        assert_eq!(row.totals.discounts, dec!(0.00));
        assert_eq!(row.totals.credit_notes, dec!(119.00));
        assert_eq!(row.totals.write_offs, dec!(1.50));
        assert_eq!(row.totals.balance(), dec!(819.50));
        assert_eq!(row.totals.without_write_offs(), dec!(821.00));
        assert!(row.violations().is_empty(), "{:?}", row.violations());
    }

    #[test]
    fn a_balance_apart_from_its_movements_is_reported() {
        let mut row = ledger(&[("invoice", dec!(100))]);
        row.balance = dec!(90);
        row.items_out_of_balance = 1;
        let found = row.violations();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("90 EUR"), "{found:?}");
    }

    #[test]
    fn an_unknown_kind_is_a_violation() {
        let row = ledger(&[("invoice", dec!(100)), ("fee", dec!(5))]);
        let found = row.violations();
        assert!(
            found.iter().any(|text| text.contains("unknown kind")),
            "{found:?}"
        );
    }
}
