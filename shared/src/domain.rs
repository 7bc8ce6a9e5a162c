//! Domain enums that more than one service speaks about. Each has one
//! canonical string form, used in the database, in events and in JSON.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        kind: stringify!($name),
                        value: value.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {kind} (expected one of: {})", expected.join(", "))]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

string_enum!(
    /// Lifecycle of an order (order service; followed by collections for
    /// exposure and by reporting for cycle times).
    OrderStatus {
        PendingCredit => "pending_credit",
        Approved => "approved",
        OnCreditHold => "on_credit_hold",
        PartiallyFulfilled => "partially_fulfilled",
        Fulfilled => "fulfilled",
        Closed => "closed",
        Cancelled => "cancelled",
    }
);

string_enum!(
    /// Kinds of receivable document (billing issues them; payments,
    /// collections and reporting ledger them).
    DocumentKind {
        Invoice => "invoice",
        CreditNote => "credit_note",
        DebitNote => "debit_note",
    }
);

string_enum!(
    /// How money came in (payments records it; reporting analyses it).
    PaymentChannel {
        BankTransfer => "bank_transfer",
        DirectDebit => "direct_debit",
        Card => "card",
        Cheque => "cheque",
        Cash => "cash",
        Manual => "manual",
    }
);

string_enum!(
    /// Why a customer disputes an item (collections owns disputes; payments
    /// opens them from deductions; reporting counts them).
    DisputeReason {
        Pricing => "pricing",
        Quantity => "quantity",
        Quality => "quality",
        NotReceived => "not_received",
        DuplicateBilling => "duplicate_billing",
        Other => "other",
    }
);

string_enum!(
    /// Status of a customer in the customer master.
    CustomerStatus {
        Active => "active",
        Blocked => "blocked",
        Inactive => "inactive",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_unknowns_are_explained() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>().unwrap(), *status);
        }
        let error = "lost".parse::<DisputeReason>().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected one of: pricing, quantity"),
            "{error}"
        );
        assert_eq!(
            serde_json::to_string(&DocumentKind::CreditNote).unwrap(),
            "\"credit_note\""
        );
    }
}
