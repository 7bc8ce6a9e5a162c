//! `otc-dev-token`: mints a local HS256 token for calling the services on a
//! developer machine. Prints only the token, so it can be captured:
//! `TOKEN=$(otc-dev-token --tenant acme --role ar_clerk)`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use otc_shared::auth::{LOCAL_DEV_HS256_SECRET, Role, TokenIssuer};
use otc_shared::ids::TenantId;

#[derive(Parser)]
#[command(
    about = "Mints a local development token for the order-to-cash services",
    version
)]
struct Arguments {
    /// Tenant slug the token is for, e.g. `acme`.
    #[arg(long)]
    tenant: String,
    /// Who the caller is (the token's subject).
    #[arg(long, default_value = "developer")]
    subject: String,
    /// A role to grant; repeat for several (sales_associate, customer_service_representative,
    /// ar_clerk, cash_application_specialist, collector, credit_manager, executive,
    /// tenant_admin, service).
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    #[arg(long, env = "OTC_AUTH__ISSUER", default_value = "otc-local")]
    issuer: String,
    #[arg(long, env = "OTC_AUTH__AUDIENCE", default_value = "otc")]
    audience: String,
    /// HS256 signing secret; defaults to the local development secret.
    #[arg(long, env = "OTC_AUTH__HS256_SECRET", hide_env_values = true, default_value = LOCAL_DEV_HS256_SECRET)]
    secret: String,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let tenant = match TenantId::parse(&arguments.tenant) {
        Ok(tenant) => tenant,
        Err(error) => {
            eprintln!("--tenant: {error}");
            return ExitCode::from(2);
        }
    };
    let mut roles = Vec::new();
    for role in &arguments.roles {
        match role.parse::<Role>() {
            Ok(role) => roles.push(role),
            Err(error) => {
                eprintln!("--role: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let issuer = TokenIssuer::new(&arguments.issuer, &arguments.audience, &arguments.secret);
    match issuer.mint(
        &tenant,
        &arguments.subject,
        &roles,
        Duration::from_secs(arguments.ttl),
    ) {
        Ok(token) => {
            #[allow(clippy::print_stdout)]
            {
                println!("{token}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
