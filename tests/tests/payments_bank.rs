#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Money from banks and providers into the payments service, for real:
//! camt.053, MT940 and BAI2 statements imported over gRPC (all or nothing,
//! once per statement), signed provider webhooks (bad signature, stale
//! timestamp, replayed id, bad payload, chargeback), and SEPA direct debit
//! from mandate to a schema-valid pain.008 batch, settled and returned by a
//! camt.054 notification.

use std::time::Duration;

use rust_decimal::Decimal;
use tonic::Code;
use uuid::Uuid;

use otc_proto::payments::*;
use otc_shared::auth::Role;
use otc_testkit::payments::{IssuedInvoice, PaymentsSuite};
use otc_testkit::statements::{Line, camt053, camt054};

const WAIT: Duration = Duration::from_secs(60);
const OWN_IBAN: &str = "DE89370400440532013000";

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

async fn invoice(
    suite: &PaymentsSuite,
    customer: &str,
    number: &str,
    total: &str,
    due: &str,
) -> String {
    let invoice_id = id();
    suite
        .invoice(&IssuedInvoice {
            invoice_id: &invoice_id,
            number,
            customer_id: customer,
            total,
            currency: "EUR",
            issue_date: "2026-10-01",
            due_date: due,
            discount_date: "",
            discount_amount: "0",
        })
        .await;
    invoice_id
}

async fn wait_for_items(suite: &PaymentsSuite, expected: i64) {
    let seen = suite
        .wait_for_count("SELECT count(*) FROM open_items", expected, WAIT)
        .await;
    assert_eq!(seen, expected, "the invoices were not projected");
}

async fn import(
    suite: &PaymentsSuite,
    content: &str,
) -> Result<ImportStatementResponse, tonic::Status> {
    suite
        .payments()
        .import_statement(suite.as_role(
            ImportStatementRequest {
                format: String::new(),
                file_name: "statement.xml".into(),
                content: content.as_bytes().to_vec(),
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_camt053_statement_is_imported_once_and_cash_applied() {
    let suite = PaymentsSuite::start("pay_camt", &[]).await;
    let customer = id();
    suite
        .customer(
            &customer,
            "Hoffmann Elektro GmbH",
            &["DE02 1203 0000 0000 2020 51"],
        )
        .await;
    let first = invoice(
        &suite,
        &customer,
        "INV-2026-000701",
        "1190.00",
        "2026-11-30",
    )
    .await;
    let second = invoice(&suite, &customer, "INV-2026-000702", "238.00", "2026-11-30").await;
    wait_for_items(&suite, 2).await;
    let mut fee = Line::credit("FEE-1", "12.50", "Bank", OWN_IBAN, "account fee");
    fee.credit = false;
    let lines = vec![
        Line::credit(
            "E1",
            "1190.00",
            "Hoffmann Elektro",
            "DE02120300000000202051",
            "RE INV-2026-000701",
        ),
        Line::credit(
            "E2",
            "238.00",
            "HOFFMANN ELEKTRO GMBH",
            "DE02120300000000202051",
            "Danke",
        ),
        Line::credit(
            "E3",
            "77.70",
            "Somebody Else",
            "FR1420041010050500013M02606",
            "gift",
        ),
        fee,
    ];
    let file = camt053("STMT-2026-11-02", OWN_IBAN, dec("5000"), &lines);
    let response = import(&suite, &file).await.unwrap();
    assert_eq!(response.format, "camt.053");
    let statement = &response.statements[0];
    assert!(statement.imported);
    assert_eq!(statement.receipts, 3);
    assert_eq!(statement.auto_applied, 2, "{response:#?}");
    assert_eq!(statement.exceptions, 1);
    assert_eq!(statement.skipped_debits, 1);
    let open: Decimal = suite
        .scalar(&format!(
            "SELECT SUM(open_amount) FROM open_items WHERE id IN ('{first}', '{second}')"
        ))
        .await;
    assert_eq!(open, Decimal::ZERO);

    // The same statement again (a re-sent file) imports nothing.
    let again = import(&suite, &file).await.unwrap();
    assert!(!again.statements[0].imported);
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 3);
    let events = suite
        .payment_events("otc.payments.v1.PaymentReceived", 4, Duration::from_secs(8))
        .await;
    assert_eq!(events.len(), 3);
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn a_malformed_statement_is_refused_with_its_place_and_imports_nothing() {
    let suite = PaymentsSuite::start("pay_camt_bad", &[]).await;
    let lines = vec![
        Line::credit("E1", "10.00", "A", "DE02120300000000202051", "x"),
        Line::credit("E2", "20.00", "B", "DE02120300000000202051", "y"),
    ];
    let good = camt053("STMT-BAD", OWN_IBAN, dec("0"), &lines);
    // A bad amount in the second entry: the first must not be imported either.
    let bad_amount = good.replacen(
        "<Amt Ccy=\"EUR\">20.00</Amt>",
        "<Amt Ccy=\"EUR\">20,0x</Amt>",
        1,
    );
    let error = import(&suite, &bad_amount).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().contains("content"), "{}", error.message());
    assert!(
        error.message().contains("Ntry"),
        "no element path: {}",
        error.message()
    );
    // Closing balance that does not reconcile.
    let unbalanced = good.replacen(
        "<Amt Ccy=\"EUR\">30.00</Amt>",
        "<Amt Ccy=\"EUR\">31.00</Amt>",
        1,
    );
    let error = import(&suite, &unbalanced).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
    // Not a statement at all.
    let error = import(&suite, "hello, bank").await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    let statements: i64 = suite.scalar("SELECT count(*) FROM statements").await;
    assert_eq!((receipts, statements), (0, 0));
    // The good file still imports.
    let response = import(&suite, &good).await.unwrap();
    assert_eq!(response.statements[0].receipts, 2);
}

#[tokio::test]
async fn mt940_and_bai2_files_become_receipts_too() {
    let suite = PaymentsSuite::start("pay_mt940", &[]).await;
    let mt940 = include_str!("../../services/payments/formats/tests/fixtures/mt940.sta");
    let bai2 = include_str!("../../services/payments/formats/tests/fixtures/bai2.txt");
    let mut imported_receipts = 0;
    for (format, content) in [("MT940", mt940), ("BAI2", bai2)] {
        let statements =
            otc_bank_formats::parse(format.parse().unwrap(), content.as_bytes()).unwrap();
        let credits: u32 = statements
            .iter()
            .flat_map(|statement| &statement.entries)
            .filter(|entry| {
                matches!(entry.direction, otc_bank_formats::Direction::Credit) && !entry.reversal
            })
            .map(|entry| u32::try_from(entry.transactions.len()).unwrap())
            .sum();
        let response = import(&suite, content).await.unwrap();
        assert_eq!(response.format, format);
        let receipts: u32 = response
            .statements
            .iter()
            .map(|statement| statement.receipts)
            .sum();
        assert_eq!(receipts, credits, "{format}: {response:#?}");
        imported_receipts += i64::from(receipts);
    }
    let stored: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(stored, imported_receipts);
    suite.assert_cash_balances().await;
}

fn signed_post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    timestamp: i64,
    body: &str,
) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header(
            otc_shared::signing::SIGNATURE_HEADER,
            otc_shared::signing::sign(secret.as_bytes(), timestamp, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body.to_owned())
}

#[tokio::test]
async fn provider_webhooks_are_signed_fresh_and_applied_once() {
    let suite = PaymentsSuite::start("pay_hook", &[]).await;
    let customer = id();
    suite.customer(&customer, "Webshop Kunde GmbH", &[]).await;
    let invoice_id = invoice(&suite, &customer, "INV-2026-000801", "49.90", "2026-11-30").await;
    wait_for_items(&suite, 1).await;
    let provider = suite
        .payments()
        .register_webhook_provider(suite.as_role(
            RegisterWebhookProviderRequest {
                provider: "cardpay".into(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(provider.secret.starts_with("whsec_"));
    let url = suite.webhook_url(&provider.path);
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let body = format!(
        r#"{{"id":"evt_1","type":"payment.succeeded","data":{{"payment_id":"pay_1",
            "amount":"49.90","currency":"EUR","customer_id":"{customer}",
            "description":"Order 123 / INV-2026-000801"}}}}"#
    );

    let wrong = signed_post(&http, &url, "whsec_wrong", now, &body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let stale = signed_post(&http, &url, &provider.secret, now - 3_600, &body)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    assert!(stale.text().await.unwrap().contains("old"));
    let unsigned = http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 0, "a refused webhook recorded something");

    let accepted = signed_post(&http, &url, &provider.secret, now, &body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let answer: serde_json::Value = serde_json::from_str(&accepted.text().await.unwrap()).unwrap();
    assert_eq!(answer["match_state"], "auto", "{answer}");
    // The provider retries the same event: nothing new.
    let replay = signed_post(&http, &url, &provider.secret, now, &body)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    let replay: serde_json::Value = serde_json::from_str(&replay.text().await.unwrap()).unwrap();
    assert_eq!(replay["duplicate"], true);
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 1);
    let open: Decimal = suite
        .scalar(&format!(
            "SELECT open_amount FROM open_items WHERE id = '{invoice_id}'"
        ))
        .await;
    assert_eq!(open, Decimal::ZERO);

    // A signed but invalid payload names its fields and records nothing.
    let invalid =
        r#"{"id":"evt_2","type":"payment.succeeded","data":{"payment_id":"pay_2","amount":12.5}}"#;
    let response = signed_post(&http, &url, &provider.secret, now, invalid)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("data.amount") && text.contains("data.currency"),
        "{text}"
    );

    // A chargeback reverses the payment and re-opens the invoice.
    let chargeback = r#"{"id":"evt_3","type":"chargeback.created","data":{"payment_id":"pay_1","reason":"fraudulent"}}"#;
    let response = signed_post(&http, &url, &provider.secret, now, chargeback)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let open: Decimal = suite
        .scalar(&format!(
            "SELECT open_amount FROM open_items WHERE id = '{invoice_id}'"
        ))
        .await;
    assert_eq!(open, dec("49.90"));
    let reversed = suite
        .payment_events("otc.payments.v1.PaymentReversed", 1, WAIT)
        .await;
    assert_eq!(reversed.len(), 1);
    suite.assert_cash_balances().await;
}

fn xsd_valid(xml: &[u8]) -> Result<(), String> {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/payments/formats");
    let file = std::env::temp_dir().join(format!("pain008-{}.xml", id()));
    std::fs::write(&file, xml).unwrap();
    let output = std::process::Command::new("java")
        .arg(root.join("tests/xsd/Validate.java"))
        .arg(root.join("schemas/pain.008.001.02.xsd"))
        .arg(&file)
        .output()
        .map_err(|error| format!("java: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[tokio::test]
async fn direct_debit_runs_from_mandate_to_pain008_and_camt054_settles_and_returns() {
    let suite = PaymentsSuite::start("pay_dd", &[]).await;
    let direct_debit = suite.direct_debit();
    let customer = id();
    suite.customer(&customer, "Erika Mustermann", &[]).await;
    let settled_invoice =
        invoice(&suite, &customer, "INV-2026-000901", "49.90", "2026-11-01").await;
    let returned_invoice =
        invoice(&suite, &customer, "INV-2026-000902", "120.00", "2026-11-01").await;
    let not_due = invoice(&suite, &customer, "INV-2026-000903", "10.00", "2099-01-01").await;
    wait_for_items(&suite, 3).await;

    let mut client = direct_debit.clone();
    let no_creditor = client
        .run_collection(suite.as_role(
            RunCollectionRequest::default(),
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap_err();
    assert_eq!(no_creditor.code(), Code::FailedPrecondition);
    let bad_creditor = client
        .set_creditor(suite.as_role(
            Creditor {
                name: "OTC Demo AG".into(),
                iban: "DE89370400440532013001".into(),
                bic: String::new(),
                creditor_id: "DE97ZZZ09999999999".into(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_creditor.code(), Code::InvalidArgument);
    assert!(
        bad_creditor.message().contains("iban") && bad_creditor.message().contains("creditor_id")
    );
    client
        .set_creditor(suite.as_role(
            Creditor {
                name: "OTC Demo AG".into(),
                iban: OWN_IBAN.into(),
                bic: "COBADEFFXXX".into(),
                creditor_id: "DE98ZZZ09999999999".into(),
            },
            Role::TenantAdmin,
        ))
        .await
        .unwrap();
    let mandate = client
        .create_mandate(suite.as_role(
            CreateMandateRequest {
                customer_id: customer.clone(),
                reference: "MNDT-2026-0001".into(),
                debtor_name: "Erika Mustermann".into(),
                iban: "DE02 1203 0000 0000 2020 51".into(),
                bic: String::new(),
                signed_on: "2026-01-15".into(),
                sequence_type: SequenceType::Rcur.into(),
            },
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mandate.sequence_type(), SequenceType::Frst);

    let batch = client
        .run_collection(suite.as_role(
            RunCollectionRequest::default(),
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.collections, 2, "{batch:#?}");
    assert_eq!(dec(&batch.total.as_ref().unwrap().amount), dec("169.90"));
    assert!(batch.items.iter().all(|item| item.invoice_id != not_due));
    // Running again collects nothing twice.
    let again = client
        .run_collection(suite.as_role(
            RunCollectionRequest::default(),
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.collections, 0);
    let file = client
        .get_batch_file(suite.as_role(
            GetBatchFileRequest {
                batch_id: batch.batch_id.clone(),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    xsd_valid(&file.content).unwrap();
    let xml = String::from_utf8(file.content).unwrap();
    assert!(xml.contains("<SeqTp>FRST</SeqTp>") && xml.contains("MNDT-2026-0001"));
    let mandates = client
        .list_mandates(suite.as_role(ListMandatesRequest::default(), Role::ArClerk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mandates.mandates[0].sequence_type(), SequenceType::Rcur);

    // The bank settles both collections, then returns one (MD06: refund
    // request by the debtor).
    let item = |invoice_id: &str| {
        batch
            .items
            .iter()
            .find(|item| item.invoice_id == invoice_id)
            .unwrap()
            .clone()
    };
    let settled = item(&settled_invoice);
    let returned = item(&returned_invoice);
    let settle_line = |collection: &Collection, reference: &str| {
        let mut line = Line::credit(
            reference,
            &collection.amount.as_ref().unwrap().amount,
            "Erika Mustermann",
            "DE02120300000000202051",
            "SEPA direct debit",
        );
        line.end_to_end_id = Some(collection.end_to_end_id.clone());
        line.mandate_id = Some("MNDT-2026-0001".into());
        line
    };
    let settlement = camt054(
        "NTF-1",
        OWN_IBAN,
        &[settle_line(&settled, "S1"), settle_line(&returned, "S2")],
    );
    let response = import(&suite, &settlement).await.unwrap();
    assert_eq!(response.format, "camt.054");
    assert_eq!(
        response.statements[0].collections_settled, 2,
        "{response:#?}"
    );
    let open: Decimal = suite
        .scalar("SELECT SUM(open_amount) FROM open_items WHERE number IN ('INV-2026-000901', 'INV-2026-000902')")
        .await;
    assert_eq!(open, Decimal::ZERO);

    // The day's camt.053 books the same collections again: they are already
    // receipts and must not become second ones.
    let statement = camt053(
        "STMT-DD-DAY",
        OWN_IBAN,
        dec("0"),
        &[settle_line(&settled, "S1"), settle_line(&returned, "S2")],
    );
    let response = import(&suite, &statement).await.unwrap();
    assert_eq!(response.statements[0].already_recorded, 2, "{response:#?}");
    assert_eq!(response.statements[0].receipts, 0);
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 2);

    let mut return_line = settle_line(&returned, "R1");
    return_line.credit = false;
    return_line.return_reason = Some("MD06".into());
    let response = import(&suite, &camt054("NTF-2", OWN_IBAN, &[return_line]))
        .await
        .unwrap();
    assert_eq!(response.statements[0].returns, 1, "{response:#?}");
    let reopened: Decimal = suite
        .scalar(&format!(
            "SELECT open_amount FROM open_items WHERE id = '{returned_invoice}'"
        ))
        .await;
    assert_eq!(reopened, dec("120.00"));
    let statuses: Vec<String> = {
        let batches = client
            .list_batches(suite.as_role(ListBatchesRequest::default(), Role::ArClerk))
            .await
            .unwrap()
            .into_inner();
        let mut statuses: Vec<String> = batches.batches[0]
            .items
            .iter()
            .map(|item| item.status.clone())
            .collect();
        statuses.sort();
        statuses
    };
    assert_eq!(statuses, vec!["RETURNED".to_owned(), "SETTLED".to_owned()]);
    let reversed = suite
        .payment_events("otc.payments.v1.PaymentReversed", 1, WAIT)
        .await;
    assert_eq!(reversed.len(), 1);
    suite.assert_cash_balances().await;
}

#[tokio::test]
async fn the_statement_import_command_reports_each_statement_and_refuses_a_bad_file_whole() {
    let suite = PaymentsSuite::start("pay_cli", &[]).await;
    let token = otc_testkit::token(&suite.tenant, &[Role::CashApplicationSpecialist]).unwrap();
    let directory = std::env::temp_dir().join(format!("otc-cli-{}", id()));
    std::fs::create_dir_all(&directory).unwrap();
    let good = directory.join("good.xml");
    let lines = vec![
        Line::credit("C1", "10.00", "A", "DE02120300000000202051", "x"),
        Line::credit("C2", "20.00", "B", "DE02120300000000202051", "y"),
    ];
    std::fs::write(&good, camt053("STMT-CLI", OWN_IBAN, dec("0"), &lines)).unwrap();
    let bad = directory.join("bad.xml");
    std::fs::write(
        &bad,
        camt053("STMT-CLI-BAD", OWN_IBAN, dec("0"), &lines).replacen(
            "20.00</Amt>",
            "2x.00</Amt>",
            1,
        ),
    )
    .unwrap();
    let command = otc_testkit::process::binary_path("statement-import").unwrap();
    let run = |files: Vec<std::path::PathBuf>| {
        std::process::Command::new(&command)
            .arg("--endpoint")
            .arg(suite.service.grpc_url())
            .env("OTC_TOKEN", &token)
            .args(files)
            .output()
            .unwrap()
    };
    // One bad file among good ones: nothing at all is sent.
    let refused = run(vec![good.clone(), bad.clone()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("bad.xml"));
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 0);
    // Reported on stdout even through a pipe (no progress bar is drawn).
    let imported = run(vec![good.clone()]);
    assert!(imported.status.success(), "{imported:?}");
    let report = String::from_utf8_lossy(&imported.stdout);
    assert!(
        report.contains("STMT-CLI") && report.contains("imported: 2 receipts"),
        "{report}"
    );
    let again = run(vec![good]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already imported"));
    let receipts: i64 = suite.scalar("SELECT count(*) FROM receipts").await;
    assert_eq!(receipts, 2);
}
