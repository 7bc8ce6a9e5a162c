//! `otcctl`: the operator's command line for the order-to-cash suite.
//!
//! Every command talks to the services over gRPC with the caller's token
//! (`--token` or `OTC_TOKEN`; the tenant is the token's), except `token`,
//! which mints a local one, and `dlq replay`, which reads and writes Kafka.
//! Exit codes: 0 done; 1 done, with differences or refusals to look at;
//! 2 bad input (nothing was changed); 3 a service or the broker could not be
//! reached.

// A command-line tool: its report is its standard output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod aging;
mod connect;
mod dlq;
mod exceptions;
mod ledger;
mod statement;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use connect::Endpoints;

#[derive(Parser)]
#[command(
    name = "otcctl",
    version,
    about = "The operator's command line for the order-to-cash suite",
    long_about = "The operator's command line for the order-to-cash suite: import bank \
                  statements, show the AR aging, work the cash-application exception queue, \
                  replay dead letters, check the ledger across services and mint local tokens.\n\n\
                  Commands that call a service need a token (--token or OTC_TOKEN); its tenant \
                  is the one acted on. Locally: export OTC_TOKEN=$(otcctl token --tenant acme \
                  --role tenant_admin).\n\n\
                  Exit codes: 0 done; 1 done with differences or refusals; 2 bad input, nothing \
                  changed; 3 a service or the broker could not be reached."
)]
struct Cli {
    #[command(flatten)]
    endpoints: Endpoints,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mint a local development token and print it.
    Token(token::Arguments),
    /// Bank statements: import camt.053, camt.054, MT940 or BAI2 files.
    #[command(subcommand)]
    Statement(statement::Command),
    /// Show the AR aging (from the reporting service).
    Aging(aging::Arguments),
    /// Work the cash-application exception queue (payments).
    #[command(subcommand)]
    Exceptions(exceptions::Command),
    /// Dead letters: list a service's, replay a dead-letter topic.
    #[command(subcommand)]
    Dlq(dlq::Command),
    /// The AR ledger: check collections and payments agree, to the cent.
    #[command(subcommand)]
    Ledger(ledger::Command),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Token(arguments) => token::run(&arguments),
        Command::Statement(command) => statement::run(&cli.endpoints, command).await,
        Command::Aging(arguments) => aging::run(&cli.endpoints, &arguments).await,
        Command::Exceptions(command) => exceptions::run(&cli.endpoints, command).await,
        Command::Dlq(command) => dlq::run(&cli.endpoints, command).await,
        Command::Ledger(command) => ledger::run(&cli.endpoints, command).await,
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("otcctl: {failure}");
            failure.exit_code()
        }
    }
}
