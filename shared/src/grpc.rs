//! What every service's gRPC handlers share: field violations as
//! `google.rpc.BadRequest`, database errors as UNAVAILABLE or INTERNAL,
//! tenant-scoped transactions, keyset pages and id parsing.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, Transaction};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use uuid::Uuid;

use crate::TenantId;
use crate::violations::Violations;

/// Why a command (a service's state change, run from gRPC or an event) did
/// not happen; [`status_of`] maps it to the wire.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("invalid request: {0}")]
    Invalid(Violations),
    #[error("{0}")]
    NotFound(String),
    /// The command does not apply in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Optimistic concurrency: someone else changed it first.
    #[error("{0}")]
    Aborted(String),
    /// The same idempotency key was used for a different request.
    #[error("{0}")]
    AlreadyExists(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl CommandError {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(Violations::single(field, description))
    }
}

pub fn status_of(error: CommandError) -> Status {
    match error {
        CommandError::Invalid(violations) => invalid_argument(&violations),
        CommandError::NotFound(message) => Status::not_found(message),
        CommandError::FailedPrecondition(message) => Status::failed_precondition(message),
        CommandError::Aborted(message) => Status::aborted(message),
        CommandError::AlreadyExists(message) => Status::already_exists(message),
        CommandError::Database(error) => database_status(&error),
    }
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

pub fn invalid_argument(violations: &Violations) -> Status {
    let field_violations: Vec<tonic_types::FieldViolation> = violations
        .iter()
        .map(|violation| {
            tonic_types::FieldViolation::new(violation.field.clone(), violation.description.clone())
        })
        .collect();
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {violations}"),
        ErrorDetails::with_bad_request(field_violations),
    )
}

pub fn database_status(error: &sqlx::Error) -> Status {
    if crate::db::is_transient(error) {
        tracing::warn!(%error, "database unavailable");
        Status::unavailable("the database is unavailable; retry")
    } else {
        tracing::error!(%error, "database error");
        Status::internal("internal error")
    }
}

pub async fn begin(
    pool: &PgPool,
    tenant: &TenantId,
) -> Result<Transaction<'static, Postgres>, Status> {
    crate::db::begin_for_tenant(pool, tenant)
        .await
        .map_err(|error| database_status(&error))
}

pub async fn commit(tx: Transaction<'static, Postgres>) -> Result<(), Status> {
    tx.commit().await.map_err(|error| database_status(&error))
}

/// Page size and the id to continue after, from a page request.
/// The page size asked for: the default when unset, at most the maximum.
pub fn page_size(request: Option<&otc_proto::types::PageRequest>) -> i64 {
    let size = request.map_or(0, |page| page.page_size);
    i64::from(if size == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        size.min(MAX_PAGE_SIZE)
    })
}

pub fn page(
    request: Option<&otc_proto::types::PageRequest>,
) -> Result<(i64, Option<Uuid>), Status> {
    let size = page_size(request);
    let after = match request
        .map(|page| page.page_token.trim())
        .filter(|token| !token.is_empty())
    {
        None => None,
        Some(token) => Some(Uuid::parse_str(token).map_err(|_| {
            invalid_argument(&Violations::single(
                "page.page_token",
                "is not a token this service gave out",
            ))
        })?),
    };
    Ok((size, after))
}

/// The page info of an answer whose rows have these (keyset) ids.
pub fn page_info(ids: &[Uuid], limit: i64) -> otc_proto::types::PageInfo {
    otc_proto::types::PageInfo {
        next_page_token: next_page_token(ids, limit),
    }
}

pub fn next_page_token(ids: &[Uuid], limit: i64) -> String {
    if i64::try_from(ids.len()).unwrap_or(0) < limit {
        return String::new();
    }
    ids.last().map(Uuid::to_string).unwrap_or_default()
}

pub fn parse_id<T>(
    field: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, crate::ids::IdError>,
) -> Result<T, Status> {
    parse(text).map_err(|error| invalid_argument(&Violations::single(field, error.to_string())))
}

/// A request whose only field to check is one required UUID.
pub fn required_uuid(field: &str, text: &str) -> Result<Uuid, Status> {
    let mut fields = Fields::new();
    let id = fields.uuid(field, text);
    fields.finish()?;
    id.ok_or_else(|| invalid_argument(&Violations::single(field, "is required")))
}

pub fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// Field parsers that collect every violation before failing.
pub struct Fields(pub Violations);

impl Fields {
    pub fn new() -> Self {
        Self(Violations::new())
    }

    pub fn uuid(&mut self, field: &str, text: &str) -> Option<Uuid> {
        let text = text.trim();
        if text.is_empty() {
            self.0.add(field, "is required");
            return None;
        }
        Uuid::parse_str(text)
            .map_err(|_| self.0.add(field, format!("`{text}` is not a UUID")))
            .ok()
    }

    pub fn optional_uuid(&mut self, field: &str, text: &str) -> Option<Uuid> {
        if text.trim().is_empty() {
            return None;
        }
        self.uuid(field, text)
    }

    pub fn date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            self.0.add(field, "is required (YYYY-MM-DD)");
            return None;
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| {
                self.0
                    .add(field, format!("`{text}` is not a date (YYYY-MM-DD)"))
            })
            .ok()
    }

    pub fn optional_date(&mut self, field: &str, text: &str) -> Option<NaiveDate> {
        if text.trim().is_empty() {
            return None;
        }
        self.date(field, text)
    }

    pub fn decimal(&mut self, field: &str, text: &str) -> Option<Decimal> {
        let text = text.trim();
        if text.is_empty() {
            self.0.add(field, "is required");
            return None;
        }
        Decimal::from_str(text)
            .map_err(|_| {
                self.0
                    .add(field, format!("`{text}` is not a decimal number"))
            })
            .ok()
    }

    pub fn optional_decimal(&mut self, field: &str, text: &str) -> Option<Decimal> {
        if text.trim().is_empty() {
            return None;
        }
        self.decimal(field, text)
    }

    pub fn money(
        &mut self,
        field: &str,
        money: Option<&otc_proto::types::Money>,
    ) -> Option<crate::Money> {
        crate::Money::from_proto(field, money)
            .map_err(|error| self.0.add(&error.field, error.error.to_string()))
            .ok()
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.add(field, description);
    }

    /// Fails with every violation found, or passes.
    pub fn finish(self) -> Result<(), Status> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(invalid_argument(&self.0))
        }
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self::new()
    }
}

/// The SHA-256 of an encoded request (idempotency: same key, same request).
pub fn request_hash<M: prost::Message>(message: &M) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(message.encode_to_vec());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
