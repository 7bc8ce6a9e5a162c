//! `otcctl ledger check`: compares, per customer and currency, what the
//! collections service's AR ledger says is owed with what the payments
//! service's open-item projection says, and reports every difference to the
//! cent (see `otc_collections::ledger_check` for what is compared and why
//! write-offs are left out). Exit code 0: consistent; 1: differences or a
//! broken ledger invariant; 2: the check could not be made.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use otc_collections::ledger_check::{self, CheckError, LedgerCheck, Report, Snapshot};

use crate::connect::{Endpoints, Failure};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check that collections and payments agree on every customer's balance, to the cent.
    #[command(
        long_about = "Compares, per customer and currency, the collections service's AR ledger with \
                      the payments service's open items (invoices + debit notes - credit notes - \
                      applied cash - discounts taken; collections' write-offs are reported beside, \
                      not compared, since payments never hears of them), and checks the ledger's own \
                      invariant on the way. The tenant is the token's. Needs a token with the \
                      ledger.read permission on both services (e.g. credit_manager). \
                      Exit code 0: consistent; 1: differences; 2: the check could not be made."
    )]
    Check(Arguments),
}

#[derive(clap::Args)]
pub struct Arguments {
    /// Check this customer only (a UUID); every customer when omitted.
    #[arg(long)]
    customer: Option<String>,
    /// While customers differ, read them again for up to this many seconds
    /// (events may still be on their way from one service to the other).
    #[arg(long, default_value_t = 0)]
    settle_seconds: u64,
}

/// Prints above the progress bar; on a pipe (no bar drawn) just prints, so
/// the report is never lost.
fn say(bar: &ProgressBar, text: &str) {
    bar.suspend(|| print!("{text}"));
}

async fn check(
    endpoints: &Endpoints,
    token: &str,
    arguments: &Arguments,
    bar: &ProgressBar,
) -> Result<Report, CheckError> {
    let mut check =
        LedgerCheck::connect(&endpoints.collections, &endpoints.payments, token).await?;
    let mut snapshot: Snapshot = check
        .read(arguments.customer.as_deref(), |customers| {
            bar.inc(u64::try_from(customers).unwrap_or(0));
        })
        .await?;
    let mut report = ledger_check::compare(&snapshot)?;
    let deadline = Instant::now() + Duration::from_secs(arguments.settle_seconds);
    let mut rounds: u32 = 0;
    while !report.consistent() && Instant::now() < deadline {
        let unsettled = report.unsettled_customers();
        rounds = rounds.saturating_add(1);
        bar.set_message(format!(
            "{} customers differ; reading them again (round {rounds})",
            unsettled.len()
        ));
        let pause = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(1));
        tokio::time::sleep(pause).await;
        check.reread(&mut snapshot, &unsettled).await?;
        report = ledger_check::compare(&snapshot)?;
    }
    if rounds > 0 {
        say(
            bar,
            &format!(
                "Re-read the differing customers {rounds} times within {} seconds.\n",
                arguments.settle_seconds
            ),
        );
    }
    Ok(report)
}

pub async fn run(endpoints: &Endpoints, command: Command) -> Result<ExitCode, Failure> {
    let Command::Check(arguments) = command;
    let token = endpoints.token()?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {pos} customers read  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    match check(endpoints, token, &arguments, &bar).await {
        Ok(report) => {
            bar.finish_and_clear();
            say(&bar, &report.render());
            if report.consistent() {
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
        Err(error) => {
            bar.abandon();
            eprintln!("the ledger check could not be made: {error}");
            Ok(ExitCode::from(2))
        }
    }
}
