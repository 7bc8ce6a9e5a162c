//! The roles of the finance team (DESIGN.md, "Who uses it") plus the role
//! services use to call one another. A token carries role names; what a role
//! may do is decided once, in [`super::permissions_of`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role a token may grant. Serialized as the snake_case name tokens carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Enters and changes orders.
    SalesAssociate,
    /// Answers customers: their status, and takes in disputes.
    CustomerServiceRepresentative,
    /// Issues invoices and credit/debit notes.
    ArClerk,
    /// Works the unmatched receipts and the bank statements.
    CashApplicationSpecialist,
    /// Works the collector worklist: dunning, promises to pay, disputes.
    Collector,
    /// Sets credit limits, releases holds, approves write-offs.
    CreditManager,
    /// Executive / CFO: reads the figures, never changes them.
    Executive,
    /// Configures the tenant and operates the suite.
    TenantAdmin,
    /// Another service of the suite (e.g. order calling collections' `CheckCredit`).
    Service,
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a role (expected one of: {})", Role::names().join(", "))]
pub struct UnknownRole {
    pub name: String,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::SalesAssociate,
        Role::CustomerServiceRepresentative,
        Role::ArClerk,
        Role::CashApplicationSpecialist,
        Role::Collector,
        Role::CreditManager,
        Role::Executive,
        Role::TenantAdmin,
        Role::Service,
    ];

    /// The name tokens carry; identical to the serde form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::SalesAssociate => "sales_associate",
            Role::CustomerServiceRepresentative => "customer_service_representative",
            Role::ArClerk => "ar_clerk",
            Role::CashApplicationSpecialist => "cash_application_specialist",
            Role::Collector => "collector",
            Role::CreditManager => "credit_manager",
            Role::Executive => "executive",
            Role::TenantAdmin => "tenant_admin",
            Role::Service => "service",
        }
    }

    /// Every role name, in [`Role::ALL`] order (for help texts and errors).
    pub fn names() -> Vec<&'static str> {
        Role::ALL.iter().map(|role| role.as_str()).collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_parses_back_from_its_name_and_its_serde_form() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
    }

    #[test]
    fn an_unknown_role_names_itself_and_the_known_ones() {
        let error = "cfo".parse::<Role>().unwrap_err();
        assert_eq!(error.name, "cfo");
        let message = error.to_string();
        assert!(message.starts_with("`cfo` is not a role"), "{message}");
        assert!(message.contains("credit_manager"), "{message}");
        // Names are exact: no case folding, no aliases.
        assert!("Collector".parse::<Role>().is_err());
    }
}
