//! Delivery of documents to customers (billing's invoices, collections'
//! dunning notices), by email (SMTP) or by signed webhook, with every
//! failure sorted into "retry later" or "give up".

pub mod email;
pub mod settings;
pub mod webhook;

use std::time::Duration;

pub use email::{Attachment, EmailSender, OutgoingEmail};
pub use settings::{DeliverySettings, SmtpSecurity, SmtpSettings};
pub use webhook::WebhookSender;

/// Why `address` is not an email address a notice could go to, if it is not.
pub fn email_problem(address: &str) -> Option<String> {
    address
        .trim()
        .parse::<lettre::Address>()
        .err()
        .map(|error| format!("`{}` is not an email address: {error}", address.trim()))
}

/// Why `url` is not a webhook URL (http or https with a host), if it is not.
pub fn webhook_url_problem(url: &str) -> Option<String> {
    webhook::checked_url(url).err().map(|error| match error {
        DeliveryError::Permanent { reason } | DeliveryError::Transient { reason } => {
            reason.trim_start_matches("field `url`: ").to_owned()
        }
    })
}

/// The receiving side took responsibility for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// What the server answered (SMTP reply or HTTP status and body
    /// excerpt), kept with the delivery record for support questions.
    pub response: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another attempt later (server down, busy, rate-limited).
    #[error("delivery failed, will retry: {reason}")]
    Transient { reason: String },
    /// The same attempt would fail again (bad address, refused by the
    /// receiver, missing configuration): mark the delivery failed.
    #[error("delivery refused, retrying cannot help: {reason}")]
    Permanent { reason: String },
}

impl DeliveryError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Transient {
            reason: reason.into(),
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
        }
    }
}

/// The longest wait between two attempts of one delivery.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// How long to wait before attempt `attempt + 1`, after `attempt` failed
/// ones (1 = the first failure): `base_ms` doubled per failure, capped at
/// [`MAX_RETRY_DELAY`], of which a random half is taken off ("equal jitter")
/// so deliveries that failed together (a receiver outage) do not retry in
/// lock-step.
///
/// Not `backon`: its jitter is added on top of the capped delay (so it can
/// reach twice the cap), and it yields delays from an in-memory iterator,
/// whereas our attempt count comes from the delivery's database row.
pub fn retry_delay(attempt: u32, base_ms: u64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(63);
    let max_ms = u64::try_from(MAX_RETRY_DELAY.as_millis()).unwrap_or(u64::MAX);
    let ceiling_ms = base_ms.saturating_mul(1_u64 << doublings).min(max_ms);
    let floor_ms = ceiling_ms / 2;
    Duration::from_millis(floor_ms + fastrand::u64(0..=ceiling_ms - floor_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_within_its_jitter_band_and_stops_at_an_hour() {
        for attempt in 1..=12_u32 {
            let ceiling =
                Duration::from_millis(2_000 * 2_u64.pow(attempt - 1)).min(MAX_RETRY_DELAY);
            for _ in 0..200 {
                let delay = retry_delay(attempt, 2_000);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "attempt {attempt}: {delay:?} outside {:?}..={ceiling:?}",
                    ceiling / 2
                );
            }
        }
        assert!(retry_delay(u32::MAX, u64::MAX) <= MAX_RETRY_DELAY);
        assert!(retry_delay(0, 1_000) <= Duration::from_secs(1));
        assert_eq!(retry_delay(5, 0), Duration::ZERO);
    }

    #[test]
    fn retry_delays_are_spread_out() {
        let distinct: std::collections::HashSet<Duration> =
            (0..50).map(|_| retry_delay(10, 2_000)).collect();
        assert!(distinct.len() > 10, "jitter missing: {distinct:?}");
    }
}
