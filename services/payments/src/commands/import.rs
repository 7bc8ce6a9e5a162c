//! Bank statement import: the file is parsed whole (a malformed file changes
//! nothing), each statement is recorded once by its identity, every credit
//! line becomes a receipt (cash-applied like any other) and direct-debit
//! results settle or return their collections, all in one transaction.

use sha2::Digest;

use super::cash_application::Outcome;
use super::receive::{self, IncomingPayment};
use super::{Actor, CommandError};
use crate::direct_debit::{self, Settlement};
use crate::store::Tx;
use crate::store::policies::PolicyRow;
use crate::store::statements::{self, NewStatement};
use otc_bank_formats::{self as formats, Direction, Format, Statement};
use otc_proto::payments as api;
use otc_shared::Money;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Reads the file: the format asked for (or the detected one) and every
/// statement in it, or the reason it is refused, naming where.
pub fn parse(
    format: Option<Format>,
    content: &[u8],
) -> Result<(Format, Vec<Statement>), CommandError> {
    let format = match format {
        Some(format) => format,
        None => formats::detect(content).ok_or_else(|| {
            CommandError::invalid(
                "content",
                "is not a camt.053, camt.054, MT940 or BAI2 statement",
            )
        })?,
    };
    let statements = formats::parse(format, content)
        .map_err(|error| CommandError::invalid("content", error.to_string()))?;
    if statements.is_empty() {
        return Err(CommandError::invalid("content", "holds no statement"));
    }
    Ok((format, statements))
}

fn account_of(statement: &Statement) -> String {
    statement
        .account
        .iban
        .clone()
        .or_else(|| statement.account.number.clone())
        .unwrap_or_default()
}

pub async fn import(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    file_name: &str,
    format: Format,
    statements_in_file: &[Statement],
    file_sha256: &str,
) -> Result<api::ImportStatementResponse, CommandError> {
    let mut imported = Vec::with_capacity(statements_in_file.len());
    for statement in statements_in_file {
        imported
            .push(import_statement(tx, actor, policy, file_name, statement, file_sha256).await?);
    }
    Ok(api::ImportStatementResponse {
        format: format.to_string(),
        statements: imported,
    })
}

/// A credit line as a payment to record.
fn statement_payment(
    identity: &str,
    statement_id: uuid::Uuid,
    line: &direct_debit::StatementLine<'_>,
) -> Result<IncomingPayment, CommandError> {
    let transaction = line.transaction;
    let amount =
        Money::parse(&transaction.amount.to_string(), &transaction.currency).map_err(|error| {
            CommandError::invalid(
                "content",
                format!("entry {}: {error}", transaction.reference),
            )
        })?;
    Ok(IncomingPayment {
        source_key: format!("statement:{identity}/{}", transaction.reference),
        request_hash: sha256_hex(
            format!(
                "{identity}|{}|{}",
                transaction.reference, transaction.amount
            )
            .as_bytes(),
        ),
        channel: "bank_statement",
        customer_id: None,
        amount,
        value_date: line.entry.value_date,
        payer_name: transaction.counterparty_name.clone().unwrap_or_default(),
        payer_account: transaction.counterparty_account.clone().unwrap_or_default(),
        remittance: transaction.remittance.clone(),
        external_reference: transaction
            .end_to_end_id
            .clone()
            .unwrap_or_else(|| transaction.reference.clone()),
        statement_id: Some(statement_id),
        known_allocation: None,
    })
}

async fn import_statement(
    tx: &mut Tx,
    actor: &Actor,
    policy: &PolicyRow,
    file_name: &str,
    statement: &Statement,
    file_sha256: &str,
) -> Result<api::ImportedStatement, CommandError> {
    let identity = statement.identity();
    let account = account_of(statement);
    let statement_id = uuid::Uuid::now_v7();
    let mut summary = api::ImportedStatement {
        statement_id: statement.statement_id.clone(),
        account: account.clone(),
        ..api::ImportedStatement::default()
    };
    let recorded = statements::insert(
        tx,
        actor.tenant.as_str(),
        &NewStatement {
            id: statement_id,
            identity: &identity,
            format: &statement.format.to_string(),
            file_name,
            file_sha256,
            account: &account,
            message_id: &statement.message_id,
            statement_ref: &statement.statement_id,
            entries: i32::try_from(statement.entries.len()).unwrap_or(i32::MAX),
            imported_by: &actor.subject,
        },
    )
    .await?;
    if !recorded {
        tracing::info!(%identity, "statement imported before: skipped");
        return Ok(summary);
    }
    summary.imported = true;
    // Credits first, in one batch (a return in the same file then finds the
    // receipt it returns); direct-debit settlements are applied to their
    // collection's invoice.
    let mut payments = Vec::new();
    let mut settlements = Vec::new();
    for entry in &statement.entries {
        if !matches!(entry.direction, Direction::Credit) || entry.reversal {
            continue;
        }
        for transaction in &entry.transactions {
            let line = direct_debit::StatementLine { entry, transaction };
            match direct_debit::settlement(tx, &line, statement_id).await? {
                Settlement::Settles(payment, collection_id) => {
                    settlements.push((payments.len(), collection_id));
                    payments.push(*payment);
                }
                Settlement::AlreadySettled => summary.already_recorded += 1,
                Settlement::NotOurs => {
                    payments.push(statement_payment(&identity, statement_id, &line)?);
                }
            }
        }
    }
    let received = receive::receive_many(tx, actor, policy, &payments).await?;
    for (index, collection_id) in &settlements {
        if let Some(receipt) = received.get(*index) {
            direct_debit::store::mark_settled(tx, *collection_id, receipt.receipt.id).await?;
        }
    }
    summary.collections_settled = u32::try_from(settlements.len()).unwrap_or(u32::MAX);
    for (index, one) in received.iter().enumerate() {
        if settlements.iter().any(|(settled, _)| *settled == index) {
            continue;
        }
        summary.receipts += 1;
        match one.outcome {
            Some(Outcome::AutoApplied) => summary.auto_applied += 1,
            Some(Outcome::Exception) => summary.exceptions += 1,
            None => {}
        }
    }
    for entry in &statement.entries {
        if matches!(entry.direction, Direction::Credit) && !entry.reversal {
            continue;
        }
        for transaction in &entry.transactions {
            let line = direct_debit::StatementLine { entry, transaction };
            let returned = matches!(entry.direction, Direction::Debit)
                && (entry.reversal || transaction.return_reason.is_some());
            if returned && direct_debit::record_return(tx, actor, &line).await? {
                summary.returns += 1;
            } else {
                summary.skipped_debits += 1;
            }
        }
    }
    tracing::info!(
        %identity,
        receipts = summary.receipts,
        auto_applied = summary.auto_applied,
        exceptions = summary.exceptions,
        "statement imported"
    );
    Ok(summary)
}
