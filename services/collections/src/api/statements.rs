//! Customer statements (data and PDF) and the per-customer balances the
//! ledger check reads, for `LedgerService`.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::Status;
use uuid::Uuid;

use super::{Fields, begin, commit, read_error};
use crate::domain::balances::LedgerBalance;
use crate::domain::statement::{self, CurrencyStatement, StatementLine};
use crate::domain::wire_name;
use crate::store::{balances, movements, statements};
use otc_proto::collections as wire;
use otc_shared::TenantId;
use otc_shared::address::Address;
use otc_shared::grpc::{non_empty, page};
use otc_shared::money::column_to_proto as money;
use otc_shared::time::to_proto as timestamp;

/// More movements than this in one statement is a range to narrow (the
/// answer must stay well inside a gRPC message).
pub const MAX_STATEMENT_LINES: i64 = 20_000;

/// A statement request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementQuery {
    pub customer_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: Option<String>,
}

impl StatementQuery {
    /// Names every bad field at once.
    pub fn parse(message: &wire::GetCustomerStatementRequest) -> Result<Self, Status> {
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let from = fields.date("from_date", &message.from_date);
        let to = fields.date("to_date", &message.to_date);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            fields.add("to_date", format!("{to} is before from_date {from}"));
        }
        let currency = non_empty(&message.currency_code).map(|code| code.to_uppercase());
        if let Some(code) = &currency
            && otc_shared::Currency::parse(code).is_err()
        {
            fields.add(
                "currency_code",
                format!("`{code}` is not an ISO 4217 currency"),
            );
        }
        fields.finish()?;
        match (customer_id, from, to) {
            (Some(customer_id), Some(from), Some(to)) => Ok(Self {
                customer_id,
                from,
                to,
                currency,
            }),
            _ => Err(Status::internal("a checked statement request lost a field")),
        }
    }

    /// The file name of the statement's PDF.
    pub fn file_name(&self) -> String {
        format!(
            "statement-{}-{}-{}.pdf",
            self.customer_id, self.from, self.to
        )
    }
}

/// Reads and adds up the statement in one tenant-scoped transaction (one
/// snapshot: opening, lines and aging agree with each other).
pub async fn read_statement(
    pool: &PgPool,
    tenant: &TenantId,
    query: &StatementQuery,
) -> Result<wire::CustomerStatement, Status> {
    let from = statements::start_of(query.from);
    let until = query
        .to
        .checked_add_days(Days::new(1))
        .map(statements::start_of)
        .ok_or_else(|| {
            otc_shared::grpc::invalid_argument(&otc_shared::violations::Violations::single(
                "to_date",
                "is past the last date this service can handle",
            ))
        })?;
    let currency = query.currency.as_deref();
    let mut tx = begin(pool, tenant).await?;
    let party = statements::party(&mut tx, query.customer_id)
        .await
        .map_err(read_error)?;
    let openings = statements::openings(&mut tx, query.customer_id, from, currency)
        .await
        .map_err(read_error)?;
    let lines = statements::movements(
        &mut tx,
        query.customer_id,
        from,
        until,
        currency,
        MAX_STATEMENT_LINES.saturating_add(1),
    )
    .await
    .map_err(read_error)?;
    let positions = statements::positions(&mut tx, query.customer_id, until, currency)
        .await
        .map_err(read_error)?;
    let parked = movements::parked_count(&mut tx, query.customer_id)
        .await
        .map_err(read_error)?;
    let anything = balances::customer_page(&mut tx, Some(query.customer_id), None, 1)
        .await
        .map_err(read_error)?;
    commit(tx).await?;
    if party.is_none() && anything.is_empty() {
        return Err(Status::not_found(format!(
            "customer {} has no ledger",
            query.customer_id
        )));
    }
    if i64::try_from(lines.len()).unwrap_or(i64::MAX) > MAX_STATEMENT_LINES {
        return Err(otc_shared::grpc::invalid_argument(
            &otc_shared::violations::Violations::single(
                "from_date",
                format!(
                    "the range holds more than {MAX_STATEMENT_LINES} movements: ask for a shorter one"
                ),
            ),
        ));
    }
    let currencies = statement::build(&openings, lines, &positions, query.to);
    let (customer_name, billing_address) = match party {
        Some(party) => {
            let address = party
                .billing_address
                .and_then(|json| serde_json::from_value::<Address>(json).ok())
                .map(|address| address.to_proto());
            (party.legal_name, address)
        }
        None => (String::new(), None),
    };
    Ok(wire::CustomerStatement {
        customer_id: query.customer_id.to_string(),
        customer_name,
        billing_address,
        from_date: query.from.to_string(),
        to_date: query.to.to_string(),
        currencies: currencies.iter().map(currency_statement).collect(),
        parked_movements: u32::try_from(parked).unwrap_or(u32::MAX),
    })
}

fn functional(value: &Option<(Decimal, String)>) -> Option<otc_proto::types::Money> {
    value
        .as_ref()
        .map(|(amount, currency)| money(*amount, currency))
}

fn line(row: &StatementLine) -> wire::StatementLine {
    let movement = &row.movement;
    let currency = &movement.currency;
    wire::StatementLine {
        movement_id: movement.id.to_string(),
        date: movement.occurred_at.date_naive().to_string(),
        occurred_at: Some(timestamp(movement.occurred_at)),
        item_id: movement.item_id.to_string(),
        item_number: movement.item_number.clone(),
        document_id: movement.document_id.to_string(),
        kind: wire_name(&movement.kind),
        debit: Some(money(row.debit(), currency)),
        credit: Some(money(row.credit(), currency)),
        balance: Some(money(row.balance, currency)),
        functional_amount: movement
            .functional_amount
            .zip(movement.functional_currency.as_deref())
            .map(|(amount, code)| money(amount, code)),
    }
}

fn currency_statement(row: &CurrencyStatement) -> wire::CurrencyStatement {
    let currency = &row.currency;
    wire::CurrencyStatement {
        currency_code: currency.clone(),
        opening_balance: Some(money(row.opening, currency)),
        lines: row.lines.iter().map(line).collect(),
        total_debits: Some(money(row.debits, currency)),
        total_credits: Some(money(row.credits, currency)),
        closing_balance: Some(money(row.closing, currency)),
        functional_opening_balance: functional(&row.functional_opening),
        functional_closing_balance: functional(&row.functional_closing),
        aging: Some(wire::StatementAging {
            not_due: Some(money(row.aging.not_due, currency)),
            days_1_30: Some(money(row.aging.days_1_30, currency)),
            days_31_60: Some(money(row.aging.days_31_60, currency)),
            days_61_90: Some(money(row.aging.days_61_90, currency)),
            over_90: Some(money(row.aging.over_90, currency)),
        }),
    }
}

/// A page of customers' balances, each row checked against the ledger's
/// own invariant.
pub async fn list_balances(
    pool: &PgPool,
    tenant: &TenantId,
    message: &wire::ListCustomerBalancesRequest,
) -> Result<wire::ListCustomerBalancesResponse, Status> {
    let (limit, after) = page(message.page.as_ref())?;
    let mut fields = Fields::new();
    let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
    fields.finish()?;
    let mut tx = begin(pool, tenant).await?;
    let customers = balances::customer_page(&mut tx, customer_id, after, limit)
        .await
        .map_err(read_error)?;
    let rows = balances::of_customers(&mut tx, &customers)
        .await
        .map_err(read_error)?;
    commit(tx).await?;
    Ok(wire::ListCustomerBalancesResponse {
        balances: rows.iter().map(ledger_balance).collect(),
        page: Some(otc_shared::grpc::page_info(&customers, limit)),
    })
}

fn ledger_balance(row: &LedgerBalance) -> wire::LedgerBalance {
    let currency = &row.currency;
    let violations = row.violations();
    if !violations.is_empty() {
        tracing::error!(
            customer_id = %row.customer_id,
            currency = %currency,
            ?violations,
            "the ledger's own invariant does not hold"
        );
    }
    wire::LedgerBalance {
        customer_id: row.customer_id.to_string(),
        balance: Some(money(row.balance, currency)),
        invoices: Some(money(row.totals.invoices, currency)),
        debit_notes: Some(money(row.totals.debit_notes, currency)),
        credit_notes: Some(money(row.totals.credit_notes, currency)),
        applied_cash: Some(money(row.totals.applied_cash, currency)),
        discounts: Some(money(row.totals.discounts, currency)),
        write_offs: Some(money(row.totals.write_offs, currency)),
        parked_movements: u32::try_from(row.parked).unwrap_or(u32::MAX),
        items_out_of_balance: u32::try_from(row.items_out_of_balance).unwrap_or(u32::MAX),
        violations,
    }
}
