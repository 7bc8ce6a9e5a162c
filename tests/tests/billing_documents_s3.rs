//! Billing's document store against a real S3-compatible server (the local
//! one `scripts/infra/infra.sh` starts on 127.0.0.1:59000): a rendered PDF
//! is written and read back verified, rewrites are idempotent, and an
//! object overwritten behind the store's back is caught.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use otc_billing::documents::{
    DocumentKindLabel, DocumentStore, DocumentView, LineView, Party, StoreError, TaxSummaryView,
    document_key, render_pdf,
};
use otc_billing::settings::DocumentStoreSettings;
use otc_testkit::unique_suffix;
use secrecy::SecretString;

const ACCESS_KEY_ID: &str = "otc-test";
const SECRET_ACCESS_KEY: &str = "otc-test-secret";
const REGION: &str = "us-east-1";

fn s3_endpoint() -> String {
    std::env::var("OTC_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:59000".to_owned())
}

/// object_store does not create buckets; the local server takes an
/// unsigned `CreateBucket`.
async fn create_bucket(endpoint: &str, bucket: &str) {
    let response = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!("no S3-compatible server at {endpoint} (start scripts/infra/infra.sh): {error}")
        });
    assert!(
        response.status().is_success(),
        "creating bucket {bucket}: {}",
        response.status()
    );
}

fn settings(endpoint: &str, bucket: &str) -> DocumentStoreSettings {
    DocumentStoreSettings::S3 {
        bucket: bucket.to_owned(),
        endpoint: Some(endpoint.to_owned()),
        region: REGION.to_owned(),
        access_key_id: ACCESS_KEY_ID.to_owned(),
        secret_access_key: SecretString::from(SECRET_ACCESS_KEY),
        path_style: true,
        allow_http: true,
    }
}

fn invoice() -> DocumentView {
    DocumentView {
        kind: DocumentKindLabel::Invoice,
        number: "INV-2026-000314".to_owned(),
        issue_date: "2026-11-20".to_owned(),
        due_date: Some("2026-12-20".to_owned()),
        seller: Party {
            name: "Nordwind Handels GmbH".to_owned(),
            address_lines: vec!["Königstraße 12".to_owned(), "70173 Stuttgart".to_owned()],
            tax_id: Some("DE811234567".to_owned()),
        },
        buyer: Party {
            name: "Brasserie Éloïse SARL".to_owned(),
            address_lines: vec!["14 rue de la Paix".to_owned(), "75002 Paris".to_owned()],
            tax_id: None,
        },
        currency: "EUR".to_owned(),
        lines: vec![LineView {
            description: "Espresso machine, dual boiler".to_owned(),
            sku: "ESP-2".to_owned(),
            quantity: "1".to_owned(),
            unit_price: "1,200.00".to_owned(),
            net: "1,200.00".to_owned(),
            tax_rate: "20%".to_owned(),
            tax: "240.00".to_owned(),
        }],
        tax_summary: vec![TaxSummaryView {
            label: "VAT 20%".to_owned(),
            net: "1,200.00".to_owned(),
            tax: "240.00".to_owned(),
        }],
        net_total: "1,200.00".to_owned(),
        tax_total: "240.00".to_owned(),
        total: "1,440.00".to_owned(),
        functional_total: None,
        terms: "Net 30".to_owned(),
        discount: None,
        payment_instructions: vec!["IBAN DE89 3704 0044 0532 0130 00".to_owned()],
        references: Vec::new(),
        notes: Vec::new(),
    }
}

#[tokio::test]
async fn documents_round_trip_through_s3_and_tampering_is_caught() {
    let endpoint = s3_endpoint();
    let bucket = format!("otc-documents-{}", unique_suffix());
    create_bucket(&endpoint, &bucket).await;
    let store = DocumentStore::from_settings(&settings(&endpoint, &bucket)).unwrap();
    let key = document_key("tenant-a", 2026, "INV-2026-000314");
    let pdf = render_pdf(&invoice()).unwrap();

    let stored = store.put(&key, pdf.clone()).await.unwrap();
    assert_eq!(stored.key, "tenant-a/2026/INV-2026-000314.pdf");
    assert_eq!(stored.size, u64::try_from(pdf.len()).unwrap());
    let read = store.get_verified(&key, &stored.sha256_hex).await.unwrap();
    assert_eq!(read.as_ref(), pdf.as_slice());

    // A re-render of the same view writes the same bytes: accepted as is.
    let again = store
        .put(&key, render_pdf(&invoice()).unwrap())
        .await
        .unwrap();
    assert_eq!(again, stored);
    match store.put(&key, b"another document".to_vec()).await {
        Err(StoreError::Conflict { existing, .. }) => assert_eq!(existing, stored.sha256_hex),
        other => panic!("expected a conflict, got {other:?}"),
    }

    let missing = document_key("tenant-a", 2026, "INV-2026-999999");
    match store.get_verified(&missing, &stored.sha256_hex).await {
        Err(StoreError::NotFound { key }) => assert_eq!(key, missing),
        other => panic!("expected not found, got {other:?}"),
    }

    // Overwrite the object through object_store directly, as anyone with
    // write access to the bucket could.
    let raw = AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_endpoint(&endpoint)
        .with_region(REGION)
        .with_access_key_id(ACCESS_KEY_ID)
        .with_secret_access_key(SECRET_ACCESS_KEY)
        .with_virtual_hosted_style_request(false)
        .with_allow_http(true)
        .build()
        .unwrap();
    let mut altered = pdf.clone();
    altered.extend_from_slice(b"\n% appended after issue\n");
    raw.put(&Path::from(key.as_str()), PutPayload::from(altered))
        .await
        .unwrap();

    match store.get_verified(&key, &stored.sha256_hex).await {
        Err(StoreError::HashMismatch {
            key: in_error,
            expected,
            actual,
        }) => {
            assert_eq!(in_error, key);
            assert_eq!(expected, stored.sha256_hex);
            assert_ne!(actual, stored.sha256_hex);
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
}
