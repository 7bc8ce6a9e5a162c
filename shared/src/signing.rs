//! The suite's one webhook signature scheme: billing signs the invoice
//! webhooks it sends, payments verifies the provider webhooks it receives.
//!
//! Header `OTC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
//! The timestamp is inside the MAC so a captured request cannot be replayed
//! later with a fresh `t`; several `v1` entries may be present so a sender can
//! sign with the old and the new secret while receivers rotate.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The HTTP header that carries the signature.
pub const SIGNATURE_HEADER: &str = "OTC-Signature";

/// Accepted clock skew between sender and receiver, and the replay window.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {SIGNATURE_HEADER} header")]
    MissingHeader,
    #[error("malformed {SIGNATURE_HEADER} header: {part}")]
    Malformed { part: String },
    #[error(
        "{SIGNATURE_HEADER} timestamp {timestamp} is {age_seconds}s old, beyond the tolerance of {tolerance_seconds}s"
    )]
    Stale {
        timestamp: i64,
        age_seconds: i64,
        tolerance_seconds: i64,
    },
    #[error(
        "{SIGNATURE_HEADER} timestamp {timestamp} is {ahead_seconds}s in the future, beyond the tolerance of {tolerance_seconds}s"
    )]
    Future {
        timestamp: i64,
        ahead_seconds: i64,
        tolerance_seconds: i64,
    },
    #[error("no {SIGNATURE_HEADER} v1 signature matches the body with any configured secret")]
    NoMatch,
}

/// The `OTC-Signature` header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(keyed_mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks `header` against `body` with any of `secrets` (several while a
/// secret is being rotated) and returns the signed timestamp.
///
/// The timestamp is checked before any MAC so a replayed request is
/// reported as stale rather than as a bad signature.
pub fn verify(
    secrets: &[&[u8]],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<i64, SignatureError> {
    let parsed = parse_header(header)?;
    let age_seconds = now.saturating_sub(parsed.timestamp);
    if age_seconds > tolerance_seconds {
        return Err(SignatureError::Stale {
            timestamp: parsed.timestamp,
            age_seconds,
            tolerance_seconds,
        });
    }
    let ahead_seconds = parsed.timestamp.saturating_sub(now);
    if ahead_seconds > tolerance_seconds {
        return Err(SignatureError::Future {
            timestamp: parsed.timestamp,
            ahead_seconds,
            tolerance_seconds,
        });
    }
    for secret in secrets {
        for signature in &parsed.signatures {
            // `verify_slice` compares in constant time: no timing oracle on
            // how many leading bytes of a forged signature were right.
            if keyed_mac(secret, parsed.timestamp, body)
                .verify_slice(signature)
                .is_ok()
            {
                return Ok(parsed.timestamp);
            }
        }
    }
    Err(SignatureError::NoMatch)
}

fn keyed_mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable_any_key_length());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Never called: HMAC takes keys of any length (hmac 0.12 hashes long ones
/// and pads short ones, and always returns `Ok`). It exists only so library
/// code needs no `expect` for an error that cannot happen.
fn unreachable_any_key_length() -> HmacSha256 {
    <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default())
}

struct ParsedHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

/// `t=<digits>,v1=<hex>[,v1=<hex>...]`; unknown schemes (`v0=`, a future
/// `v2=`) are skipped so senders can add one before receivers know it.
fn parse_header(header: &str) -> Result<ParsedHeader, SignatureError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::MissingHeader);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for element in header.split(',') {
        let element = element.trim();
        let Some((key, value)) = element.split_once('=') else {
            return Err(malformed(format!("element `{element}` is not `key=value`")));
        };
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(malformed("more than one `t=` timestamp".to_owned()));
                }
                let value = value.trim();
                let parsed = value
                    .parse::<i64>()
                    .ok()
                    .filter(|_| value.bytes().all(|byte| byte.is_ascii_digit()))
                    .ok_or_else(|| {
                        malformed(format!("timestamp `t={value}` is not unix seconds"))
                    })?;
                timestamp = Some(parsed);
            }
            "v1" => {
                let value = value.trim();
                let bytes = hex::decode(value)
                    .map_err(|error| malformed(format!("`v1` signature is not hex: {error}")))?;
                if bytes.len() != 32 {
                    return Err(malformed(format!(
                        "`v1` signature is {} bytes, an HMAC-SHA256 is 32",
                        bytes.len()
                    )));
                }
                signatures.push(bytes);
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| malformed("no `t=` timestamp".to_owned()))?;
    if signatures.is_empty() {
        return Err(malformed("no `v1=` signature".to_owned()));
    }
    Ok(ParsedHeader {
        timestamp,
        signatures,
    })
}

fn malformed(part: String) -> SignatureError {
    SignatureError::Malformed { part }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const NOW: i64 = 1_767_225_600;
    const BODY: &[u8] = br#"{"invoice":"INV-2026-000042","amount":"118.00"}"#;

    #[test]
    fn a_signed_body_verifies_and_returns_its_timestamp() {
        let header = sign(b"whsec-current", NOW - 10, BODY);
        assert!(header.starts_with(&format!("t={},v1=", NOW - 10)));
        assert_eq!(
            verify(&[b"whsec-current"], &header, BODY, NOW, 300),
            Ok(NOW - 10)
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Independent of `sign`: a receiver in another language computes this.
        let mut mac = <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(b"k").unwrap();
        mac.update(format!("{NOW}.").as_bytes());
        mac.update(BODY);
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(sign(b"k", NOW, BODY), format!("t={NOW},v1={expected}"));
    }

    #[test]
    fn rotation_accepts_either_secret_on_either_side() {
        let old = sign(b"old-secret", NOW, BODY);
        let new = sign(b"new-secret", NOW, BODY);
        let new_sig = new.split_once(",v1=").unwrap().1;
        // Sender signs with both while receivers move over.
        let both = format!("{old},v1={new_sig}");
        assert_eq!(verify(&[b"new-secret"], &both, BODY, NOW, 300), Ok(NOW));
        assert_eq!(verify(&[b"old-secret"], &both, BODY, NOW, 300), Ok(NOW));
        // Receiver knows both while senders move over.
        assert_eq!(
            verify(&[b"new-secret", b"old-secret"], &old, BODY, NOW, 300),
            Ok(NOW)
        );
        assert_eq!(
            verify(&[b"unrelated"], &both, BODY, NOW, 300),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn a_tampered_body_or_timestamp_does_not_verify() {
        let header = sign(b"s", NOW, BODY);
        let tampered = br#"{"invoice":"INV-2026-000042","amount":"1.00"}"#;
        assert_eq!(
            verify(&[b"s"], &header, tampered, NOW, 300),
            Err(SignatureError::NoMatch)
        );
        let moved = header.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert_eq!(
            verify(&[b"s"], &moved, BODY, NOW, 300),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn a_stale_timestamp_is_refused_saying_by_how_much() {
        let header = sign(b"s", NOW - 301, BODY);
        let error = verify(&[b"s"], &header, BODY, NOW, 300).unwrap_err();
        assert_eq!(
            error,
            SignatureError::Stale {
                timestamp: NOW - 301,
                age_seconds: 301,
                tolerance_seconds: 300
            }
        );
        assert!(error.to_string().contains("301s old"), "{error}");
        // Exactly at the tolerance is still fine.
        let edge = sign(b"s", NOW - 300, BODY);
        assert_eq!(verify(&[b"s"], &edge, BODY, NOW, 300), Ok(NOW - 300));
    }

    #[test]
    fn a_future_timestamp_is_refused_saying_by_how_much() {
        let header = sign(b"s", NOW + 900, BODY);
        let error = verify(&[b"s"], &header, BODY, NOW, 300).unwrap_err();
        assert!(
            matches!(
                error,
                SignatureError::Future {
                    ahead_seconds: 900,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("900s in the future"), "{error}");
    }

    #[test]
    fn malformed_headers_name_the_bad_part() {
        let good_sig = sign(b"s", NOW, BODY)
            .split_once(",v1=")
            .unwrap()
            .1
            .to_owned();
        let cases: [(&str, &str); 10] = [
            ("", "missing"),
            ("   ", "missing"),
            (&format!("v1={good_sig}"), "no `t=` timestamp"),
            (&format!("t={NOW}"), "no `v1=` signature"),
            (&format!("t=soon,v1={good_sig}"), "timestamp `t=soon`"),
            (&format!("t=-5,v1={good_sig}"), "timestamp `t=-5`"),
            (&format!("t={NOW},v1=zz"), "`v1` signature is not hex"),
            (&format!("t={NOW},v1=abcd"), "2 bytes"),
            (&format!("t={NOW},garbage"), "element `garbage`"),
            (
                &format!("t={NOW},t={NOW},v1={good_sig}"),
                "more than one `t=`",
            ),
        ];
        for (header, expected) in cases {
            let error = verify(&[b"s"], header, BODY, NOW, 300).unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "header {header:?}: expected {expected:?} in {error}"
            );
        }
    }

    #[test]
    fn unknown_schemes_and_spaces_are_tolerated() {
        let header = sign(b"s", NOW, BODY).replace(",v1=", ", v0=dead , v1=");
        assert_eq!(verify(&[b"s"], &header, BODY, NOW, 300), Ok(NOW));
    }
}
