//! `otcctl token`: mints a local HS256 token for calling the services on a
//! developer machine. It prints only the token, so it can be captured:
//! `export OTC_TOKEN=$(otcctl token --tenant acme --role ar_clerk)`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use otc_shared::auth::{LOCAL_DEV_HS256_SECRET, MIN_HS256_SECRET_BYTES, Role, TokenIssuer};
use otc_shared::ids::TenantId;

use crate::connect::Failure;

#[derive(clap::Args)]
#[command(
    long_about = "Mints a local development JWT (HS256) for the order-to-cash services and prints \
                  only the token on stdout, e.g.\n\n  \
                  export OTC_TOKEN=$(otcctl token --tenant acme --role ar_clerk --role collector)\n  \
                  grpcurl -H \"authorization: Bearer $OTC_TOKEN\" ...\n\n\
                  The issuer, audience and secret default to what the local services trust \
                  (the OTC_AUTH__* variables override them on both sides). Production tokens \
                  come from the identity provider, never from this tool."
)]
pub struct Arguments {
    /// Tenant slug the token is for: lowercase a-z, 0-9 and '-', e.g. `acme`.
    #[arg(long, value_parser = TenantId::parse)]
    tenant: TenantId,

    /// Who the caller is (the token's `sub`), e.g. a user name.
    #[arg(long, default_value = "developer")]
    subject: String,

    /// A role to grant; repeat the option for several roles.
    #[arg(
        long = "role",
        required = true,
        value_name = "ROLE",
        value_parser = PossibleValuesParser::new(Role::names())
            .try_map(|name| name.parse::<Role>()),
    )]
    roles: Vec<Role>,

    /// Lifetime of the token in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    ttl: u64,

    /// Issuer (`iss`) the services expect.
    #[arg(long, env = "OTC_AUTH__ISSUER", default_value = "otc-local")]
    issuer: String,

    /// Audience (`aud`) the services expect.
    #[arg(long, env = "OTC_AUTH__AUDIENCE", default_value = "otc")]
    audience: String,

    /// HS256 signing secret, at least 32 bytes; must equal the services'
    /// secret. Defaults to the public local development secret.
    #[arg(
        long,
        env = "OTC_AUTH__HS256_SECRET",
        hide_env_values = true,
        hide_default_value = true,
        default_value = LOCAL_DEV_HS256_SECRET,
    )]
    secret: String,
}

pub fn run(arguments: &Arguments) -> Result<ExitCode, Failure> {
    if arguments.secret.len() < MIN_HS256_SECRET_BYTES {
        // Services refuse to start with a shorter secret, so no service would
        // accept the token: say so now instead of at the first call.
        return Err(Failure::Input(format!(
            "--secret must be at least {MIN_HS256_SECRET_BYTES} bytes"
        )));
    }
    let issuer = TokenIssuer::new(&arguments.issuer, &arguments.audience, &arguments.secret);
    let token = issuer
        .mint(
            &arguments.tenant,
            &arguments.subject,
            &arguments.roles,
            Duration::from_secs(arguments.ttl),
        )
        .map_err(|error| Failure::Input(error.to_string()))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{token}")
        .map_err(|error| Failure::Other(anyhow::anyhow!("cannot write the token: {error}")))?;
    Ok(ExitCode::SUCCESS)
}
