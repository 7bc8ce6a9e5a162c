#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The role matrix, end to end: every role of the suite calls, through the
//! five services running as processes, one gRPC method guarded by each
//! permission of the matrix (`otc_shared::auth::permissions_of`). A role
//! holding the permission gets past the guard (the request itself is empty,
//! so it ends in a validation error or a harmless answer, never in a
//! change); a role without it gets `PERMISSION_DENIED`. Every permission of
//! the matrix must have a probe here, so a permission added later is
//! covered or this test fails.

use std::collections::BTreeSet;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use otc_proto::billing::billing_config_service_client::BillingConfigServiceClient;
use otc_proto::billing::invoice_service_client::InvoiceServiceClient;
use otc_proto::billing::{
    GetInvoiceRequest, ImportEcbRatesRequest, IssueCreditNoteRequest, ReleaseHeldInvoiceRequest,
};
use otc_proto::collections::credit_limit_service_client::CreditLimitServiceClient;
use otc_proto::collections::credit_service_client::CreditServiceClient;
use otc_proto::collections::dispute_service_client::DisputeServiceClient;
use otc_proto::collections::dunning_service_client::DunningServiceClient;
use otc_proto::collections::ledger_service_client::LedgerServiceClient;
use otc_proto::collections::promise_service_client::PromiseServiceClient;
use otc_proto::collections::worklist_service_client::WorklistServiceClient;
use otc_proto::collections::write_off_service_client::WriteOffServiceClient;
use otc_proto::collections::{
    AddDisputeNoteRequest, AssignCustomerRequest, CheckCreditRequest, DecideWriteOffRequest,
    EvaluatePromisesRequest, GetCollectionsSettingsRequest, GetCustomerLedgerRequest,
    GetDunningContactRequest, GetDunningNoticeRequest, GetWorklistRequest, RecordContactRequest,
    RequestWriteOffRequest, SetCreditLimitRequest,
};
use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::order_service_client::OrderServiceClient;
use otc_proto::order::pricing_service_client::PricingServiceClient;
use otc_proto::order::{
    CancelOrderRequest, CreateCustomerRequest, GetCustomerRequest, GetOrderRequest,
    ReleaseCreditHoldRequest, SetListPriceRequest,
};
use otc_proto::payments::direct_debit_service_client::DirectDebitServiceClient;
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::payments::{
    ApplyReceiptRequest, CreateMandateRequest, GetBatchFileRequest, ImportStatementRequest,
    IssueRefundRequest,
};
use otc_proto::reporting::read_model_service_client::ReadModelServiceClient;
use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::{GetAgingRequest, GetReadModelStatusRequest, RebuildReadModelsRequest};
use otc_shared::auth::{Permission, Role};
use otc_testkit::process::ServiceProcess;
use otc_testkit::unique_suffix;
use otc_testkit::whole::WholeSuite;

use Permission::*;

/// Each probe: a method, and the permissions that let a caller past its guard.
const PROBES: &[(&str, &[Permission])] = &[
    ("order GetCustomer", &[CustomersRead]),
    ("order CreateCustomer", &[CustomersWrite]),
    ("order GetOrder", &[OrdersRead]),
    ("order CancelOrder", &[OrdersWrite]),
    ("order ReleaseCreditHold", &[CreditHoldsRelease]),
    ("order SetListPrice", &[ConfigurationWrite]),
    ("billing GetInvoice", &[InvoicesRead]),
    ("billing ReleaseHeldInvoice", &[InvoicesWrite]),
    ("billing IssueCreditNote", &[CreditNotesWrite]),
    ("billing ImportEcbRates", &[TaxAndFxWrite]),
    ("payments GetBatchFile", &[PaymentsRead]),
    ("payments CreateMandate", &[PaymentsWrite]),
    ("payments ImportStatement", &[StatementsImport]),
    ("payments ApplyReceipt", &[CashApplicationWork]),
    ("payments IssueRefund", &[RefundsWrite]),
    ("collections GetCustomerLedger", &[LedgerRead]),
    ("collections SetCreditLimit", &[CreditLimitsWrite]),
    ("collections CheckCredit", &[CreditCheck]),
    ("collections GetDunningContact", &[DunningRead]),
    ("collections RetryDunningNotice", &[DunningWork]),
    ("collections GetCollectionsSettings", &[DisputesRead]),
    ("collections AddDisputeNote", &[DisputesWrite]),
    ("collections EvaluatePromises", &[PromisesToPayWrite]),
    ("collections GetWorklist", &[WorklistRead, WorklistWork]),
    ("collections RecordContact", &[WorklistWork]),
    ("collections AssignCustomer", &[WorklistAssign]),
    ("collections RequestWriteOff", &[WriteOffsRequest]),
    ("collections ApproveWriteOff", &[WriteOffsApprove]),
    ("reporting GetAging", &[ReportsRead]),
    ("reporting GetReadModelStatus", &[OperationsRead]),
    ("reporting RebuildReadModels", &[OperationsWrite]),
];

struct Channels {
    order: Channel,
    billing: Channel,
    payments: Channel,
    collections: Channel,
    reporting: Channel,
}

fn channel(process: &ServiceProcess) -> Channel {
    Endpoint::from_shared(process.grpc_url())
        .unwrap()
        .connect_lazy()
}

async fn call(probe: &str, channels: &Channels, tenant: &str, role: Role) -> Result<(), Status> {
    macro_rules! ask {
        ($client:ident, $channel:ident, $method:ident, $message:expr) => {
            $client::new(channels.$channel.clone())
                .$method(otc_testkit::billing::request($message, tenant, &[role]))
                .await
                .map(|_| ())
        };
    }
    match probe {
        "order GetCustomer" => ask!(
            CustomerServiceClient,
            order,
            get_customer,
            GetCustomerRequest::default()
        ),
        "order CreateCustomer" => ask!(
            CustomerServiceClient,
            order,
            create_customer,
            CreateCustomerRequest::default()
        ),
        "order GetOrder" => ask!(
            OrderServiceClient,
            order,
            get_order,
            GetOrderRequest::default()
        ),
        "order CancelOrder" => ask!(
            OrderServiceClient,
            order,
            cancel_order,
            CancelOrderRequest::default()
        ),
        "order ReleaseCreditHold" => ask!(
            OrderServiceClient,
            order,
            release_credit_hold,
            ReleaseCreditHoldRequest::default()
        ),
        "order SetListPrice" => ask!(
            PricingServiceClient,
            order,
            set_list_price,
            SetListPriceRequest::default()
        ),
        "billing GetInvoice" => ask!(
            InvoiceServiceClient,
            billing,
            get_invoice,
            GetInvoiceRequest::default()
        ),
        "billing ReleaseHeldInvoice" => ask!(
            InvoiceServiceClient,
            billing,
            release_held_invoice,
            ReleaseHeldInvoiceRequest::default()
        ),
        "billing IssueCreditNote" => ask!(
            InvoiceServiceClient,
            billing,
            issue_credit_note,
            IssueCreditNoteRequest::default()
        ),
        "billing ImportEcbRates" => ask!(
            BillingConfigServiceClient,
            billing,
            import_ecb_rates,
            ImportEcbRatesRequest::default()
        ),
        "payments GetBatchFile" => ask!(
            DirectDebitServiceClient,
            payments,
            get_batch_file,
            GetBatchFileRequest::default()
        ),
        "payments CreateMandate" => ask!(
            DirectDebitServiceClient,
            payments,
            create_mandate,
            CreateMandateRequest::default()
        ),
        "payments ImportStatement" => ask!(
            PaymentServiceClient,
            payments,
            import_statement,
            ImportStatementRequest::default()
        ),
        "payments ApplyReceipt" => ask!(
            PaymentServiceClient,
            payments,
            apply_receipt,
            ApplyReceiptRequest::default()
        ),
        "payments IssueRefund" => ask!(
            PaymentServiceClient,
            payments,
            issue_refund,
            IssueRefundRequest::default()
        ),
        "collections GetCustomerLedger" => ask!(
            LedgerServiceClient,
            collections,
            get_customer_ledger,
            GetCustomerLedgerRequest::default()
        ),
        "collections SetCreditLimit" => ask!(
            CreditLimitServiceClient,
            collections,
            set_credit_limit,
            SetCreditLimitRequest::default()
        ),
        "collections CheckCredit" => ask!(
            CreditServiceClient,
            collections,
            check_credit,
            CheckCreditRequest::default()
        ),
        "collections GetDunningContact" => ask!(
            DunningServiceClient,
            collections,
            get_dunning_contact,
            GetDunningContactRequest::default()
        ),
        "collections RetryDunningNotice" => ask!(
            DunningServiceClient,
            collections,
            retry_dunning_notice,
            GetDunningNoticeRequest::default()
        ),
        "collections GetCollectionsSettings" => ask!(
            DisputeServiceClient,
            collections,
            get_collections_settings,
            GetCollectionsSettingsRequest::default()
        ),
        "collections AddDisputeNote" => ask!(
            DisputeServiceClient,
            collections,
            add_dispute_note,
            AddDisputeNoteRequest::default()
        ),
        "collections EvaluatePromises" => ask!(
            PromiseServiceClient,
            collections,
            evaluate_promises,
            EvaluatePromisesRequest::default()
        ),
        "collections GetWorklist" => ask!(
            WorklistServiceClient,
            collections,
            get_worklist,
            GetWorklistRequest::default()
        ),
        "collections RecordContact" => ask!(
            WorklistServiceClient,
            collections,
            record_contact,
            RecordContactRequest::default()
        ),
        "collections AssignCustomer" => ask!(
            WorklistServiceClient,
            collections,
            assign_customer,
            AssignCustomerRequest::default()
        ),
        "collections RequestWriteOff" => ask!(
            WriteOffServiceClient,
            collections,
            request_write_off,
            RequestWriteOffRequest::default()
        ),
        "collections ApproveWriteOff" => ask!(
            WriteOffServiceClient,
            collections,
            approve_write_off,
            DecideWriteOffRequest::default()
        ),
        "reporting GetAging" => ask!(
            ReportingServiceClient,
            reporting,
            get_aging,
            GetAgingRequest::default()
        ),
        "reporting GetReadModelStatus" => ask!(
            ReadModelServiceClient,
            reporting,
            get_read_model_status,
            GetReadModelStatusRequest::default()
        ),
        "reporting RebuildReadModels" => ask!(
            ReadModelServiceClient,
            reporting,
            rebuild_read_models,
            RebuildReadModelsRequest::default()
        ),
        other => panic!("no probe named {other}"),
    }
}

#[tokio::test]
async fn every_role_can_do_exactly_what_the_matrix_allows_in_every_service() {
    let probed: BTreeSet<&str> = PROBES
        .iter()
        .flat_map(|(_, permissions)| permissions.iter().map(|permission| permission.name()))
        .collect();
    let unprobed: Vec<&str> = Permission::ALL
        .iter()
        .map(|permission| permission.name())
        .filter(|name| !probed.contains(name))
        .collect();
    assert!(
        unprobed.is_empty(),
        "permissions without a probe: {unprobed:?}"
    );

    let suite = WholeSuite::start().await;
    let channels = Channels {
        order: channel(&suite.order),
        billing: channel(&suite.billing),
        payments: channel(&suite.payments),
        collections: channel(&suite.collections),
        reporting: channel(&suite.reporting),
    };
    let tenant = format!("rol-{}", &unique_suffix()[..8]);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for role in Role::ALL {
        for (probe, permissions) in PROBES {
            let allowed = permissions
                .iter()
                .any(|permission| role.permissions().contains(permission));
            let result = call(probe, &channels, &tenant, role).await;
            let code = result.as_ref().err().map_or(Code::Ok, Status::code);
            let fine = if allowed {
                // Past the guard: an empty request is refused for what it
                // lacks, or answered; never a server fault.
                matches!(
                    code,
                    Code::Ok | Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition
                )
            } else {
                code == Code::PermissionDenied
            };
            if !fine {
                wrong.push(format!(
                    "{role} {probe}: {} expected, got {code:?} ({})",
                    if allowed { "allowed" } else { "refused" },
                    result
                        .err()
                        .map(|status| status.message().to_owned())
                        .unwrap_or_default()
                ));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, Role::ALL.len() * PROBES.len());
    assert!(
        wrong.is_empty(),
        "{} of {checked} calls broke the matrix:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Without a token, every service refuses before anything else.
    let anonymous = [
        CustomerServiceClient::new(channels.order.clone())
            .get_customer(GetCustomerRequest::default())
            .await
            .map(|_| ()),
        InvoiceServiceClient::new(channels.billing.clone())
            .get_invoice(GetInvoiceRequest::default())
            .await
            .map(|_| ()),
        DirectDebitServiceClient::new(channels.payments.clone())
            .get_batch_file(GetBatchFileRequest::default())
            .await
            .map(|_| ()),
        LedgerServiceClient::new(channels.collections.clone())
            .get_customer_ledger(GetCustomerLedgerRequest::default())
            .await
            .map(|_| ()),
        ReportingServiceClient::new(channels.reporting.clone())
            .get_aging(GetAgingRequest::default())
            .await
            .map(|_| ()),
    ];
    for (service, result) in ["order", "billing", "payments", "collections", "reporting"]
        .iter()
        .zip(anonymous)
    {
        assert_eq!(
            result.unwrap_err().code(),
            Code::Unauthenticated,
            "{service} without a token"
        );
    }
}
