//! Delivery settings as each service reads them under its own
//! `OTC_<SERVICE>__DELIVERY__*` section.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    #[serde(default)]
    pub smtp: SmtpSettings,
    /// `From:` of the emails; empty: the service's own default address
    /// (given to [`crate::EmailSender::from_settings`]).
    #[serde(default)]
    pub from_address: String,
    /// HMAC secret that signs webhook deliveries
    /// (`OTC_<SERVICE>__DELIVERY__WEBHOOK_SECRET`).
    #[serde(default)]
    pub webhook_secret: Option<secrecy::SecretString>,
    /// Attempts before a delivery is marked failed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to 1 hour.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_max_attempts() -> u32 {
    8
}

fn default_retry_base_ms() -> u64 {
    2_000
}

fn default_timeout_ms() -> u64 {
    10_000
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            smtp: SmtpSettings::default(),
            from_address: String::new(),
            webhook_secret: None,
            max_attempts: default_max_attempts(),
            retry_base_ms: default_retry_base_ms(),
            timeout_ms: default_timeout_ms(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    #[serde(default = "default_smtp_host")]
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `none` (local sink), `starttls` or `tls`.
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<secrecy::SecretString>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    #[default]
    None,
    Starttls,
    Tls,
}

fn default_smtp_host() -> String {
    "127.0.0.1".to_owned()
}

/// The local SMTP sink that `scripts/infra/infra.sh` starts.
fn default_smtp_port() -> u16 {
    51025
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: default_smtp_host(),
            port: default_smtp_port(),
            security: SmtpSecurity::None,
            username: None,
            password: None,
        }
    }
}
