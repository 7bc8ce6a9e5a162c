//! Billing's own settings (`OTC_BILLING__*`), beside the shared ones: where
//! invoice documents are stored, how they are delivered, and who the seller
//! is when a tenant has not said.

use std::path::PathBuf;

use otc_delivery::DeliverySettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    #[serde(default)]
    pub documents: DocumentStoreSettings,
    #[serde(default)]
    pub delivery: DeliverySettings,
    /// Render PDFs at all (the benchmark measures with and without).
    #[serde(default = "yes")]
    pub render_documents: bool,
    /// How often the scheduler invoices closed consolidated periods; 0 turns
    /// the automatic run off (RunBillingCycle still works).
    #[serde(default = "default_cycle_interval")]
    pub cycle_interval_seconds: u64,
}

fn default_cycle_interval() -> u64 {
    60
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            documents: DocumentStoreSettings::default(),
            delivery: DeliverySettings::default(),
            render_documents: true,
            cycle_interval_seconds: default_cycle_interval(),
        }
    }
}

fn yes() -> bool {
    true
}

/// Where rendered documents go: a local directory (default) or an
/// S3-compatible bucket. Read from a flat section (`kind` plus the fields of
/// that kind) so layered configuration can switch kinds: a `root` left over
/// from the defaults does not break an `s3` store.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawDocumentStoreSettings")]
pub enum DocumentStoreSettings {
    Local {
        root: PathBuf,
    },
    S3 {
        bucket: String,
        /// e.g. `http://127.0.0.1:59000` for a local S3-compatible server;
        /// absent for AWS itself.
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: secrecy::SecretString,
        /// Path-style addressing (most S3-compatible servers need it).
        path_style: bool,
        /// Allow plain HTTP endpoints (local servers).
        allow_http: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocumentStoreSettings {
    #[serde(default = "default_kind")]
    kind: String,
    #[serde(default)]
    root: Option<PathBuf>,
    #[serde(default)]
    bucket: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default = "default_region")]
    region: String,
    #[serde(default)]
    access_key_id: Option<String>,
    #[serde(default)]
    secret_access_key: Option<secrecy::SecretString>,
    #[serde(default = "yes")]
    path_style: bool,
    #[serde(default)]
    allow_http: bool,
}

fn default_kind() -> String {
    "local".to_owned()
}

fn default_root() -> PathBuf {
    PathBuf::from(".cache/billing-documents")
}

impl TryFrom<RawDocumentStoreSettings> for DocumentStoreSettings {
    type Error = String;

    fn try_from(raw: RawDocumentStoreSettings) -> Result<Self, Self::Error> {
        match raw.kind.as_str() {
            "local" => Ok(Self::Local {
                root: raw.root.unwrap_or_else(default_root),
            }),
            "s3" => {
                let missing = |field: &str| {
                    format!(
                        "`{field}` is required for kind s3 (OTC_BILLING__DOCUMENTS__{})",
                        field.to_uppercase()
                    )
                };
                Ok(Self::S3 {
                    bucket: raw.bucket.ok_or_else(|| missing("bucket"))?,
                    endpoint: raw.endpoint,
                    region: raw.region,
                    access_key_id: raw.access_key_id.ok_or_else(|| missing("access_key_id"))?,
                    secret_access_key: raw
                        .secret_access_key
                        .ok_or_else(|| missing("secret_access_key"))?,
                    path_style: raw.path_style,
                    allow_http: raw.allow_http,
                })
            }
            other => Err(format!("kind: `{other}` is not `local` or `s3`")),
        }
    }
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

impl Default for DocumentStoreSettings {
    fn default() -> Self {
        Self::Local {
            root: default_root(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn documents(json: serde_json::Value) -> Result<DocumentStoreSettings, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn an_s3_store_ignores_a_local_root_left_by_the_defaults() {
        let settings = documents(serde_json::json!({
            "kind": "s3", "root": "/var/lib/otc", "bucket": "docs",
            "access_key_id": "AK", "secret_access_key": "SK"
        }))
        .unwrap();
        assert!(
            matches!(settings, DocumentStoreSettings::S3 { ref bucket, path_style: true, .. } if bucket == "docs")
        );
    }

    #[test]
    fn a_missing_s3_field_or_a_typo_is_named() {
        let error = documents(serde_json::json!({"kind": "s3", "bucket": "docs"})).unwrap_err();
        assert!(error.to_string().contains("access_key_id"), "{error}");
        let error = documents(serde_json::json!({"kind": "local", "rot": "/x"})).unwrap_err();
        assert!(error.to_string().contains("rot"), "{error}");
        let error = documents(serde_json::json!({"kind": "ftp"})).unwrap_err();
        assert!(error.to_string().contains("ftp"), "{error}");
    }

    #[test]
    fn local_is_the_default() {
        let settings = documents(serde_json::json!({})).unwrap();
        assert!(matches!(settings, DocumentStoreSettings::Local { .. }));
    }
}
