//! Where rendered documents are kept: a local directory or an S3-compatible
//! bucket (via `object_store`). Each write reports the SHA-256 the caller
//! records; each read is checked against it, so an altered file is caught.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::settings::DocumentStoreSettings;

/// What a successful write stored, for the caller to record beside the
/// document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub key: String,
    /// Lower-case hex SHA-256 of the stored bytes.
    pub sha256_hex: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("document store could not be set up ({what}): {source}")]
    Setup {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("document key {key:?} is not a valid object path: {source}")]
    InvalidKey {
        key: String,
        #[source]
        source: object_store::path::Error,
    },
    #[error("document {key} not found")]
    NotFound { key: String },
    #[error("document {key} was altered: expected SHA-256 {expected}, found {actual}")]
    HashMismatch {
        key: String,
        expected: String,
        actual: String,
    },
    /// An issued document never changes, so different bytes under a key
    /// that is already written are refused rather than overwritten.
    #[error(
        "document {key} already exists with SHA-256 {existing}, refusing to replace it with {new}"
    )]
    Conflict {
        key: String,
        existing: String,
        new: String,
    },
    #[error("{operation} of document {key} failed: {source}")]
    Backend {
        key: String,
        operation: &'static str,
        #[source]
        source: object_store::Error,
    },
}

/// Documents by key, in whichever store the settings name.
#[derive(Clone)]
pub struct DocumentStore {
    objects: Arc<dyn ObjectStore>,
}

// Hand-written so no credential of the S3 client can reach a log line.
impl std::fmt::Debug for DocumentStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DocumentStore")
            .field("objects", &self.objects.to_string())
            .finish()
    }
}

impl DocumentStore {
    pub fn from_settings(settings: &DocumentStoreSettings) -> Result<Self, StoreError> {
        match settings {
            DocumentStoreSettings::Local { root } => {
                let what = || format!("local directory {}", root.display());
                std::fs::create_dir_all(root).map_err(|source| StoreError::Setup {
                    what: what(),
                    source: Box::new(source),
                })?;
                let objects =
                    LocalFileSystem::new_with_prefix(root).map_err(|source| StoreError::Setup {
                        what: what(),
                        source: Box::new(source),
                    })?;
                Ok(Self::from_object_store(Arc::new(objects)))
            }
            DocumentStoreSettings::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                path_style,
                allow_http,
            } => {
                install_tls_crypto_provider();
                // `new`, not `from_env`: only the settings decide where documents go.
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key.expose_secret())
                    .with_virtual_hosted_style_request(!path_style)
                    .with_allow_http(*allow_http);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                let objects = builder.build().map_err(|source| StoreError::Setup {
                    what: format!("S3 bucket {bucket}"),
                    source: Box::new(source),
                })?;
                Ok(Self::from_object_store(Arc::new(objects)))
            }
        }
    }

    /// Any `object_store` backend (e.g. in-memory for a test of a caller).
    pub fn from_object_store(objects: Arc<dyn ObjectStore>) -> Self {
        Self { objects }
    }

    /// Stores `bytes` under `key`. Writing the same bytes again is a no-op
    /// success (a retried delivery, a re-render); different bytes under an
    /// existing key are a [`StoreError::Conflict`].
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<StoredDocument, StoreError> {
        let path = object_path(key)?;
        let stored = StoredDocument {
            key: key.to_owned(),
            sha256_hex: sha256_hex(&bytes),
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        };
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .objects
            .put_opts(&path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(stored),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let existing = sha256_hex(&self.fetch(key, &path).await?);
                if existing == stored.sha256_hex {
                    return Ok(stored);
                }
                Err(StoreError::Conflict {
                    key: key.to_owned(),
                    existing,
                    new: stored.sha256_hex,
                })
            }
            Err(source) => Err(StoreError::Backend {
                key: key.to_owned(),
                operation: "write",
                source,
            }),
        }
    }

    /// The bytes under `key`, after checking they still hash to
    /// `expected_sha256_hex` (either case).
    pub async fn get_verified(
        &self,
        key: &str,
        expected_sha256_hex: &str,
    ) -> Result<Bytes, StoreError> {
        let path = object_path(key)?;
        let bytes = self.fetch(key, &path).await?;
        let actual = sha256_hex(&bytes);
        let expected = expected_sha256_hex.to_ascii_lowercase();
        if actual != expected {
            return Err(StoreError::HashMismatch {
                key: key.to_owned(),
                expected,
                actual,
            });
        }
        Ok(bytes)
    }

    async fn fetch(&self, key: &str, path: &Path) -> Result<Bytes, StoreError> {
        let backend_error = |source| match source {
            object_store::Error::NotFound { .. } => StoreError::NotFound {
                key: key.to_owned(),
            },
            source => StoreError::Backend {
                key: key.to_owned(),
                operation: "read",
                source,
            },
        };
        let found = self.objects.get(path).await.map_err(backend_error)?;
        found.bytes().await.map_err(backend_error)
    }
}

/// `<tenant>/<yyyy>/<document-number>.pdf`, with anything but ASCII
/// letters, digits, `.`, `_` and `-` in a part replaced by `_`, so a number
/// such as `INV/2026/12` cannot add directories or climb out of the root.
pub fn document_key(tenant: &str, issue_year: i32, number: &str) -> String {
    format!(
        "{}/{issue_year:04}/{}.pdf",
        key_segment(tenant),
        key_segment(number)
    )
}

fn key_segment(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-') {
                character
            } else {
                '_'
            }
        })
        .collect();
    // Empty, `.` and `..` are not names: they would address another folder.
    if cleaned.chars().all(|character| character == '.') {
        return "_".repeat(cleaned.len().max(1));
    }
    cleaned
}

fn object_path(key: &str) -> Result<Path, StoreError> {
    Path::parse(key).map_err(|source| StoreError::InvalidKey {
        key: key.to_owned(),
        source,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// object_store's HTTP client is built with rustls but no bundled provider,
/// so the workspace keeps the single provider (ring) that tonic and sqlx
/// already use; rustls cannot choose when two are compiled in.
fn install_tls_crypto_provider() {
    // Err means a provider is already installed, which is just as good.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::PathBuf;

    use super::*;

    struct ScratchDirectory(PathBuf);

    impl ScratchDirectory {
        fn new() -> Self {
            let name = format!("otc-billing-documents-{}", uuid::Uuid::now_v7().simple());
            Self(std::env::temp_dir().join(name))
        }

        fn store(&self) -> DocumentStore {
            DocumentStore::from_settings(&DocumentStoreSettings::Local {
                root: self.0.join("nested").join("root"),
            })
            .unwrap()
        }

        fn file(&self, key: &str) -> PathBuf {
            self.0.join("nested").join("root").join(key)
        }
    }

    impl Drop for ScratchDirectory {
        fn drop(&mut self) {
            let _ignored = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn local_round_trip_creates_the_root_and_verifies_the_hash() {
        let scratch = ScratchDirectory::new();
        let store = scratch.store();
        let key = document_key("acme", 2026, "INV-2026-000001");
        let bytes = b"%PDF-1.7 not really".to_vec();

        let stored = store.put(&key, bytes.clone()).await.unwrap();

        assert_eq!(stored.key, "acme/2026/INV-2026-000001.pdf");
        assert_eq!(stored.size, 19);
        assert_eq!(stored.sha256_hex, sha256_hex(&bytes));
        assert_eq!(stored.sha256_hex.len(), 64);
        assert!(scratch.file(&key).is_file());
        let read = store.get_verified(&key, &stored.sha256_hex).await.unwrap();
        assert_eq!(read.as_ref(), bytes.as_slice());
        let upper = stored.sha256_hex.to_ascii_uppercase();
        assert!(store.get_verified(&key, &upper).await.is_ok());
    }

    #[tokio::test]
    async fn writing_the_same_bytes_again_succeeds_and_different_bytes_conflict() {
        let scratch = ScratchDirectory::new();
        let store = scratch.store();
        let key = document_key("acme", 2026, "INV-2026-000002");

        let first = store.put(&key, b"same".to_vec()).await.unwrap();
        let again = store.put(&key, b"same".to_vec()).await.unwrap();
        assert_eq!(first, again);

        let error = store.put(&key, b"different".to_vec()).await.unwrap_err();
        match error {
            StoreError::Conflict {
                key: in_error,
                existing,
                ..
            } => {
                assert_eq!(in_error, key);
                assert_eq!(existing, first.sha256_hex);
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let kept = store.get_verified(&key, &first.sha256_hex).await.unwrap();
        assert_eq!(kept.as_ref(), b"same");
    }

    #[tokio::test]
    async fn a_file_altered_on_disk_is_a_hash_mismatch() {
        let scratch = ScratchDirectory::new();
        let store = scratch.store();
        let key = document_key("acme", 2026, "INV-2026-000003");
        let stored = store.put(&key, b"original".to_vec()).await.unwrap();

        std::fs::write(scratch.file(&key), b"tampered").unwrap();

        match store.get_verified(&key, &stored.sha256_hex).await {
            Err(StoreError::HashMismatch {
                key: in_error,
                expected,
                actual,
            }) => {
                assert_eq!(in_error, key);
                assert_eq!(expected, stored.sha256_hex);
                assert_eq!(actual, sha256_hex(b"tampered"));
            }
            other => panic!("expected a hash mismatch, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_missing_key_is_not_found() {
        let scratch = ScratchDirectory::new();
        let store = scratch.store();
        let key = document_key("acme", 2026, "INV-2026-404404");

        match store.get_verified(&key, &sha256_hex(b"")).await {
            Err(StoreError::NotFound { key: in_error }) => assert_eq!(in_error, key),
            other => panic!("expected not found, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn keys_that_climb_out_are_refused() {
        let scratch = ScratchDirectory::new();
        let store = scratch.store();
        let error = store.put("acme/../escape.pdf", b"x".to_vec()).await;
        assert!(
            matches!(error, Err(StoreError::InvalidKey { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn document_keys_are_sanitised() {
        assert_eq!(
            document_key("acme", 2026, "INV-2026-000012"),
            "acme/2026/INV-2026-000012.pdf"
        );
        assert_eq!(
            document_key("ac/me", 2026, "INV/2026/12"),
            "ac_me/2026/INV_2026_12.pdf"
        );
        assert_eq!(document_key("..", 26, "a b\\c"), "__/0026/a_b_c.pdf");
        assert_eq!(document_key("", 2026, "Nº 7"), "_/2026/N__7.pdf");
        let key = document_key("../../etc", 2026, "..");
        assert!(Path::parse(&key).is_ok(), "{key}");
        assert_eq!(key, ".._.._etc/2026/__.pdf");
    }
}
