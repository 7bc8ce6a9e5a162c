#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `otcctl` as an operator runs it, against the real services: a minted
//! token the services accept; the AR aging of the known book as a table and
//! as CSV; a bank statement imported, its exception listed and applied by
//! hand, a malformed file refused with nothing imported; dead letters
//! listed, replayed once fixed, and not replayed twice. (`otcctl ledger
//! check` is tested in collections_ledger_check.rs.)

use std::process::Output;
use std::time::Duration;

use prost::Message;
use rust_decimal::Decimal;
use uuid::Uuid;

use otc_proto::events as proto;
use otc_proto::payments::ListExceptionsRequest;
use otc_shared::auth::{AuthSettings, Role, TokenVerifier};
use otc_shared::events::{EventEnvelope, RecordHeaders};
use otc_shared::kafka::topics;
use otc_testkit::TestDatabase;
use otc_testkit::payments::{IssuedInvoice, PaymentsSuite};
use otc_testkit::reporting::{AS_OF, publish_known_book};
use otc_testkit::statements::{Line, camt053};
use otc_testkit::suite::{ServiceSuite, money, new_namespace};

const WAIT: Duration = Duration::from_secs(60);
const OWN_IBAN: &str = "DE89370400440532013000";

/// Runs otcctl with `token` (if any) and `arguments`.
fn otcctl(token: Option<&str>, arguments: &[&str]) -> Output {
    let mut command =
        std::process::Command::new(otc_testkit::process::tool_path("otcctl").unwrap());
    command.env_remove("OTC_TOKEN").args(arguments);
    if let Some(token) = token {
        command.env("OTC_TOKEN", token);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_minted_token_is_one_the_services_accept_and_bad_input_is_named() {
    let output = otcctl(
        None,
        &[
            "token",
            "--tenant",
            "acme",
            "--role",
            "executive",
            "--role",
            "collector",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let token = stdout(&output);
    let verifier = TokenVerifier::from_settings(&AuthSettings::local_development()).unwrap();
    let principal = verifier.verify(token.trim()).unwrap();
    assert_eq!(principal.tenant.as_str(), "acme");
    assert_eq!(principal.roles, vec![Role::Executive, Role::Collector]);

    let bad = otcctl(
        None,
        &["token", "--tenant", "Not A Slug", "--role", "executive"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--tenant"), "{}", stderr(&bad));
    // Every command and subcommand explains itself.
    for arguments in [
        &["--help"][..],
        &["statement", "import", "--help"],
        &["aging", "--help"],
        &["exceptions", "apply", "--help"],
        &["dlq", "replay", "--help"],
        &["ledger", "check", "--help"],
    ] {
        let help = otcctl(None, arguments);
        assert!(help.status.success(), "{arguments:?}");
        assert!(stdout(&help).contains("Usage: otcctl"), "{arguments:?}");
    }
    // A command that needs a token says how to get one, and changes nothing.
    let tokenless = otcctl(None, &["aging"]);
    assert_eq!(tokenless.status.code(), Some(2));
    assert!(
        stderr(&tokenless).contains("otcctl token"),
        "{}",
        stderr(&tokenless)
    );
}

#[tokio::test]
async fn aging_and_dead_letters_of_the_reporting_service() {
    let database = TestDatabase::create("otcctl_reporting").await.unwrap();
    let suite = ServiceSuite::start("reporting", database, &new_namespace(), &[]).await;
    publish_known_book(&suite).await;
    let url = suite.service.grpc_url();
    let executive = otc_testkit::token(&suite.tenant, &[Role::Executive]).unwrap();

    // The euro line of the known book (tests/tests/reporting_figures.rs).
    let csv = otcctl(
        Some(&executive),
        &[
            "--reporting",
            &url,
            "aging",
            "--as-of",
            AS_OF,
            "--group-by",
            "currency",
            "--currency",
            "EUR",
            "--output",
            "csv",
        ],
    );
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert_eq!(
        stdout(&csv),
        "group,currency,current,1-30,31-60,61-90,91-120,120+,total,overdue,items\n\
         EUR,EUR,2900.00,300.00,750.00,400.00,650.00,100.00,5100.00,2200.00,8\n"
    );
    let table = otcctl(
        Some(&executive),
        &["--reporting", &url, "aging", "--as-of", AS_OF],
    );
    assert!(table.status.success(), "{}", stderr(&table));
    let shown = stdout(&table);
    assert!(shown.contains("AR aging as of 2026-06-30"), "{shown}");
    for expected in ["Alpha", "Beta", "Gamma", "1050.00", "4050.00", "USD"] {
        assert!(shown.contains(expected), "{expected} missing:\n{shown}");
    }
    let bad = otcctl(
        Some(&executive),
        &["--reporting", &url, "aging", "--as-of", "30/06/2026"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("as_of"), "{}", stderr(&bad));

    // A record reporting cannot read goes to its dead-letter topic.
    let billing = suite.topic(topics::BILLING_EVENTS);
    let dead_letter_topic = topics::dead_letter(&billing, "read-models");
    let brokers = otc_testkit::kafka_brokers();
    let producer = otc_testkit::kafka::producer().unwrap();
    let envelope = EventEnvelope::new(
        "otc.billing.v1.InvoiceIssued",
        "/test",
        &otc_testkit::tenant(&suite.tenant),
    );
    let headers = RecordHeaders::from_kafka(Some(&envelope.to_headers()));
    otc_testkit::kafka::produce(
        &producer,
        &billing,
        "poison",
        b"\xff\xfe not protobuf",
        &headers,
    )
    .await
    .unwrap();
    let dead = "SELECT count(*) FROM dead_letters";
    assert_eq!(suite.wait_for_count(dead, 1, WAIT).await, 1);
    let admin = otc_testkit::token(&suite.tenant, &[Role::TenantAdmin]).unwrap();
    let listed = otcctl(
        Some(&admin),
        &["--reporting", &url, "dlq", "list", "--service", "reporting"],
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains(&dead_letter_topic),
        "{}",
        stdout(&listed)
    );
    assert!(
        stdout(&listed).contains(&envelope.id),
        "{}",
        stdout(&listed)
    );

    // An invoice dead-lettered while its cause was not fixed, now replayable.
    let customer = Uuid::now_v7().to_string();
    let invoice = proto::InvoiceIssued {
        invoice_id: Uuid::now_v7().to_string(),
        invoice_number: "INV-REPLAY-1".into(),
        customer_id: customer.clone(),
        total_amount: Some(money("123.45", "EUR")),
        issue_date: "2026-06-01".into(),
        due_date: "2026-07-01".into(),
        ..Default::default()
    };
    let fixed = EventEnvelope::new(
        "otc.billing.v1.InvoiceIssued",
        "/otc/billing",
        &otc_testkit::tenant(&suite.tenant),
    );
    let mut headers = RecordHeaders::from_kafka(Some(&fixed.to_headers()));
    headers.insert("dlq_original_topic", &billing);
    headers.insert("dlq_error", "customer unknown at the time");
    otc_testkit::kafka::produce(
        &producer,
        &dead_letter_topic,
        &customer,
        &invoice.encode_to_vec(),
        &headers,
    )
    .await
    .unwrap();
    let documents = format!(
        "SELECT count(*) FROM documents WHERE document_id = '{}'",
        invoice.invoice_id
    );

    let dry = otcctl(
        None,
        &[
            "dlq",
            "replay",
            &dead_letter_topic,
            "--brokers",
            &brokers,
            "--dry-run",
        ],
    );
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("2 records would be replayed"),
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains(&fixed.id), "{}", stdout(&dry));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(suite.count(&documents).await, 0, "a dry run published");

    let replayed = otcctl(
        None,
        &["dlq", "replay", &dead_letter_topic, "--brokers", &brokers],
    );
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    assert!(
        stdout(&replayed).contains(&format!("Replayed 2 records from {dead_letter_topic}")),
        "{}",
        stdout(&replayed)
    );
    assert_eq!(suite.wait_for_count(&documents, 1, WAIT).await, 1);
    // The poison is still poison: dead-lettered again, at a new offset.
    assert_eq!(suite.wait_for_count(dead, 2, WAIT).await, 2);
    // A second replay takes only what was dead-lettered since.
    let again = otcctl(
        None,
        &["dlq", "replay", &dead_letter_topic, "--brokers", &brokers],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("Replayed 1 records"),
        "{}",
        stdout(&again)
    );
    let inbox = format!("SELECT count(*) FROM inbox WHERE event_id = '{}'", fixed.id);
    assert_eq!(suite.count(&inbox).await, 1);
    assert_eq!(suite.count(&documents).await, 1);

    let not_dlq = otcctl(None, &["dlq", "replay", &billing, "--brokers", &brokers]);
    assert_eq!(not_dlq.status.code(), Some(2));
    assert!(stderr(&not_dlq).contains("not a dead-letter topic"));
}

#[tokio::test]
async fn a_statement_is_imported_and_its_exception_worked_by_hand() {
    let suite = PaymentsSuite::start("otcctl_pay", &[]).await;
    let customer = Uuid::now_v7().to_string();
    suite
        .customer(
            &customer,
            "Hoffmann Elektro GmbH",
            &["DE02120300000000202051"],
        )
        .await;
    let first = Uuid::now_v7().to_string();
    let second = Uuid::now_v7().to_string();
    for (invoice_id, number, total) in [
        (&first, "INV-2026-000801", "1190.00"),
        (&second, "INV-2026-000802", "238.00"),
    ] {
        suite
            .invoice(&IssuedInvoice {
                invoice_id,
                number,
                customer_id: &customer,
                total,
                currency: "EUR",
                issue_date: "2026-10-01",
                due_date: "2026-11-30",
                discount_date: "",
                discount_amount: "0",
            })
            .await;
    }
    assert_eq!(
        suite
            .wait_for_count("SELECT count(*) FROM open_items", 2, WAIT)
            .await,
        2
    );
    let directory = std::env::temp_dir().join(format!("otcctl-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&directory).unwrap();
    let lines = vec![
        Line::credit(
            "E1",
            "1190.00",
            "Hoffmann Elektro",
            "DE02120300000000202051",
            "RE INV-2026-000801",
        ),
        Line::credit(
            "E2",
            "77.70",
            "Somebody Else",
            "FR1420041010050500013M02606",
            "payment",
        ),
    ];
    let file = directory.join("statement.xml");
    std::fs::write(
        &file,
        camt053("STMT-OTCCTL-1", OWN_IBAN, Decimal::ZERO, &lines),
    )
    .unwrap();
    let malformed = directory.join("broken.xml");
    std::fs::write(
        &malformed,
        camt053("STMT-OTCCTL-2", OWN_IBAN, Decimal::ZERO, &lines).replacen(
            "<Amt Ccy=\"EUR\">77.70</Amt>",
            "<Amt Ccy=\"EUR\">77,7x</Amt>",
            1,
        ),
    )
    .unwrap();
    let url = suite.service.grpc_url();
    let specialist = otc_testkit::token(&suite.tenant, &[Role::CashApplicationSpecialist]).unwrap();

    // A malformed file among good ones: refused before anything is sent.
    let refused = otcctl(
        Some(&specialist),
        &[
            "--payments",
            &url,
            "statement",
            "import",
            file.to_str().unwrap(),
            malformed.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("broken.xml"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(suite.count("SELECT count(*) FROM receipts").await, 0);

    let imported = otcctl(
        Some(&specialist),
        &[
            "--payments",
            &url,
            "statement",
            "import",
            file.to_str().unwrap(),
        ],
    );
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stdout(&imported).contains("2 receipts, 1 applied automatically, 1 to the exception queue"),
        "{}",
        stdout(&imported)
    );

    let listed = otcctl(
        Some(&specialist),
        &["--payments", &url, "exceptions", "list"],
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains("Somebody Else"),
        "{}",
        stdout(&listed)
    );
    assert!(stdout(&listed).contains("77.70 EUR"), "{}", stdout(&listed));
    let receipt = suite
        .payments()
        .list_exceptions(suite.as_role(
            ListExceptionsRequest::default(),
            Role::CashApplicationSpecialist,
        ))
        .await
        .unwrap()
        .into_inner()
        .receipts
        .remove(0);
    assert!(stdout(&listed).contains(&receipt.receipt_id));

    // More than the receipt holds: refused by the service, nothing applied.
    let too_much = otcctl(
        Some(&specialist),
        &[
            "--payments",
            &url,
            "exceptions",
            "apply",
            &receipt.receipt_id,
            "--customer",
            &customer,
            "--invoice",
            &format!("{second}=80.00"),
        ],
    );
    assert_ne!(too_much.status.code(), Some(0), "{}", stdout(&too_much));
    let applied = otcctl(
        Some(&specialist),
        &[
            "--payments",
            &url,
            "exceptions",
            "apply",
            &receipt.receipt_id,
            "--customer",
            &customer,
            "--invoice",
            &format!("{second}=77.70"),
        ],
    );
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert!(
        stdout(&applied).contains("77.70 EUR applied"),
        "{}",
        stdout(&applied)
    );
    let open: Decimal = suite
        .scalar(&format!(
            "SELECT open_amount FROM open_items WHERE id = '{second}'"
        ))
        .await;
    assert_eq!(open, "160.30".parse::<Decimal>().unwrap());
    let empty = otcctl(
        Some(&specialist),
        &["--payments", &url, "exceptions", "list"],
    );
    assert!(
        stdout(&empty).contains("The exception queue is empty."),
        "{}",
        stdout(&empty)
    );
    suite.assert_cash_balances().await;
    let _ = std::fs::remove_dir_all(&directory);
}
