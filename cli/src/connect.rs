//! Where the services are, the caller's token, and how a failure ends the
//! command.

use std::process::ExitCode;

use tonic::Request;
use tonic::transport::Channel;

/// The services' gRPC endpoints and the caller's token, for every command.
#[derive(clap::Args)]
pub struct Endpoints {
    /// Bearer token (JWT) of the caller; its tenant is the one acted on.
    #[arg(long, global = true, env = "OTC_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The order service's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "OTC_ORDER_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub order: String,
    /// The billing service's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "OTC_BILLING_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub billing: String,
    /// The payments service's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "OTC_PAYMENTS_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub payments: String,
    /// The collections service's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "OTC_COLLECTIONS_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub collections: String,
    /// The reporting service's gRPC endpoint.
    #[arg(
        long,
        global = true,
        env = "OTC_REPORTING_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    pub reporting: String,
}

/// Why a command stopped.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: nothing was changed.
    Input(String),
    /// A service or the broker could not be reached.
    Unreachable(String),
    /// A service refused or failed.
    Refused(tonic::Status),
    /// Anything else (a broken write to the terminal, a Kafka error).
    Other(anyhow::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Input(message) => write!(formatter, "{message} (nothing was changed)"),
            Self::Unreachable(message) => write!(formatter, "{message}"),
            Self::Refused(status) => write!(
                formatter,
                "refused ({:?}): {}",
                status.code(),
                status.message()
            ),
            Self::Other(error) => write!(formatter, "{error:#}"),
        }
    }
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Input(_) => ExitCode::from(2),
            Self::Unreachable(_) => ExitCode::from(3),
            Self::Refused(status) if status.code() == tonic::Code::Unavailable => ExitCode::from(3),
            Self::Refused(_) | Self::Other(_) => ExitCode::from(1),
        }
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        Self::Refused(status)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Other(error)
    }
}

impl Endpoints {
    /// The token, or what to do about its absence.
    pub fn token(&self) -> Result<&str, Failure> {
        match self.token.as_deref().map(str::trim) {
            Some(token) if !token.is_empty() => Ok(token),
            _ => Err(Failure::Input(
                "give a token with --token or OTC_TOKEN (locally: \
                 export OTC_TOKEN=$(otcctl token --tenant acme --role tenant_admin))"
                    .to_owned(),
            )),
        }
    }

    /// `message` with the caller's token.
    pub fn request<T>(&self, message: T) -> Result<Request<T>, Failure> {
        let token = self.token()?;
        let mut request = Request::new(message);
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Failure::Input("the token has characters a header cannot carry".into()))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// A channel to a service's gRPC endpoint.
pub async fn channel(url: &str) -> Result<Channel, Failure> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|error| Failure::Input(format!("bad endpoint {url}: {error}")))?;
    endpoint
        .connect()
        .await
        .map_err(|error| Failure::Unreachable(format!("cannot reach {url}: {error}")))
}
