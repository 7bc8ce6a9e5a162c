//! Service binaries run as real processes, so tests can check start-up,
//! health, metrics, SIGTERM and kill -9 the way an operator would see them.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// `target/<profile>/otc-<service>`, found next to the running test binary
/// (or in `OTC_BIN_DIR`). `make test` builds the binaries first.
pub fn binary_path(service: &str) -> anyhow::Result<PathBuf> {
    tool_path(&format!("otc-{service}"))
}

/// A binary of the workspace by name (`otcctl`), where [`binary_path`]
/// looks.
pub fn tool_path(name: &str) -> anyhow::Result<PathBuf> {
    let directory = match std::env::var_os("OTC_BIN_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => {
            let test_binary = std::env::current_exe()?;
            // target/debug/deps/<test> -> target/debug
            test_binary
                .parent()
                .and_then(|deps| deps.parent())
                .map(PathBuf::from)
                .context("cannot locate the target directory")?
        }
    };
    let path = directory.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: build the binaries first (`cargo build --bins`, which `make test` does)",
        path.display()
    );
    Ok(path)
}

/// A free loopback port (bound and released; fine for tests on one machine).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

pub struct ServiceProcess {
    pub service: String,
    pub grpc_port: u16,
    pub http_port: u16,
    environment: Vec<(String, String)>,
    child: Option<Child>,
}

impl ServiceProcess {
    /// Starts `otc-<service>` against `database_url` and the test Kafka,
    /// with extra `OTC_*` variables, and waits until it reports SERVING.
    pub async fn start(
        service: &str,
        database_url: &str,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut environment = vec![
            ("OTC_DATABASE__URL".to_owned(), database_url.to_owned()),
            ("OTC_KAFKA__BROKERS".to_owned(), crate::kafka_brokers()),
            (
                "OTC_AUTH__HS256_SECRET".to_owned(),
                otc_shared::auth::LOCAL_DEV_HS256_SECRET.to_owned(),
            ),
            ("OTC_TELEMETRY__LOG_FILTER".to_owned(), "info".to_owned()),
            ("OTC_SHUTDOWN_GRACE_SECONDS".to_owned(), "10".to_owned()),
        ];
        for (name, value) in extra {
            environment.push(((*name).to_owned(), (*value).to_owned()));
        }
        let mut process = Self {
            service: service.to_owned(),
            grpc_port: free_port()?,
            http_port: free_port()?,
            environment,
            child: None,
        };
        process.spawn().await?;
        Ok(process)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log_path =
            std::env::temp_dir().join(format!("otc-test-{}-{}.log", self.service, self.grpc_port));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let child = Command::new(binary_path(&self.service)?)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(
                self.environment
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            )
            .env("OTC_GRPC__PORT", self.grpc_port.to_string())
            .env("OTC_HTTP__PORT", self.http_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start otc-{}", self.service))?;
        self.child = Some(child);
        self.wait_until_serving(Duration::from_secs(60))
            .await
            .with_context(|| {
                format!(
                    "otc-{} did not become healthy; log: {}",
                    self.service,
                    log_path.display()
                )
            })
    }

    /// A gRPC channel to the service.
    pub async fn channel(&self) -> anyhow::Result<tonic::transport::Channel> {
        Ok(tonic::transport::Channel::from_shared(self.grpc_url())?
            .connect()
            .await?)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    pub fn pid(&self) -> Option<Pid> {
        self.child
            .as_ref()
            .and_then(Child::id)
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw)
    }

    /// The overall gRPC health status, or an error if it cannot be asked.
    pub async fn health(&self) -> anyhow::Result<ServingStatus> {
        let channel = tonic::transport::Endpoint::from_shared(self.grpc_url())?
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await?;
        let mut client = HealthClient::new(channel);
        let response = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?
            .into_inner();
        Ok(response.status())
    }

    async fn wait_until_serving(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!("exited during start-up with {status}");
            }
            if matches!(self.health().await, Ok(ServingStatus::Serving)) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "not SERVING after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// kill -9: no cleanup, no flush, no offset commit.
    pub async fn kill_hard(&mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.pid() {
            kill(pid, Signal::SIGKILL)?;
        }
        if let Some(mut child) = self.child.take() {
            child.wait().await?;
        }
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit; returns its exit code.
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<Option<i32>> {
        let pid = self.pid().context("not running")?;
        kill(pid, Signal::SIGTERM)?;
        let mut child = self.child.take().context("not running")?;
        let status = tokio::time::timeout(timeout, child.wait())
            .await
            .with_context(|| {
                format!(
                    "otc-{} did not exit within {timeout:?} of SIGTERM",
                    self.service
                )
            })??;
        Ok(status.code())
    }

    /// Starts the same service again on the same ports and settings.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "still running");
        self.spawn().await
    }

    pub async fn metrics(&self) -> anyhow::Result<String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.http_port);
        let response = reqwest::get(&url).await?.error_for_status()?;
        Ok(response.text().await?)
    }
}
