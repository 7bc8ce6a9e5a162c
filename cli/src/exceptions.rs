//! `otcctl exceptions`: the cash-application exception queue of the
//! payments service (receipts below the auto-apply threshold, with their
//! ranked suggestions, and cash left unapplied): list it, apply a receipt
//! (a suggestion, or allocations given by hand), or reject the suggestions.

use std::process::ExitCode;

use comfy_table::{CellAlignment, Table, presets};

use otc_proto::payments::payment_service_client::PaymentServiceClient;
use otc_proto::payments::{
    Allocation, ApplyReceiptRequest, GetReceiptRequest, ListExceptionsRequest,
    ListUnappliedCashRequest, Receipt, RejectSuggestionsRequest,
};
use otc_proto::types::{Money, PageRequest};
use tonic::transport::Channel;

use crate::connect::{Endpoints, Failure, channel};

#[derive(clap::Subcommand)]
pub enum Command {
    /// List the receipts waiting for someone, oldest first, with their suggestions.
    List(ListArguments),
    /// Apply a receipt: accept one of its suggestions, or give the allocations.
    #[command(
        long_about = "Applies a receipt of the exception queue to invoices: either one of its \
                      ranked suggestions (--suggestion 1 is the best), or allocations given as \
                      --invoice <invoice id>=<amount> (repeat for a split; amounts in the \
                      receipt's currency). An unidentified payer needs --customer. Needs \
                      cash_application.apply (cash application specialist)."
    )]
    Apply(ApplyArguments),
    /// Reject a receipt's suggestions (the cash stays unapplied).
    Reject(RejectArguments),
}

#[derive(clap::Args)]
pub struct ListArguments {
    /// List cash left unapplied (customer credit and unidentified cash)
    /// instead of the receipts below the auto-apply threshold.
    #[arg(long)]
    unapplied: bool,
    /// At most this many receipts.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(clap::Args)]
pub struct ApplyArguments {
    /// The receipt's id.
    receipt: String,
    /// Accept this suggestion (1 = the best ranked).
    #[arg(
        long,
        conflicts_with = "invoices",
        required_unless_present = "invoices"
    )]
    suggestion: Option<u32>,
    /// An allocation `<invoice id>=<amount>`; repeat for a split.
    #[arg(long = "invoice", value_name = "INVOICE=AMOUNT", value_parser = parse_allocation)]
    invoices: Vec<(String, String)>,
    /// The paying customer, when the receipt's payer is not identified.
    #[arg(long)]
    customer: Option<String>,
}

#[derive(clap::Args)]
pub struct RejectArguments {
    /// The receipt's id.
    receipt: String,
    /// Why (kept with the receipt).
    #[arg(long)]
    reason: String,
    /// The paying customer, if known: the cash stays as its credit.
    #[arg(long)]
    customer: Option<String>,
}

fn parse_allocation(text: &str) -> Result<(String, String), String> {
    let (invoice, amount) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: give <invoice id>=<amount>"))?;
    let amount = amount.trim();
    amount
        .parse::<rust_decimal::Decimal>()
        .map_err(|error| format!("{text:?}: amount {amount:?} is not a decimal: {error}"))?;
    Ok((invoice.trim().to_owned(), amount.to_owned()))
}

fn amount(money: Option<&Money>) -> String {
    money
        .map(|money| format!("{} {}", money.amount, money.currency_code))
        .unwrap_or_default()
}

/// A refusal of bad input is the caller's to fix; others are the service's.
fn refused(status: tonic::Status) -> Failure {
    match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => {
            Failure::Input(status.message().to_owned())
        }
        _ => Failure::Refused(status),
    }
}

pub async fn run(endpoints: &Endpoints, command: Command) -> Result<ExitCode, Failure> {
    endpoints.token()?;
    let client = PaymentServiceClient::new(channel(&endpoints.payments).await?);
    match command {
        Command::List(arguments) => list(endpoints, client, &arguments).await,
        Command::Apply(arguments) => apply(endpoints, client, arguments).await,
        Command::Reject(arguments) => {
            let mut client = client;
            let receipt = client
                .reject_suggestions(endpoints.request(RejectSuggestionsRequest {
                    receipt_id: arguments.receipt,
                    reason: arguments.reason,
                    customer_id: arguments.customer.unwrap_or_default(),
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            println!(
                "Receipt {}: suggestions rejected; {} unapplied ({}).",
                receipt.receipt_id,
                amount(receipt.unapplied.as_ref()),
                receipt.status
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(
    endpoints: &Endpoints,
    mut client: PaymentServiceClient<Channel>,
    arguments: &ListArguments,
) -> Result<ExitCode, Failure> {
    let mut receipts: Vec<Receipt> = Vec::new();
    let mut token = String::new();
    loop {
        let page = Some(PageRequest {
            page_size: 100,
            page_token: token.clone(),
        });
        let response = if arguments.unapplied {
            client
                .list_unapplied_cash(endpoints.request(ListUnappliedCashRequest {
                    page,
                    customer_id: String::new(),
                })?)
                .await
        } else {
            client
                .list_exceptions(endpoints.request(ListExceptionsRequest { page })?)
                .await
        }
        .map_err(refused)?
        .into_inner();
        receipts.extend(response.receipts);
        token = response
            .page
            .map(|page| page.next_page_token)
            .unwrap_or_default();
        if token.is_empty() || receipts.len() >= arguments.limit {
            break;
        }
    }
    receipts.truncate(arguments.limit);
    if receipts.is_empty() {
        println!(
            "{}",
            if arguments.unapplied {
                "No unapplied cash."
            } else {
                "The exception queue is empty."
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "receipt",
        "value date",
        "payer",
        "amount",
        "unapplied",
        "state",
        "best suggestion",
    ]);
    for receipt in &receipts {
        let payer = if receipt.payer_name.is_empty() {
            receipt.payer_account.clone()
        } else {
            receipt.payer_name.clone()
        };
        let best = receipt
            .suggestions
            .iter()
            .min_by_key(|suggestion| suggestion.rank)
            .map(|suggestion| {
                let invoices: Vec<String> = suggestion
                    .allocations
                    .iter()
                    .map(|allocation| {
                        let name = if allocation.invoice_number.is_empty() {
                            &allocation.invoice_id
                        } else {
                            &allocation.invoice_number
                        };
                        format!("{name} {}", amount(allocation.amount.as_ref()))
                    })
                    .collect();
                format!(
                    "#{} {}% {}: {}",
                    suggestion.rank,
                    suggestion.confidence,
                    suggestion.method,
                    invoices.join(", ")
                )
            })
            .unwrap_or_else(|| "none".to_owned());
        table.add_row([
            receipt.receipt_id.clone(),
            receipt.value_date.clone(),
            payer,
            amount(receipt.amount.as_ref()),
            amount(receipt.unapplied.as_ref()),
            format!("{} / {}", receipt.status, receipt.match_state),
            best,
        ]);
    }
    for index in [3, 4] {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
    println!(
        "{} receipts. Apply one: otcctl exceptions apply <receipt> --suggestion 1",
        receipts.len()
    );
    Ok(ExitCode::SUCCESS)
}

async fn apply(
    endpoints: &Endpoints,
    mut client: PaymentServiceClient<Channel>,
    arguments: ApplyArguments,
) -> Result<ExitCode, Failure> {
    let receipt = client
        .get_receipt(endpoints.request(GetReceiptRequest {
            receipt_id: arguments.receipt.clone(),
        })?)
        .await
        .map_err(refused)?
        .into_inner();
    let (allocations, customer) = match arguments.suggestion {
        Some(rank) => {
            let suggestion = receipt
                .suggestions
                .into_iter()
                .find(|suggestion| suggestion.rank == rank)
                .ok_or_else(|| {
                    Failure::Input(format!(
                        "suggestion: receipt {} has no suggestion {rank}",
                        arguments.receipt
                    ))
                })?;
            let customer = arguments.customer.clone().unwrap_or(suggestion.customer_id);
            (suggestion.allocations, customer)
        }
        None => {
            let currency = receipt
                .amount
                .map(|money| money.currency_code)
                .unwrap_or_default();
            let allocations = arguments
                .invoices
                .iter()
                .map(|(invoice, value)| Allocation {
                    invoice_id: invoice.clone(),
                    amount: Some(Money {
                        amount: value.clone(),
                        currency_code: currency.clone(),
                    }),
                    ..Default::default()
                })
                .collect();
            (allocations, arguments.customer.clone().unwrap_or_default())
        }
    };
    let receipt = client
        .apply_receipt(endpoints.request(ApplyReceiptRequest {
            receipt_id: arguments.receipt,
            customer_id: customer,
            allocations,
        })?)
        .await
        .map_err(refused)?
        .into_inner();
    println!(
        "Receipt {}: {} applied, {} unapplied ({}).",
        receipt.receipt_id,
        amount(receipt.applied.as_ref()),
        amount(receipt.unapplied.as_ref()),
        receipt.status
    );
    for application in receipt.applications.iter().filter(|line| !line.reversed) {
        println!(
            "  {} {}",
            if application.invoice_number.is_empty() {
                &application.invoice_id
            } else {
                &application.invoice_number
            },
            amount(application.amount.as_ref())
        );
    }
    Ok(ExitCode::SUCCESS)
}
