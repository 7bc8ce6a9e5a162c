//! A real headless browser for page tests: Debian's Chromium driven over
//! WebDriver by its ChromeDriver (`apt-get install chromium
//! chromium-driver`; `.ci/run` installs them), through fantoccini.
//!
//! `OTC_TEST_CHROMEDRIVER` and `OTC_TEST_CHROMIUM` point elsewhere;
//! screenshots go to `OTC_TEST_ARTIFACTS` (default
//! `<temp>/otc-test-artifacts`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::process::free_port;

pub struct Browser {
    pub client: Client,
    _driver: Child,
}

fn program(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    /// Starts ChromeDriver on a free loopback port and opens a headless
    /// Chromium session with a 1440×1700 window.
    pub async fn start() -> anyhow::Result<Self> {
        let chromedriver = program("OTC_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = program("OTC_TEST_CHROMIUM", "/usr/bin/chromium");
        for path in [&chromedriver, &chromium] {
            anyhow::ensure!(
                std::path::Path::new(path).exists(),
                "{path} is missing: install Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver), as .ci/run does"
            );
        }
        let port = free_port()?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {chromedriver}"))?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1440,1700",
                         "--lang=en-GB"],
            }),
        );
        let address = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&address).await {
                Ok(client) => break client,
                // ChromeDriver takes a moment to listen.
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    anyhow::bail!(
                        "could not open a Chromium session through {chromedriver}: {error}"
                    )
                }
            }
        };
        Ok(Self {
            client,
            _driver: driver,
        })
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Polls `condition` (a JavaScript expression) until it is true.
    pub async fn wait_until(&self, condition: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let script = format!("return Boolean({condition});");
        loop {
            if self.run(&script, Vec::new()).await? == Value::Bool(true) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let state = self
                    .run(
                        "return [document.body && document.body.dataset.state, \
                         (document.getElementById('error') || {}).textContent];",
                        Vec::new(),
                    )
                    .await
                    .unwrap_or_default();
                anyhow::bail!("timed out waiting for `{condition}`; page state: {state}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG screenshot of the window as `<artifacts>/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<(PathBuf, Vec<u8>)> {
        let png = self.client.screenshot().await?;
        let directory = std::env::var("OTC_TEST_ARTIFACTS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir().join("otc-test-artifacts"));
        std::fs::create_dir_all(&directory)?;
        let path = directory.join(format!("{name}.png"));
        std::fs::write(&path, &png)?;
        Ok((path, png))
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
