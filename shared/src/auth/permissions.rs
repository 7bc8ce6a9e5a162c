//! The roles of DESIGN.md and the single roles-to-permissions matrix.
//!
//! | role | may |
//! |---|---|
//! | sales associate | customers (read), orders (read, write) |
//! | customer service representative | customers, orders, invoices, ledger (read); disputes (read, open) |
//! | AR clerk | invoices and credit/debit notes (write), tax and FX, reads of orders, payments, ledger |
//! | cash application specialist | payments, statement import, cash application, refunds; reads of invoices, ledger |
//! | collector | ledger, dunning (work), disputes, promises to pay, write-off requests |
//! | credit manager | credit limits, holds release, write-off approval; reads |
//! | executive / CFO | every read, reports; never a write |
//! | tenant admin | configuration and operations; every read |
//! | service | service-to-service calls (credit check) and the reads they need |
//!
//! Segregation of duties: the collector who requests a write-off cannot
//! approve it; the credit manager who approves cannot request it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SalesAssociate,
    CustomerServiceRepresentative,
    ArClerk,
    CashApplicationSpecialist,
    Collector,
    CreditManager,
    Executive,
    TenantAdmin,
    Service,
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
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| {
                let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
                format!(
                    "`{value}` is not a role (expected one of: {})",
                    known.join(", ")
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    CustomersRead,
    CustomersWrite,
    OrdersRead,
    OrdersWrite,
    CreditHoldsRelease,
    InvoicesRead,
    InvoicesWrite,
    CreditNotesWrite,
    TaxAndFxWrite,
    PaymentsRead,
    PaymentsWrite,
    StatementsImport,
    CashApplicationWork,
    RefundsWrite,
    LedgerRead,
    CreditLimitsWrite,
    CreditCheck,
    DunningRead,
    DunningWork,
    DisputesRead,
    DisputesWrite,
    PromisesToPayWrite,
    WriteOffsRequest,
    WriteOffsApprove,
    ReportsRead,
    ConfigurationWrite,
    OperationsRead,
    OperationsWrite,
}

impl Permission {
    pub const fn name(self) -> &'static str {
        match self {
            Permission::CustomersRead => "customers.read",
            Permission::CustomersWrite => "customers.write",
            Permission::OrdersRead => "orders.read",
            Permission::OrdersWrite => "orders.write",
            Permission::CreditHoldsRelease => "credit_holds.release",
            Permission::InvoicesRead => "invoices.read",
            Permission::InvoicesWrite => "invoices.write",
            Permission::CreditNotesWrite => "credit_notes.write",
            Permission::TaxAndFxWrite => "tax_and_fx.write",
            Permission::PaymentsRead => "payments.read",
            Permission::PaymentsWrite => "payments.write",
            Permission::StatementsImport => "statements.import",
            Permission::CashApplicationWork => "cash_application.work",
            Permission::RefundsWrite => "refunds.write",
            Permission::LedgerRead => "ledger.read",
            Permission::CreditLimitsWrite => "credit_limits.write",
            Permission::CreditCheck => "credit.check",
            Permission::DunningRead => "dunning.read",
            Permission::DunningWork => "dunning.work",
            Permission::DisputesRead => "disputes.read",
            Permission::DisputesWrite => "disputes.write",
            Permission::PromisesToPayWrite => "promises_to_pay.write",
            Permission::WriteOffsRequest => "write_offs.request",
            Permission::WriteOffsApprove => "write_offs.approve",
            Permission::ReportsRead => "reports.read",
            Permission::ConfigurationWrite => "configuration.write",
            Permission::OperationsRead => "operations.read",
            Permission::OperationsWrite => "operations.write",
        }
    }

    /// Reads never change state; everything else does.
    pub const fn is_read(self) -> bool {
        matches!(
            self,
            Permission::CustomersRead
                | Permission::OrdersRead
                | Permission::InvoicesRead
                | Permission::PaymentsRead
                | Permission::LedgerRead
                | Permission::DunningRead
                | Permission::DisputesRead
                | Permission::ReportsRead
                | Permission::OperationsRead
        )
    }
}

use Permission::*;

const ALL_READS: &[Permission] = &[
    CustomersRead,
    OrdersRead,
    InvoicesRead,
    PaymentsRead,
    LedgerRead,
    DunningRead,
    DisputesRead,
    ReportsRead,
    OperationsRead,
];

/// The authorization matrix: what each role may do.
pub const fn permissions_of(role: Role) -> &'static [Permission] {
    match role {
        Role::SalesAssociate => &[CustomersRead, OrdersRead, OrdersWrite],
        Role::CustomerServiceRepresentative => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            LedgerRead,
            DisputesRead,
            DisputesWrite,
        ],
        Role::ArClerk => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            InvoicesWrite,
            CreditNotesWrite,
            TaxAndFxWrite,
            PaymentsRead,
            LedgerRead,
        ],
        Role::CashApplicationSpecialist => &[
            CustomersRead,
            InvoicesRead,
            PaymentsRead,
            PaymentsWrite,
            StatementsImport,
            CashApplicationWork,
            RefundsWrite,
            LedgerRead,
        ],
        Role::Collector => &[
            CustomersRead,
            InvoicesRead,
            PaymentsRead,
            LedgerRead,
            DunningRead,
            DunningWork,
            DisputesRead,
            DisputesWrite,
            PromisesToPayWrite,
            WriteOffsRequest,
        ],
        Role::CreditManager => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            PaymentsRead,
            LedgerRead,
            CreditLimitsWrite,
            CreditHoldsRelease,
            DunningRead,
            DisputesRead,
            WriteOffsApprove,
            ReportsRead,
        ],
        Role::Executive => ALL_READS,
        Role::TenantAdmin => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            PaymentsRead,
            LedgerRead,
            DunningRead,
            DisputesRead,
            ReportsRead,
            OperationsRead,
            OperationsWrite,
            ConfigurationWrite,
        ],
        Role::Service => &[
            CreditCheck,
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            LedgerRead,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_may_do_something_and_parses_back() {
        for role in Role::ALL {
            assert!(!permissions_of(role).is_empty(), "{role}");
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!(
            "cfo"
                .parse::<Role>()
                .unwrap_err()
                .contains("expected one of")
        );
    }

    #[test]
    fn executives_only_read() {
        assert!(
            permissions_of(Role::Executive)
                .iter()
                .all(|permission| permission.is_read())
        );
    }

    #[test]
    fn write_offs_need_two_people() {
        for role in Role::ALL {
            let permissions = permissions_of(role);
            assert!(
                !(permissions.contains(&WriteOffsRequest)
                    && permissions.contains(&WriteOffsApprove)),
                "{role} could both request and approve a write-off"
            );
        }
        assert!(permissions_of(Role::Collector).contains(&WriteOffsRequest));
        assert!(!permissions_of(Role::Collector).contains(&WriteOffsApprove));
        assert!(permissions_of(Role::CreditManager).contains(&WriteOffsApprove));
    }
}
