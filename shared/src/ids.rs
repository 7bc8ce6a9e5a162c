//! Typed identifiers: a tenant slug and UUIDv7 entity ids that cannot be
//! mixed up with one another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind}: `{value}` is not a valid id: {reason}")]
    Invalid {
        kind: &'static str,
        value: String,
        reason: String,
    },
}

/// The tenant a request, a row or an event belongs to: a lowercase slug
/// (`acme`, `globex-eu`), 1 to 63 characters of `a-z`, `0-9` and `-`, not
/// starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let invalid = |reason: &str| IdError::Invalid {
            kind: "tenant",
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if value.is_empty() || value.len() > 63 {
            return Err(invalid("must be 1 to 63 characters"));
        }
        if !value
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        {
            return Err(invalid("only a-z, 0-9 and '-' are allowed"));
        }
        if value.starts_with('-') || value.ends_with('-') {
            return Err(invalid("must not start or end with '-'"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for TenantId {
    type Err = IdError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl TryFrom<String> for TenantId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantId> for String {
    fn from(tenant: TenantId) -> Self {
        tenant.0
    }
}

/// Declares a UUIDv7 id newtype: time-ordered (good B-tree locality), typed so
/// that an `InvoiceId` is never passed where a `CustomerId` is expected.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn parse(value: &str) -> Result<Self, $crate::ids::IdError> {
                uuid::Uuid::parse_str(value.trim()).map(Self).map_err(|error| {
                    $crate::ids::IdError::Invalid {
                        kind: $kind,
                        value: value.to_owned(),
                        reason: error.to_string(),
                    }
                })
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, formatter)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
    };
}

typed_id!(
    /// A customer in the customer master (owned by the order service).
    CustomerId,
    "customer_id"
);
typed_id!(OrderId, "order_id");
typed_id!(ShipmentId, "shipment_id");
typed_id!(InvoiceId, "invoice_id");
typed_id!(CreditNoteId, "credit_note_id");
typed_id!(DebitNoteId, "debit_note_id");
typed_id!(ReceiptId, "receipt_id");
typed_id!(CashApplicationId, "cash_application_id");
typed_id!(RefundId, "refund_id");
typed_id!(DisputeId, "dispute_id");
typed_id!(PromiseToPayId, "promise_to_pay_id");
typed_id!(WriteOffId, "write_off_id");
typed_id!(DunningNoticeId, "dunning_notice_id");
typed_id!(
    /// The CloudEvents `id` of an event this suite publishes.
    EventId,
    "event_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs_are_validated() {
        assert!(TenantId::parse("acme").is_ok());
        assert!(TenantId::parse("globex-eu-2").is_ok());
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "acmé",
            &"a".repeat(64),
        ] {
            let error = TenantId::parse(bad).unwrap_err();
            assert!(error.to_string().starts_with("tenant:"), "{error}");
        }
    }

    #[test]
    fn typed_ids_are_time_ordered_and_parse_back() {
        let first = InvoiceId::new();
        let second = InvoiceId::new();
        assert!(first < second);
        assert_eq!(InvoiceId::parse(&first.to_string()).unwrap(), first);
        let error = CustomerId::parse("not-a-uuid").unwrap_err();
        assert!(error.to_string().starts_with("customer_id:"), "{error}");
    }
}
