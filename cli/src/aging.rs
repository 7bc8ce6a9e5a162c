//! `otcctl aging`: the AR aging of the token's tenant as of a date, from the
//! reporting service, as a table (or CSV) on standard output.

use std::process::ExitCode;

use comfy_table::{CellAlignment, Table, presets};

use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::{AgingGroupBy, AgingLine, GetAgingRequest};

use crate::connect::{Endpoints, Failure, channel};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum GroupBy {
    Customer,
    Segment,
    Currency,
    FunctionalCurrency,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Output {
    /// A table for people.
    Table,
    /// Comma-separated values, amounts as exact decimals.
    Csv,
}

#[derive(clap::Args)]
#[command(
    long_about = "Shows the AR aging of the token's tenant as of a date (today by default), by \
                  customer, segment, currency or functional currency, from the reporting \
                  service. Amounts are exact decimals in each line's currency; currencies are \
                  never added together. Needs reports.read (executive, collector, AR clerk, \
                  credit manager)."
)]
pub struct Arguments {
    /// ISO 8601 date; today (UTC) when omitted.
    #[arg(long)]
    as_of: Option<String>,
    #[arg(long, value_enum, default_value_t = GroupBy::Customer)]
    group_by: GroupBy,
    /// Only this currency (ISO 4217).
    #[arg(long)]
    currency: Option<String>,
    /// Only this segment.
    #[arg(long)]
    segment: Option<String>,
    /// Upper bounds of the overdue buckets in days, ascending, e.g. 30,60,90.
    #[arg(long, value_delimiter = ',')]
    buckets: Vec<u32>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

/// One printed row: who, currency, the buckets, total, overdue.
struct Row {
    name: String,
    line: AgingLine,
}

fn amount(money: Option<&otc_proto::types::Money>) -> String {
    money.map(|money| money.amount.clone()).unwrap_or_default()
}

pub async fn run(endpoints: &Endpoints, arguments: &Arguments) -> Result<ExitCode, Failure> {
    let group_by = match arguments.group_by {
        GroupBy::Customer => AgingGroupBy::Customer,
        GroupBy::Segment => AgingGroupBy::Segment,
        GroupBy::Currency => AgingGroupBy::Currency,
        GroupBy::FunctionalCurrency => AgingGroupBy::FunctionalCurrency,
    };
    let request = endpoints.request(GetAgingRequest {
        as_of: arguments.as_of.clone().unwrap_or_default(),
        bucket_bounds: arguments.buckets.clone(),
        group_by: group_by.into(),
        currency: arguments.currency.clone().unwrap_or_default(),
        segment: arguments.segment.clone().unwrap_or_default(),
        customer_id: String::new(),
    })?;
    let mut client = ReportingServiceClient::new(channel(&endpoints.reporting).await?);
    let aging = client
        .get_aging(request)
        .await
        .map_err(|status| match status.code() {
            tonic::Code::InvalidArgument => Failure::Input(status.message().to_owned()),
            _ => Failure::Refused(status),
        })?
        .into_inner();
    let rows: Vec<Row> = if aging.groups.is_empty() {
        aging
            .customers
            .iter()
            .flat_map(|customer| {
                let name = if customer.legal_name.is_empty() {
                    customer.customer_id.clone()
                } else {
                    customer.legal_name.clone()
                };
                customer.lines.iter().map(move |line| Row {
                    name: name.clone(),
                    line: line.clone(),
                })
            })
            .collect()
    } else {
        aging
            .groups
            .iter()
            .filter_map(|group| {
                Some(Row {
                    name: group.group.clone(),
                    line: group.line.clone()?,
                })
            })
            .collect()
    };
    let first = match arguments.group_by {
        GroupBy::Customer => "customer",
        GroupBy::Segment => "segment",
        GroupBy::Currency | GroupBy::FunctionalCurrency => "group",
    };
    let mut header: Vec<String> = vec![first.to_owned(), "currency".to_owned()];
    header.extend(aging.bucket_labels.iter().cloned());
    header.extend(["total".to_owned(), "overdue".to_owned(), "items".to_owned()]);
    let cells = |row: &Row| -> Vec<String> {
        let mut cells = vec![row.name.clone(), row.line.currency.clone()];
        cells.extend(row.line.buckets.iter().cloned());
        cells.push(amount(row.line.total.as_ref()));
        cells.push(amount(row.line.overdue.as_ref()));
        cells.push(row.line.items.to_string());
        cells
    };
    match arguments.output {
        Output::Csv => {
            let mut writer = csv::Writer::from_writer(std::io::stdout().lock());
            let written = std::iter::once(header)
                .chain(rows.iter().map(cells))
                .try_for_each(|record| writer.write_record(&record))
                .and_then(|()| writer.flush().map_err(csv::Error::from));
            written.map_err(|error| Failure::Other(anyhow::anyhow!("writing the CSV: {error}")))?;
        }
        Output::Table => {
            println!("AR aging as of {}", aging.as_of);
            if rows.is_empty() {
                println!("Nothing open.");
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new();
            table.load_preset(presets::UTF8_FULL_CONDENSED);
            table.set_header(header);
            for row in &rows {
                table.add_row(cells(row));
            }
            for column in table.column_iter_mut().skip(2) {
                column.set_cell_alignment(CellAlignment::Right);
            }
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
