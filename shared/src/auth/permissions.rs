//! What each role may do: the one roles-to-permissions matrix of the suite.
//! Handlers ask for a [`Permission`], never for a role, so the matrix below
//! is the only place a role's reach is decided.
//!
//! | role | writes | reads |
//! |---|---|---|
//! | sales associate | orders | customers, orders |
//! | customer service representative | disputes (intake) | customer status: customers, orders, invoices, payments, ledger, disputes, worklists |
//! | AR clerk | invoices, credit/debit notes | customers, orders, invoices, payments, ledger, reports |
//! | cash application specialist | payments, statement import, cash application (unmatched receipts), refunds | customers, invoices, payments, ledger |
//! | collector | dunning (work), own worklist (work, contacts), disputes, promises to pay, write-off *requests* | customers, invoices, payments, ledger, dunning, disputes, reports |
//! | credit manager | credit limits, credit holds (release), write-off *approval*, worklist assignment | customers, orders, invoices, payments, ledger, dunning, disputes, worklists, reports |
//! | executive / CFO | nothing | every read, reports |
//! | tenant admin | configuration (incl. tax rules and FX rates), operations, customer master data | every read |
//! | service | credit check, credit notes (a dispute's resolution) | customers, orders, invoices, ledger |
//!
//! Segregation of duties: the collector who requests a write-off cannot
//! approve it, and the credit manager who approves cannot request it; no
//! role holds both. Executives never write.
//!
//! Worklists: `worklist.work` is a collector's own list (reading it and
//! recording contacts); `worklist.read` is every collector's list and the
//! unassigned customers, read-only; `worklist.assign` sets the rules and
//! the manual assignments that decide who works whom.

use super::Role;

/// Something a call needs to be allowed to do. Named `<resource>.<action>`.
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
    WorklistRead,
    WorklistWork,
    WorklistAssign,
    WriteOffsRequest,
    WriteOffsApprove,
    ReportsRead,
    ConfigurationWrite,
    OperationsRead,
    OperationsWrite,
}

use Permission::*;

impl Permission {
    pub const ALL: [Permission; 31] = [
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
        WorklistRead,
        WorklistWork,
        WorklistAssign,
        WriteOffsRequest,
        WriteOffsApprove,
        ReportsRead,
        ConfigurationWrite,
        OperationsRead,
        OperationsWrite,
    ];

    /// The stable name used in refusals, audit records and logs.
    pub const fn name(self) -> &'static str {
        match self {
            CustomersRead => "customers.read",
            CustomersWrite => "customers.write",
            OrdersRead => "orders.read",
            OrdersWrite => "orders.write",
            CreditHoldsRelease => "credit_holds.release",
            InvoicesRead => "invoices.read",
            InvoicesWrite => "invoices.write",
            CreditNotesWrite => "credit_notes.write",
            TaxAndFxWrite => "tax_and_fx.write",
            PaymentsRead => "payments.read",
            PaymentsWrite => "payments.write",
            StatementsImport => "statements.import",
            CashApplicationWork => "cash_application.work",
            RefundsWrite => "refunds.write",
            LedgerRead => "ledger.read",
            CreditLimitsWrite => "credit_limits.write",
            CreditCheck => "credit.check",
            DunningRead => "dunning.read",
            DunningWork => "dunning.work",
            DisputesRead => "disputes.read",
            DisputesWrite => "disputes.write",
            PromisesToPayWrite => "promises_to_pay.write",
            WorklistRead => "worklist.read",
            WorklistWork => "worklist.work",
            WorklistAssign => "worklist.assign",
            WriteOffsRequest => "write_offs.request",
            WriteOffsApprove => "write_offs.approve",
            ReportsRead => "reports.read",
            ConfigurationWrite => "configuration.write",
            OperationsRead => "operations.read",
            OperationsWrite => "operations.write",
        }
    }

    /// Whether the permission only reads. A credit check reads too, but it is
    /// a service-to-service decision, not a figure, so it is not counted
    /// among the reads an executive gets.
    pub const fn is_read(self) -> bool {
        matches!(
            self,
            CustomersRead
                | OrdersRead
                | InvoicesRead
                | PaymentsRead
                | LedgerRead
                | DunningRead
                | DisputesRead
                | WorklistRead
                | ReportsRead
                | OperationsRead
        )
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Every read: what an executive sees.
const ALL_READS: &[Permission] = &[
    CustomersRead,
    OrdersRead,
    InvoicesRead,
    PaymentsRead,
    LedgerRead,
    DunningRead,
    DisputesRead,
    WorklistRead,
    ReportsRead,
    OperationsRead,
];

/// The authorization matrix: what each role may do (see the module table).
pub const fn permissions_of(role: Role) -> &'static [Permission] {
    match role {
        Role::SalesAssociate => &[CustomersRead, OrdersRead, OrdersWrite],
        Role::CustomerServiceRepresentative => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            PaymentsRead,
            LedgerRead,
            DisputesRead,
            DisputesWrite,
            WorklistRead,
        ],
        Role::ArClerk => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            InvoicesWrite,
            CreditNotesWrite,
            PaymentsRead,
            LedgerRead,
            ReportsRead,
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
            WorklistWork,
            ReportsRead,
        ],
        Role::CreditManager => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            PaymentsRead,
            LedgerRead,
            DunningRead,
            DisputesRead,
            WorklistRead,
            ReportsRead,
            CreditLimitsWrite,
            CreditHoldsRelease,
            WriteOffsApprove,
            WorklistAssign,
        ],
        Role::Executive => ALL_READS,
        // Customer master data (currency, tax region, payment terms, mandate)
        // decides what gets invoiced and collected, so it sits with the admin
        // rather than with sales.
        Role::TenantAdmin => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            PaymentsRead,
            LedgerRead,
            DunningRead,
            DisputesRead,
            WorklistRead,
            ReportsRead,
            OperationsRead,
            CustomersWrite,
            ConfigurationWrite,
            TaxAndFxWrite,
            OperationsWrite,
        ],
        Role::Service => &[
            CustomersRead,
            OrdersRead,
            InvoicesRead,
            LedgerRead,
            CreditCheck,
            // Collections asks billing for the credit note a dispute resolves to.
            CreditNotesWrite,
        ],
    }
}

impl Role {
    /// This role's row of the matrix.
    pub const fn permissions(self) -> &'static [Permission] {
        permissions_of(self)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn may(role: Role, permission: Permission) -> bool {
        permissions_of(role).contains(&permission)
    }

    #[test]
    fn every_role_may_do_something() {
        for role in Role::ALL {
            assert!(!permissions_of(role).is_empty(), "{role} may do nothing");
        }
    }

    #[test]
    fn every_permission_is_held_by_some_role() {
        for permission in Permission::ALL {
            assert!(
                Role::ALL.into_iter().any(|role| may(role, permission)),
                "nobody holds {permission}"
            );
        }
    }

    #[test]
    fn names_are_unique_and_say_whether_they_read() {
        let names: HashSet<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names.len(), Permission::ALL.len());
        for permission in Permission::ALL {
            assert_eq!(
                permission.is_read(),
                permission.name().ends_with(".read"),
                "{permission}"
            );
        }
    }

    #[test]
    fn executives_read_everything_and_never_write() {
        for permission in Permission::ALL {
            assert_eq!(
                may(Role::Executive, permission),
                permission.is_read(),
                "{permission}"
            );
        }
    }

    #[test]
    fn a_write_off_needs_two_people() {
        for role in Role::ALL {
            assert!(
                !(may(role, WriteOffsRequest) && may(role, WriteOffsApprove)),
                "{role} could both request and approve a write-off"
            );
        }
        assert!(may(Role::Collector, WriteOffsRequest));
        assert!(!may(Role::Collector, WriteOffsApprove));
        assert!(may(Role::CreditManager, WriteOffsApprove));
        assert!(!may(Role::CreditManager, WriteOffsRequest));
    }

    #[test]
    fn rows_follow_the_design() {
        assert!(may(Role::SalesAssociate, OrdersWrite));
        assert!(!may(Role::SalesAssociate, CreditHoldsRelease));
        assert!(may(Role::CustomerServiceRepresentative, DisputesWrite));
        assert!(!may(Role::CustomerServiceRepresentative, CreditNotesWrite));
        assert!(may(Role::ArClerk, CreditNotesWrite));
        assert!(!may(Role::ArClerk, TaxAndFxWrite));
        assert!(may(Role::TenantAdmin, TaxAndFxWrite));
        assert!(!may(Role::ArClerk, CashApplicationWork));
        assert!(may(Role::CashApplicationSpecialist, CashApplicationWork));
        assert!(may(Role::CashApplicationSpecialist, StatementsImport));
        assert!(may(Role::Collector, PromisesToPayWrite));
        assert!(may(Role::CreditManager, CreditLimitsWrite));
        assert!(may(Role::CreditManager, CreditHoldsRelease));
        assert!(may(Role::TenantAdmin, ConfigurationWrite));
        assert!(may(Role::Service, CreditCheck));
        // Only services run credit checks; people see exposure in the ledger.
        for role in Role::ALL {
            assert_eq!(may(role, CreditCheck), role == Role::Service, "{role}");
        }
    }

    #[test]
    fn collectors_work_their_own_list_and_credit_managers_assign() {
        // A collector works (reads and records contacts on) their own list
        // only; reading every list is for oversight and customer service.
        assert!(may(Role::Collector, WorklistWork));
        assert!(!may(Role::Collector, WorklistRead));
        assert!(!may(Role::Collector, WorklistAssign));
        assert!(may(Role::CreditManager, WorklistRead));
        assert!(may(Role::CreditManager, WorklistAssign));
        assert!(!may(Role::CreditManager, WorklistWork));
        assert!(may(Role::CustomerServiceRepresentative, WorklistRead));
        assert!(!may(Role::CustomerServiceRepresentative, WorklistWork));
        assert!(!may(Role::CustomerServiceRepresentative, WorklistAssign));
        assert!(may(Role::Executive, WorklistRead));
        for role in Role::ALL {
            assert_eq!(may(role, WorklistWork), role == Role::Collector, "{role}");
            assert_eq!(
                may(role, WorklistAssign),
                role == Role::CreditManager,
                "{role}"
            );
        }
    }

    #[test]
    fn reports_are_read_by_executives_collectors_ar_clerks_and_credit_managers() {
        for role in [
            Role::Executive,
            Role::Collector,
            Role::ArClerk,
            Role::CreditManager,
            Role::TenantAdmin,
        ] {
            assert!(may(role, ReportsRead), "{role}");
        }
        for role in [
            Role::SalesAssociate,
            Role::CustomerServiceRepresentative,
            Role::CashApplicationSpecialist,
            Role::Service,
        ] {
            assert!(!may(role, ReportsRead), "{role}");
        }
    }

    #[test]
    fn no_row_lists_a_permission_twice() {
        for role in Role::ALL {
            let unique: HashSet<&Permission> = permissions_of(role).iter().collect();
            assert_eq!(unique.len(), permissions_of(role).len(), "{role}");
        }
    }
}
