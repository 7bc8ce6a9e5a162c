//! `otc-health`: asks services for their gRPC health (`grpc.health.v1`) and
//! prints a table; with `--wait`, keeps asking until all are SERVING.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[derive(Parser)]
#[command(about = "Checks the gRPC health of suite services", version)]
struct Arguments {
    /// Seconds to keep waiting until every service reports SERVING (0: ask once).
    #[arg(long, default_value_t = 0)]
    wait: u64,
    /// Services to check, as `name=http://host:port`.
    #[arg(required = true, value_parser = parse_endpoint)]
    endpoints: Vec<(String, String)>,
}

fn parse_endpoint(text: &str) -> Result<(String, String), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not name=http://host:port"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("`{url}` must start with http:// or https://"));
    }
    Ok((name.to_owned(), url.to_owned()))
}

async fn status_of(url: &str) -> String {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(url.to_owned()) else {
        return "BAD URL".to_owned();
    };
    let connected = tokio::time::timeout(Duration::from_secs(2), endpoint.connect()).await;
    let mut client = match connected {
        Ok(Ok(channel)) => HealthClient::new(channel),
        Ok(Err(_)) | Err(_) => return "UNREACHABLE".to_owned(),
    };
    let request = HealthCheckRequest {
        service: String::new(),
    };
    match tokio::time::timeout(Duration::from_secs(2), client.check(request)).await {
        Ok(Ok(response)) => response.into_inner().status().as_str_name().to_owned(),
        Ok(Err(status)) => format!("ERROR {}", status.code()),
        Err(_) => "TIMEOUT".to_owned(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let deadline = Instant::now() + Duration::from_secs(arguments.wait);
    let serving = ServingStatus::Serving.as_str_name();
    loop {
        let mut statuses = Vec::with_capacity(arguments.endpoints.len());
        for (name, url) in &arguments.endpoints {
            statuses.push((name, url, status_of(url).await));
        }
        let all_serving = statuses.iter().all(|(_, _, status)| status == serving);
        if all_serving || Instant::now() >= deadline {
            let mut report = String::new();
            for (name, url, status) in &statuses {
                report.push_str(&format!("  {name:<12} {url:<26} {status}\n"));
            }
            eprint!("{report}");
            return if all_serving {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
