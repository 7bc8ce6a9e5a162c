//! What the simulation did, and the finance summary read back from the
//! services: cash position (payments), auto-match rate, exception queue,
//! AR aging and DSO (reporting).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use comfy_table::{CellAlignment, Table, presets};
use rust_decimal::Decimal;

use otc_proto::payments::GetCashPositionRequest;
use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::{
    AgingGroupBy, GetAgingRequest, GetCollectionStatisticsRequest, GetExceptionQueueRequest,
    GetKpisRequest,
};
use otc_proto::types::Money;

use otc_collections::ledger_check::{self, LedgerCheck};

use crate::flow::{LAST_DAY, Simulation, retry};

/// What the simulation sent, counted as it went.
#[derive(Debug, Default)]
pub struct Tally {
    pub webhook_secret: String,
    pub customers: usize,
    pub orders: usize,
    pub orders_by_status: BTreeMap<String, usize>,
    pub shipments: usize,
    pub invoices: usize,
    pub held_invoices: usize,
    pub invoiced: BTreeMap<String, Decimal>,
    pub payments_by_kind: BTreeMap<String, usize>,
    pub paid: BTreeMap<String, Decimal>,
    pub receipts: u64,
    pub auto_applied: u64,
    pub exceptions: u64,
    pub webhooks: usize,
    pub unpaid: Vec<String>,
    pub disputes: usize,
    pub promises: usize,
    pub dunning: Vec<(u64, i64)>,
}

fn amount(money: Option<&Money>) -> String {
    money.map(|money| money.amount.clone()).unwrap_or_default()
}

fn decimal(money: Option<&Money>) -> Decimal {
    money
        .and_then(|money| money.amount.parse().ok())
        .unwrap_or_default()
}

fn table(header: Vec<String>, rows: Vec<Vec<String>>) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_header(header);
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    table
}

/// Reporting's figures of the last simulated day, as a comparable text.
async fn figures(simulation: &Simulation<'_>) -> anyhow::Result<String> {
    let timeout = Duration::from_secs(simulation.arguments.step_timeout);
    let reporting = ReportingServiceClient::new(simulation.channels.reporting.clone());
    let as_of = simulation.day(LAST_DAY).to_string();
    let kpis = retry(timeout, || {
        let mut client = reporting.clone();
        let request = simulation.request(GetKpisRequest {
            as_of: as_of.clone(),
            ..GetKpisRequest::default()
        });
        async move { client.get_kpis(request).await }
    })
    .await
    .context("reporting KPIs")?
    .into_inner();
    let queue = retry(timeout, || {
        let mut client = reporting.clone();
        let request = simulation.request(GetExceptionQueueRequest {});
        async move { client.get_exception_queue(request).await }
    })
    .await
    .context("reporting exception queue")?
    .into_inner();
    Ok(format!("{kpis:?}{queue:?}"))
}

/// Waits until reporting's figures stop changing (it folds the other
/// services' events as they come).
pub async fn settle(simulation: &Simulation<'_>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(simulation.arguments.step_timeout);
    let mut last = String::new();
    let mut steady = 0_u32;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("reporting is folding the events");
    bar.enable_steady_tick(Duration::from_millis(200));
    while steady < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = figures(simulation).await?;
        if now == last {
            steady += 1;
        } else {
            steady = 0;
            last = now;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

pub async fn render(simulation: &Simulation<'_>, elapsed: Duration) -> anyhow::Result<String> {
    let timeout = Duration::from_secs(simulation.arguments.step_timeout);
    let tally = &simulation.tally;
    let as_of = simulation.day(LAST_DAY).to_string();
    let mut out = String::new();
    let line = "═".repeat(78);
    writeln!(out, "\n{line}")?;
    writeln!(
        out,
        "Summary for tenant {} as of {as_of} (simulated day {LAST_DAY}; ran in {} s)",
        simulation.tenant,
        elapsed.as_secs()
    )?;
    writeln!(out, "{line}")?;

    writeln!(out, "\nBusiness")?;
    writeln!(out, "  customers        {}", tally.customers)?;
    let statuses: Vec<String> = tally
        .orders_by_status
        .iter()
        .map(|(status, count)| format!("{count} {}", status.replace('_', " ")))
        .collect();
    writeln!(
        out,
        "  orders           {} ({})",
        tally.orders,
        statuses.join(", ")
    )?;
    writeln!(out, "  shipments        {}", tally.shipments)?;
    let invoiced: Vec<String> = tally
        .invoiced
        .iter()
        .map(|(currency, total)| format!("{total} {currency}"))
        .collect();
    writeln!(
        out,
        "  invoices         {} issued, {} held for review; invoiced {}",
        tally.invoices,
        tally.held_invoices,
        invoiced.join(", ")
    )?;
    let kinds: Vec<String> = tally
        .payments_by_kind
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    writeln!(
        out,
        "  payments sent    {} ({}); {} invoices left unpaid",
        tally.payments_by_kind.values().sum::<usize>(),
        kinds.join(", "),
        tally.unpaid.len()
    )?;

    let position = retry(timeout, || {
        let mut client = PaymentServiceClient::new(simulation.channels.payments.clone()).clone();
        let request = simulation.request(GetCashPositionRequest {});
        async move { client.get_cash_position(request).await }
    })
    .await
    .context("payments cash position")?
    .into_inner();
    writeln!(out, "\nCash (payments service)")?;
    let mut balanced = true;
    let rows = position
        .currencies
        .iter()
        .map(|currency| {
            let received =
                decimal(currency.received.as_ref()) - decimal(currency.reversed.as_ref());
            let accounted = decimal(currency.applied.as_ref())
                + decimal(currency.unapplied.as_ref())
                + decimal(currency.refunded.as_ref());
            balanced &= received == accounted;
            vec![
                currency.currency_code.clone(),
                amount(currency.received.as_ref()),
                amount(currency.applied.as_ref()),
                amount(currency.unapplied.as_ref()),
                amount(currency.refunded.as_ref()),
                if received == accounted { "yes" } else { "NO" }.to_owned(),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table(
            [
                "currency",
                "received",
                "applied",
                "unapplied",
                "refunded",
                "balanced"
            ]
            .map(String::from)
            .to_vec(),
            rows
        )
    )?;
    writeln!(
        out,
        "  cash received = applied + unapplied + refunded: {}",
        if balanced {
            "holds in every currency"
        } else {
            "BROKEN"
        }
    )?;

    // The books agree: collections' AR ledger against payments' open items.
    let ledger = async {
        let mut check = LedgerCheck::connect(
            &simulation.arguments.collections,
            &simulation.arguments.payments,
            simulation.token(),
        )
        .await?;
        let snapshot = check.read(None, |_| {}).await?;
        ledger_check::compare(&snapshot)
    }
    .await;
    match ledger {
        Ok(report) if report.consistent() => writeln!(
            out,
            "  AR ledger: collections and payments agree for all {} customers, to the cent",
            report.customers
        )?,
        Ok(report) => writeln!(out, "  AR ledger DIFFERS:\n{}", report.render())?,
        Err(error) => writeln!(out, "  AR ledger check could not be made: {error}")?,
    }

    let reporting = ReportingServiceClient::new(simulation.channels.reporting.clone());
    let statistics = retry(timeout, || {
        let mut client = reporting.clone();
        let request = simulation.request(GetCollectionStatisticsRequest {
            as_of: as_of.clone(),
            period_days: 90,
            dunning_days: 0,
        });
        async move { client.get_collection_statistics(request).await }
    })
    .await
    .context("reporting statistics")?
    .into_inner();
    writeln!(out, "\nCash application")?;
    writeln!(
        out,
        "  bank statement lines: {} receipts, {} applied automatically, {} to the exception queue; {} card payments",
        tally.receipts, tally.auto_applied, tally.exceptions, tally.webhooks
    )?;
    for rate in &statistics.auto_match {
        writeln!(
            out,
            "  auto-match rate {}: {} % of applications ({} of {}), {} % of the amount",
            rate.currency,
            rate.rate_by_count.as_deref().unwrap_or("–"),
            rate.matching_count,
            rate.total_count,
            rate.rate_by_amount.as_deref().unwrap_or("–")
        )?;
    }

    let queue = retry(timeout, || {
        let mut client = reporting.clone();
        let request = simulation.request(GetExceptionQueueRequest {});
        async move { client.get_exception_queue(request).await }
    })
    .await
    .context("reporting exception queue")?
    .into_inner();
    writeln!(out, "\nException queue ({} waiting)", queue.total)?;
    for cash in &queue.unapplied_cash {
        writeln!(
            out,
            "  unapplied cash {}: {} receipts, {}",
            cash.currency,
            cash.count,
            amount(cash.amount.as_ref())
        )?;
    }
    writeln!(
        out,
        "  unidentified payers {}, customers on credit hold {}, invoices held {}, open disputes {}",
        queue.unidentified_receipts,
        queue.customers_on_credit_hold,
        queue.held_invoices,
        queue
            .open_disputes
            .iter()
            .map(|count| count.count)
            .sum::<i64>()
    )?;
    writeln!(
        out,
        "  promises to pay {}; dunning notices {}",
        tally.promises,
        tally
            .dunning
            .iter()
            .map(|(day, notices)| format!("day {day}: {notices}"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;

    let aging = retry(timeout, || {
        let mut client = reporting.clone();
        let request = simulation.request(GetAgingRequest {
            as_of: as_of.clone(),
            group_by: AgingGroupBy::Currency.into(),
            ..GetAgingRequest::default()
        });
        async move { client.get_aging(request).await }
    })
    .await
    .context("reporting aging")?
    .into_inner();
    writeln!(out, "\nAR aging as of {as_of}")?;
    let mut header = vec!["currency".to_owned()];
    header.extend(aging.bucket_labels.iter().cloned());
    header.extend(["total".to_owned(), "overdue".to_owned()]);
    let rows = aging
        .groups
        .iter()
        .filter_map(|group| {
            let line = group.line.as_ref()?;
            let mut row = vec![group.group.clone()];
            row.extend(line.buckets.iter().cloned());
            row.push(amount(line.total.as_ref()));
            row.push(amount(line.overdue.as_ref()));
            Some(row)
        })
        .collect();
    writeln!(out, "{}", table(header, rows))?;

    let kpis = retry(timeout, || {
        let mut client = reporting.clone();
        let request = simulation.request(GetKpisRequest {
            as_of: as_of.clone(),
            ..GetKpisRequest::default()
        });
        async move { client.get_kpis(request).await }
    })
    .await
    .context("reporting KPIs")?
    .into_inner();
    writeln!(
        out,
        "\nDSO and collection effectiveness ({} days)",
        kpis.period_days
    )?;
    let rows = kpis
        .currencies
        .iter()
        .map(|figures| {
            vec![
                figures.currency.clone(),
                amount(figures.receivables.as_ref()),
                amount(figures.overdue_receivables.as_ref()),
                figures.dso_standard.clone().unwrap_or_else(|| "–".into()),
                figures.dso_count_back.clone().unwrap_or_else(|| "–".into()),
                figures
                    .best_possible_dso
                    .clone()
                    .unwrap_or_else(|| "–".into()),
                figures
                    .cei
                    .clone()
                    .map_or_else(|| "–".into(), |cei| format!("{cei} %")),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table(
            [
                "currency",
                "receivables",
                "overdue",
                "DSO",
                "DSO count-back",
                "best DSO",
                "CEI"
            ]
            .map(String::from)
            .to_vec(),
            rows
        )
    )?;

    writeln!(out, "\nSee it")?;
    writeln!(
        out,
        "  dashboard   {}  (sign in with: make -s token TENANT={} ROLES=executive)",
        simulation.arguments.dashboard, simulation.tenant
    )?;
    writeln!(
        out,
        "  otcctl      export OTC_TOKEN=$(make -s token TENANT={} ROLES=\"executive cash_application_specialist\")",
        simulation.tenant
    )?;
    writeln!(
        out,
        "              cargo run -q -p otc-cli --bin otcctl -- aging --as-of {as_of}"
    )?;
    writeln!(
        out,
        "              cargo run -q -p otc-cli --bin otcctl -- exceptions list"
    )?;
    Ok(out)
}
