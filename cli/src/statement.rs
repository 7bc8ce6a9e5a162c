//! `otcctl statement import`: imports bank statement files (camt.053,
//! camt.054, MT940, BAI2) into the payments service over gRPC. Each file is
//! read and checked here first, so a malformed file is reported with its
//! line or element before anything is sent; the service imports each
//! statement once.

use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use otc_bank_formats::Format;
use otc_proto::payments::ImportStatementRequest;
use otc_proto::payments::payment_service_client::PaymentServiceClient;

use crate::connect::{Endpoints, Failure, channel};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Import bank statement files into the payments service.
    #[command(
        long_about = "Imports bank statement files (camt.053, camt.054, MT940, BAI2) into the \
                      payments service. Every credit line becomes a receipt and is cash-applied; \
                      direct-debit results settle or return their collections. A statement \
                      imported before is skipped. Every file is parsed first: a malformed one \
                      stops the command before anything is sent. Needs the statements.import \
                      permission (cash_application_specialist)."
    )]
    Import(Arguments),
}

#[derive(clap::Args)]
pub struct Arguments {
    /// camt.053, camt.054, MT940 or BAI2; detected from each file when omitted.
    #[arg(long)]
    format: Option<Format>,
    /// The statement files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

struct Checked {
    path: PathBuf,
    format: Format,
    content: Vec<u8>,
    lines: usize,
}

/// Reads and parses every file before anything is imported.
fn check(arguments: &Arguments) -> Result<Vec<Checked>, String> {
    let mut checked = Vec::with_capacity(arguments.files.len());
    for path in &arguments.files {
        let content =
            std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let format = match arguments.format {
            Some(format) => format,
            None => otc_bank_formats::detect(&content).ok_or_else(|| {
                format!(
                    "{}: not a camt.053, camt.054, MT940 or BAI2 file",
                    path.display()
                )
            })?,
        };
        let statements = otc_bank_formats::parse(format, &content)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let lines = statements
            .iter()
            .flat_map(|statement| &statement.entries)
            .map(|entry| entry.transactions.len())
            .sum();
        checked.push(Checked {
            path: path.clone(),
            format,
            content,
            lines,
        });
    }
    Ok(checked)
}

/// Prints above the progress bar; on a pipe (no bar drawn) just prints, so
/// the report is never lost.
fn say(bar: &ProgressBar, line: String) {
    bar.suspend(|| println!("{line}"));
}

pub async fn run(endpoints: &Endpoints, command: Command) -> Result<ExitCode, Failure> {
    let Command::Import(arguments) = command;
    endpoints.token()?;
    let files = check(&arguments).map_err(Failure::Input)?;
    let mut client = PaymentServiceClient::new(channel(&endpoints.payments).await?)
        .max_decoding_message_size(64 * 1024 * 1024);
    let total_lines: usize = files.iter().map(|file| file.lines).sum();
    let bar = ProgressBar::new(u64::try_from(total_lines).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} lines  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut failed = false;
    for file in files {
        bar.set_message(file.path.display().to_string());
        let request = endpoints.request(ImportStatementRequest {
            format: file.format.to_string(),
            file_name: file
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            content: file.content,
        })?;
        match client.import_statement(request).await {
            Ok(response) => {
                for statement in response.into_inner().statements {
                    say(
                        &bar,
                        format!(
                            "{}: statement {} ({}) {}: {} receipts, {} applied automatically, {} to the exception queue, {} direct debits settled, {} returned",
                            file.path.display(),
                            statement.statement_id,
                            statement.account,
                            if statement.imported {
                                "imported"
                            } else {
                                "already imported, skipped"
                            },
                            statement.receipts,
                            statement.auto_applied,
                            statement.exceptions,
                            statement.collections_settled,
                            statement.returns,
                        ),
                    );
                }
            }
            Err(status) => {
                failed = true;
                say(
                    &bar,
                    format!(
                        "{}: refused ({:?}): {}",
                        file.path.display(),
                        status.code(),
                        status.message()
                    ),
                );
            }
        }
        bar.inc(u64::try_from(file.lines).unwrap_or(0));
    }
    bar.finish_with_message("done");
    if failed {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
