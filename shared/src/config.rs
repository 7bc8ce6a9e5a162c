//! Service configuration: typed settings layered from defaults, an optional
//! TOML file (`OTC_CONFIG_FILE`) and `OTC_SECTION__FIELD` environment
//! variables, validated at start-up with errors that name the field.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::AuthSettings;
use crate::db::DatabaseSettings;
use crate::kafka::KafkaSettings;
use crate::outbox::OutboxSettings;
use crate::peers::PeerSettings;
use crate::telemetry::TelemetrySettings;

pub const ENV_PREFIX: &str = "OTC_";
pub const CONFIG_FILE_VARIABLE: &str = "OTC_CONFIG_FILE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration: {field} (env {variable}): {reason}")]
    Invalid {
        field: String,
        variable: String,
        reason: String,
    },
}

impl ConfigError {
    /// An invalid value at `field` (dotted path, e.g. `grpc.port`).
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            variable: env_variable_for(field),
            reason: reason.into(),
        }
    }
}

/// `grpc.port` -> `OTC_GRPC__PORT`.
pub fn env_variable_for(field: &str) -> String {
    format!("{ENV_PREFIX}{}", field.replace('.', "__").to_uppercase())
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListenSettings {
    pub host: IpAddr,
    pub port: u16,
}

impl ListenSettings {
    pub fn loopback(port: u16) -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        }
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// Everything a service binary needs to start.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSettings {
    /// gRPC commands and queries, health and reflection.
    pub grpc: ListenSettings,
    /// HTTP: `/metrics`, `/healthz` (and webhooks or pages where a service has them).
    pub http: ListenSettings,
    pub database: DatabaseSettings,
    pub kafka: KafkaSettings,
    pub auth: AuthSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// Where the services this one calls over gRPC listen.
    #[serde(default)]
    pub peers: PeerSettings,
    /// Seconds allowed for draining in-flight work on SIGTERM.
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
}

fn default_shutdown_grace_seconds() -> u64 {
    20
}

/// Defaults, then `OTC_CONFIG_FILE`, then `OTC_*` variables.
fn layered(default_grpc_port: u16, default_http_port: u16) -> Result<Figment, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Defaults {
        grpc: ListenSettings::loopback(default_grpc_port),
        http: ListenSettings::loopback(default_http_port),
    }));
    if let Ok(file) = std::env::var(CONFIG_FILE_VARIABLE) {
        let path = PathBuf::from(&file);
        if !path.is_file() {
            return Err(ConfigError::Load(format!(
                "{CONFIG_FILE_VARIABLE}={file}: no such file"
            )));
        }
        figment = figment.merge(Toml::file(path));
    }
    Ok(figment.merge(
        Env::prefixed(ENV_PREFIX)
            .ignore(&["CONFIG_FILE"])
            .split("__"),
    ))
}

#[derive(Serialize)]
struct Defaults {
    grpc: ListenSettings,
    http: ListenSettings,
}

impl ServiceSettings {
    /// Loads settings for a service whose default ports are given, from the
    /// process environment (and `OTC_CONFIG_FILE` if set).
    pub fn load(default_grpc_port: u16, default_http_port: u16) -> Result<Self, ConfigError> {
        Self::from_figment(&layered(default_grpc_port, default_http_port)?)
    }

    /// Only the database section: what `<service> migrate` needs.
    pub fn load_database() -> Result<DatabaseSettings, ConfigError> {
        let figment = layered(0, 0)?;
        let database: DatabaseSettings = figment.extract_inner("database").map_err(|error| {
            ConfigError::Load(format!("database (env OTC_DATABASE__*): {error}"))
        })?;
        database.validate()?;
        Ok(database)
    }

    /// A service's own section (e.g. `billing` from `OTC_BILLING__*`), with
    /// the same layering and field-naming errors as the shared settings.
    /// An absent section is the type's default.
    pub fn load_section<T: serde::de::DeserializeOwned + Default>(
        section: &str,
    ) -> Result<T, ConfigError> {
        let figment = layered(0, 0)?;
        if !figment.contains(section) {
            return Ok(T::default());
        }
        let value: T = figment.extract_inner(section).map_err(|error| {
            let messages: Vec<String> = error
                .into_iter()
                .map(|single| {
                    let field = format!("{section}.{}", single.path.join("."));
                    format!(
                        "{field} (env {}): {}",
                        env_variable_for(&field),
                        single.kind
                    )
                })
                .collect();
            ConfigError::Load(messages.join("; "))
        })?;
        Ok(value)
    }

    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let settings: ServiceSettings = figment.extract().map_err(|error| {
            let messages: Vec<String> = error
                .into_iter()
                .map(|single| {
                    let field = single.path.join(".");
                    if field.is_empty() {
                        single.to_string()
                    } else {
                        format!(
                            "{field} (env {}): {}",
                            env_variable_for(&field),
                            single.kind
                        )
                    }
                })
                .collect();
            ConfigError::Load(messages.join("; "))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.grpc.port != 0
            && self.grpc.port == self.http.port
            && self.grpc.host == self.http.host
        {
            return Err(ConfigError::invalid(
                "http.port",
                "must differ from grpc.port",
            ));
        }
        self.database.validate()?;
        self.kafka.validate()?;
        self.auth
            .validate()
            .map_err(|error| ConfigError::Load(format!("auth: {error}")))?;
        self.outbox.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Figment {
        Figment::from(Serialized::defaults(Defaults {
            grpc: ListenSettings::loopback(50051),
            http: ListenSettings::loopback(9101),
        }))
        .merge(Serialized::default(
            "database.url",
            "postgres://otc:otc@127.0.0.1:55432/otc_order",
        ))
        .merge(Serialized::default("kafka.brokers", "127.0.0.1:59092"))
        .merge(Serialized::default(
            "auth.hs256_secret",
            crate::auth::LOCAL_DEV_HS256_SECRET,
        ))
    }

    #[test]
    fn loads_with_defaults() {
        let settings = ServiceSettings::from_figment(&base()).unwrap();
        assert_eq!(settings.grpc.port, 50051);
        assert_eq!(
            settings.outbox.batch_size,
            OutboxSettings::default().batch_size
        );
    }

    #[test]
    fn errors_name_the_field_and_its_variable() {
        let figment = base().merge(Serialized::default("grpc.port", "not-a-port"));
        let error = ServiceSettings::from_figment(&figment)
            .unwrap_err()
            .to_string();
        assert!(error.contains("grpc.port (env OTC_GRPC__PORT)"), "{error}");

        let figment = base().merge(Serialized::default("database.url", "mysql://nope"));
        let error = ServiceSettings::from_figment(&figment)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("database.url (env OTC_DATABASE__URL)"),
            "{error}"
        );

        let figment = base().merge(Serialized::default("kafka.brokers", ""));
        let error = ServiceSettings::from_figment(&figment)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("kafka.brokers (env OTC_KAFKA__BROKERS)"),
            "{error}"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn environment_variables_as_the_helm_chart_renders_them() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("OTC_DATABASE__URL", "postgres://otc:otc@db:5432/otc_order");
            jail.set_env("OTC_KAFKA__BROKERS", "kafka:9093");
            jail.set_env("OTC_KAFKA__CREATE_TOPICS", "false");
            jail.set_env(
                "OTC_AUTH__HS256_SECRET",
                crate::auth::LOCAL_DEV_HS256_SECRET,
            );
            jail.set_env("OTC_AUTH__ALLOWED_TENANTS", r#"["acme","globex"]"#);
            jail.set_env("OTC_AUTH__LEEWAY_SECONDS", "30");
            jail.set_env("OTC_GRPC__HOST", "0.0.0.0");
            jail.set_env("OTC_GRPC__PORT", "50051");
            jail.set_env("OTC_OUTBOX__BATCH_SIZE", "1000");
            jail.set_env("OTC_SHUTDOWN_GRACE_SECONDS", "30");
            let settings = ServiceSettings::load(1, 2).map_err(|error| error.to_string())?;
            assert_eq!(settings.auth.allowed_tenants, ["acme", "globex"]);
            assert!(!settings.kafka.create_topics);
            assert_eq!(settings.grpc.port, 50051);
            assert_eq!(settings.outbox.batch_size, 1000);
            assert_eq!(settings.shutdown_grace_seconds, 30);
            Ok(())
        });
    }

    #[test]
    fn missing_required_field_is_named() {
        let figment = Figment::from(Serialized::defaults(Defaults {
            grpc: ListenSettings::loopback(50051),
            http: ListenSettings::loopback(9101),
        }));
        let error = ServiceSettings::from_figment(&figment)
            .unwrap_err()
            .to_string();
        assert!(error.contains("database"), "{error}");
    }
}

/// Every `OTC_*` variable a service reads, derived from the settings types
/// themselves (serde tracing), so deployment tooling cannot drift from the
/// code: `OTC_CONFIG_FILE` plus one `OTC_SECTION__FIELD` per leaf field.
pub fn environment_variables() -> Result<Vec<String>, ConfigError> {
    use serde_reflection::{ContainerFormat, Format, Tracer, TracerConfig};

    let mut tracer = Tracer::new(TracerConfig::default());
    tracer
        .trace_simple_type::<ServiceSettings>()
        .map_err(|error| ConfigError::Load(format!("cannot trace the settings types: {error}")))?;
    let registry = tracer.registry_unchecked();

    fn struct_name(format: &Format) -> Option<&str> {
        match format {
            Format::TypeName(name) => Some(name),
            Format::Option(inner) => struct_name(inner),
            _ => None,
        }
    }

    let mut variables = vec![CONFIG_FILE_VARIABLE.to_owned()];
    let mut pending = vec![(String::new(), "ServiceSettings".to_owned())];
    while let Some((prefix, name)) = pending.pop() {
        let Some(ContainerFormat::Struct(fields)) = registry.get(&name) else {
            continue;
        };
        for field in fields {
            let path = if prefix.is_empty() {
                field.name.clone()
            } else {
                format!("{prefix}.{}", field.name)
            };
            match struct_name(&field.value) {
                Some(inner) if matches!(registry.get(inner), Some(ContainerFormat::Struct(_))) => {
                    pending.push((path, inner.to_owned()));
                }
                _ => variables.push(env_variable_for(&path)),
            }
        }
    }
    variables.sort();
    Ok(variables)
}

#[cfg(test)]
mod environment_tests {
    use super::*;

    #[test]
    fn every_settings_field_has_its_variable() {
        let variables = environment_variables().unwrap();
        for expected in [
            "OTC_CONFIG_FILE",
            "OTC_GRPC__PORT",
            "OTC_DATABASE__URL",
            "OTC_KAFKA__SASL_PASSWORD",
            "OTC_AUTH__JWKS_FILE",
            "OTC_TELEMETRY__OTLP_ENDPOINT",
            "OTC_OUTBOX__BATCH_SIZE",
            "OTC_SHUTDOWN_GRACE_SECONDS",
        ] {
            assert!(
                variables.iter().any(|variable| variable == expected),
                "{expected} missing from {variables:?}"
            );
        }
        assert!(
            !variables.iter().any(|variable| variable == "OTC_GRPC"),
            "sections are not variables"
        );
    }
}
