//! gRPC handlers: thin. Each authorizes, opens a transaction scoped to the
//! caller's tenant, runs a command and maps the outcome to the wire.

pub mod config;
pub mod convert;
pub mod invoices;

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use tonic::Status;
use uuid::Uuid;

use otc_shared::violations::Violations;

pub use otc_shared::grpc::{
    begin, commit, database_status, invalid_argument, non_empty, status_of,
};

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
    ) -> Option<otc_shared::Money> {
        otc_shared::Money::from_proto(field, money)
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
