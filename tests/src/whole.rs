//! The whole suite for end-to-end tests: the five services as processes on
//! one topic namespace, each on a database of its own, the simulator to
//! drive them, and the books checked from the services' own tables.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::process::{ServiceProcess, tool_path};
use crate::suite::new_namespace;
use crate::{TestDatabase, unique_suffix};

pub struct WholeSuite {
    pub namespace: String,
    pub documents: std::path::PathBuf,
    pub order: ServiceProcess,
    pub billing: ServiceProcess,
    pub payments: ServiceProcess,
    pub collections: ServiceProcess,
    pub reporting: ServiceProcess,
    pub order_db: TestDatabase,
    pub billing_db: TestDatabase,
    pub payments_db: TestDatabase,
    pub collections_db: TestDatabase,
    pub reporting_db: TestDatabase,
}

async fn start(
    service: &str,
    namespace: &str,
    common: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> (TestDatabase, ServiceProcess) {
    let database = TestDatabase::create(&format!("e2e_{service}"))
        .await
        .unwrap();
    let mut environment = vec![
        ("OTC_KAFKA__TOPIC_NAMESPACE", namespace),
        ("OTC_KAFKA__TOPIC_PARTITIONS", "3"),
    ];
    environment.extend_from_slice(common);
    environment.extend_from_slice(extra);
    let process = ServiceProcess::start(service, &database.url, &environment)
        .await
        .unwrap();
    (database, process)
}

impl WholeSuite {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the suite with `extra` `OTC_*` variables for every service.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let namespace = new_namespace();
        let smtp_port = crate::mail::smtp_port().to_string();
        let documents = std::env::temp_dir().join(format!("otc-e2e-docs-{}", unique_suffix()));
        let root = documents.display().to_string();
        let (collections_db, collections) = start(
            "collections",
            &namespace,
            extra,
            &[
                ("OTC_COLLECTIONS__DELIVERY__SMTP__PORT", &smtp_port),
                // The simulator's dunning runs on simulated days.
                ("OTC_COLLECTIONS__DUNNING__ALLOW_FUTURE_AS_OF", "true"),
            ],
        )
        .await;
        let (billing_db, billing) = start(
            "billing",
            &namespace,
            extra,
            &[
                ("OTC_BILLING__DOCUMENTS__KIND", "local"),
                ("OTC_BILLING__DOCUMENTS__ROOT", &root),
                ("OTC_BILLING__DELIVERY__SMTP__PORT", &smtp_port),
            ],
        )
        .await;
        let collections_url = collections.grpc_url();
        let (order_db, order) = start(
            "order",
            &namespace,
            extra,
            &[("OTC_PEERS__COLLECTIONS__URL", &collections_url)],
        )
        .await;
        let (payments_db, payments) = start("payments", &namespace, extra, &[]).await;
        let (reporting_db, reporting) = start("reporting", &namespace, extra, &[]).await;
        Self {
            namespace,
            documents,
            order,
            billing,
            payments,
            collections,
            reporting,
            order_db,
            billing_db,
            payments_db,
            collections_db,
            reporting_db,
        }
    }

    /// `otc-simulator` against these services, for `tenant`, with its output
    /// piped.
    pub fn simulator(&self, tenant: &str, customers: u32) -> Command {
        let mut command = Command::new(tool_path("otc-simulator").unwrap());
        command
            .args(["--tenant", tenant, "--customers", &customers.to_string()])
            .args(["--step-timeout", "180"])
            .args(["--order", &self.order.grpc_url()])
            .args(["--billing", &self.billing.grpc_url()])
            .args(["--payments", &self.payments.grpc_url()])
            .args(["--collections", &self.collections.grpc_url()])
            .args(["--reporting", &self.reporting.grpc_url()])
            .args([
                "--payments-http",
                &format!("http://127.0.0.1:{}", self.payments.http_port),
            ])
            .args(["--brokers", &crate::kafka_brokers()])
            .args(["--topic-namespace", &self.namespace])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts the simulator for `tenant`; read its output line by line
    /// while doing something to the suite, then [`SimulatorRun::finish`].
    pub fn run_simulator(&self, tenant: &str, customers: u32) -> SimulatorRun {
        let mut child = self.simulator(tenant, customers).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        SimulatorRun {
            child,
            lines: BufReader::new(stdout).lines(),
            output: String::new(),
        }
    }

    /// Nothing lost or doubled by the simulator's business: two orders per
    /// customer, one issued invoice per shipment billed.
    pub async fn assert_nothing_doubled(&self, customers: u32) {
        let orders: i64 = self.order_db.scalar("SELECT count(*) FROM orders").await;
        assert_eq!(orders, i64::from(customers) * 2, "orders");
        let invoices: i64 = self
            .billing_db
            .scalar("SELECT count(*) FROM invoices WHERE kind = 'invoice' AND status = 'issued'")
            .await;
        let shipments: i64 = self
            .billing_db
            .scalar("SELECT count(DISTINCT shipment_id) FROM billable_lines")
            .await;
        assert_eq!(invoices, shipments, "invoices per shipment");
    }

    /// The invariants of DESIGN.md, from the services' own tables: cash
    /// received = applied + unapplied + refunded per currency; every shipped
    /// line billed, by exactly one invoice; reporting's open AR equal to
    /// payments' per currency, to the cent.
    pub async fn assert_books(&self) {
        let broken: i64 = self
            .payments_db
            .scalar(
                "SELECT count(*) FROM (
                   SELECT currency FROM receipts GROUP BY currency
                   HAVING SUM(amount - reversed) <> SUM(applied) + SUM(unapplied) + SUM(refunded)) b",
            )
            .await;
        assert_eq!(broken, 0, "cash received != applied + unapplied + refunded");
        let unbilled: i64 = self
            .billing_db
            .scalar("SELECT count(*) FROM billable_lines WHERE invoice_id IS NULL")
            .await;
        assert_eq!(unbilled, 0, "shipped lines left unbilled");
        let doubled: i64 = self
            .billing_db
            .scalar(
                "SELECT count(*) FROM (SELECT shipment_id FROM billable_lines
                   GROUP BY shipment_id HAVING count(DISTINCT invoice_id) > 1) d",
            )
            .await;
        assert_eq!(doubled, 0, "a shipment billed by two invoices");
        // Per customer and currency, to the cent: payments' open items
        // against reporting's documents and their movements.
        let query_payments = "SELECT customer_id::text || ' ' || currency || ' ' || \
             SUM(open_amount)::numeric(20,2)::text FROM open_items \
             GROUP BY customer_id, currency ORDER BY 1";
        let query_reporting = "SELECT d.customer_id::text || ' ' || d.currency || ' ' || \
             SUM(d.amount + COALESCE((SELECT SUM(m.amount) FROM movements m \
                 WHERE m.tenant = d.tenant AND m.item_id = d.document_id), 0))::numeric(20,2)::text \
             FROM documents d GROUP BY d.customer_id, d.currency ORDER BY 1";
        let in_payments: Vec<String> = self.payments_db.column(query_payments).await;
        let in_reporting: Vec<String> = self.reporting_db.column(query_reporting).await;
        assert!(!in_payments.is_empty(), "no open items at all");
        assert_eq!(
            in_payments, in_reporting,
            "open AR per customer and currency: payments vs reporting"
        );
    }
}

impl Drop for WholeSuite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.documents);
    }
}

/// A simulator running against the suite, read as it goes.
pub struct SimulatorRun {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Everything it printed so far.
    pub output: String,
}

impl SimulatorRun {
    /// Its next line of output; `None` once it closed its output. Fails
    /// the test if it prints nothing for 10 minutes.
    pub async fn next_line(&mut self) -> Option<String> {
        let line = tokio::time::timeout(Duration::from_secs(600), self.lines.next_line())
            .await
            .expect("the simulation stalled")
            .unwrap()?;
        self.output.push_str(&line);
        self.output.push('\n');
        Some(line)
    }

    /// Reads the rest, waits for it to end and checks that it succeeded
    /// and that its summary found the books balanced (cash received =
    /// applied + unapplied + refunded, collections equal to payments);
    /// returns everything it printed.
    pub async fn finish(mut self) -> String {
        while self.next_line().await.is_some() {}
        let status = self.child.wait().await.unwrap();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr).await.unwrap();
        }
        assert!(
            status.success(),
            "the simulation failed:\n{}\n{stderr}",
            self.output
        );
        for expected in [
            "cash received = applied + unapplied + refunded: holds in every currency",
            "collections and payments agree for all",
        ] {
            assert!(
                self.output.contains(expected),
                "`{expected}` missing:\n{}",
                self.output
            );
        }
        self.output
    }
}
