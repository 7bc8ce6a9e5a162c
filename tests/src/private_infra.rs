//! A PostgreSQL cluster and a Kafka broker of one test process's own, started
//! by the repository's scripts (`scripts/infra/postgres.sh`, `kafka.sh`) on
//! free ports under a scratch directory, so that a test may stop and restart
//! them under load without touching the infrastructure other tests share.
//! Once started, [`crate::pg_admin_url`] and [`crate::kafka_brokers`] of the
//! whole test process point at it: put such a test in a test binary of its
//! own. The broker reuses the Kafka jars the shared infrastructure
//! downloaded (or downloads them into the scratch directory).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use tokio::process::Command;

/// Where the private infrastructure answers.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub pg_admin_url: String,
    pub kafka_brokers: String,
}

static CURRENT: OnceLock<Endpoints> = OnceLock::new();

/// The private infrastructure of this test process, once started.
pub fn current() -> Option<&'static Endpoints> {
    CURRENT.get()
}

pub struct PrivateInfra {
    root: PathBuf,
    environment: Vec<(String, String)>,
    pub endpoints: Endpoints,
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A free port below Linux's ephemeral range (32768-60999). A port from
/// that range can be taken, while its server is stopped, by a client's own
/// outgoing connection to it (TCP self-connect: source port = destination
/// port), and the restarted server then cannot have it back.
fn free_ports() -> anyhow::Result<[u16; 3]> {
    let start = u16::try_from(std::process::id() % 12_000)?;
    let found: Vec<u16> = (0..4_000_u16)
        .map(|offset| 20_000 + (start + offset * 7) % 12_000)
        .filter(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .take(3)
        .collect();
    found
        .try_into()
        .map_err(|_| anyhow::anyhow!("not three free ports between 20000 and 32000"))
}

/// The Kafka jars of the shared cache, if they are complete.
fn shared_kafka_home() -> Option<PathBuf> {
    let cache = std::env::var("OTC_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repository_root().join(".cache"));
    std::fs::read_dir(cache.join("kafka"))
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.join("libs").join(".complete").exists())
}

impl PrivateInfra {
    /// Starts PostgreSQL and Kafka of their own and points the test kit at
    /// them. Only once per test process.
    pub async fn start() -> anyhow::Result<Self> {
        anyhow::ensure!(
            current().is_none(),
            "this test process already runs on private infrastructure"
        );
        let root = std::env::temp_dir().join(format!("otc-private-{}", crate::unique_suffix()));
        std::fs::create_dir_all(&root)?;
        let [pg_port, kafka_port, controller_port] = free_ports()?;
        let mut environment = vec![
            ("OTC_CACHE_DIR".to_owned(), root.display().to_string()),
            ("OTC_PG_PORT".to_owned(), pg_port.to_string()),
            ("OTC_KAFKA_PORT".to_owned(), kafka_port.to_string()),
            (
                "OTC_KAFKA_CONTROLLER_PORT".to_owned(),
                controller_port.to_string(),
            ),
            ("OTC_EXTERNAL_PG".to_owned(), "0".to_owned()),
            ("OTC_EXTERNAL_KAFKA".to_owned(), "0".to_owned()),
        ];
        if let Some(home) = shared_kafka_home() {
            environment.push(("OTC_KAFKA_HOME".to_owned(), home.display().to_string()));
        }
        let endpoints = Endpoints {
            pg_admin_url: format!("postgres://otc:otc@127.0.0.1:{pg_port}/postgres"),
            kafka_brokers: format!("127.0.0.1:{kafka_port}"),
        };
        let infra = Self {
            root,
            environment,
            endpoints: endpoints.clone(),
        };
        infra.postgres("up").await?;
        infra.kafka("up").await?;
        CURRENT
            .set(endpoints)
            .map_err(|_| anyhow::anyhow!("private infrastructure started twice"))?;
        Ok(infra)
    }

    async fn script(&self, script: &str, action: &str) -> anyhow::Result<()> {
        let path = repository_root().join("scripts/infra").join(script);
        let output = Command::new("bash")
            .arg(&path)
            .arg(action)
            .envs(self.environment.iter().map(|(key, value)| (key, value)))
            .output()
            .await
            .with_context(|| format!("could not run {}", path.display()))?;
        anyhow::ensure!(
            output.status.success(),
            "{script} {action} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// `scripts/infra/postgres.sh <action>` (`up`, `down`) on this cluster.
    pub async fn postgres(&self, action: &str) -> anyhow::Result<()> {
        self.script("postgres.sh", action).await
    }

    /// `scripts/infra/kafka.sh <action>` (`up`, `down`) on this broker.
    pub async fn kafka(&self, action: &str) -> anyhow::Result<()> {
        self.script("kafka.sh", action).await
    }
}

impl Drop for PrivateInfra {
    fn drop(&mut self) {
        for script in ["kafka.sh", "postgres.sh"] {
            let stopped = std::process::Command::new("bash")
                .arg(repository_root().join("scripts/infra").join(script))
                .arg("down")
                .envs(self.environment.iter().map(|(key, value)| (key, value)))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            if !stopped.is_ok_and(|status| status.success()) {
                eprintln!(
                    "could not stop the private {script} under {}",
                    self.root.display()
                );
            }
        }
        if std::thread::panicking() {
            // Kept for the post-mortem: the broker's and the cluster's logs.
            eprintln!(
                "the private infrastructure's logs are kept in {}",
                self.root.join("logs").display()
            );
            return;
        }
        // Best effort: the data belongs to the postgres user and root.
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
