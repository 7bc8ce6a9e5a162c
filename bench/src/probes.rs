//! Where the time goes in a benchmark run: CPU of processes from `/proc`
//! (Linux, same machine only), PostgreSQL's wait events and its counters.

// Figures are floats (measurements, never money); a probe that cannot
// read says so on the console.
#![allow(
    clippy::print_stdout,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    clippy::as_conversions
)]

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;

/// CPU time in clock ticks, read from `/proc` (Linux, same machine only).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    pub billing: Option<u64>,
    pub postgres: Option<u64>,
    /// Busy and total ticks of the whole machine.
    pub machine: Option<(u64, u64)>,
    pub benchmark: Option<u64>,
}

/// CPU used over a stretch of wall time.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub wall: Duration,
    pub billing: Option<Duration>,
    pub postgres: Option<Duration>,
    pub benchmark: Option<Duration>,
    /// Percent of all cores busy.
    pub machine_busy: Option<f64>,
}

pub struct ProcessStat {
    pub parent: i32,
    /// utime + stime.
    pub own: u64,
    /// cutime + cstime: children that exited and were waited for.
    pub reaped_children: u64,
}

pub fn process_stat(pid: i32) -> anyhow::Result<ProcessStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let (_, rest) = text.rsplit_once(')').context("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5): field n is fields[n - 3].
    let field = |n: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(n - 3)
            .context("short /proc stat")?
            .parse::<u64>()?)
    };
    Ok(ProcessStat {
        parent: fields.get(1).context("short /proc stat")?.parse()?,
        own: field(14)? + field(15)?,
        reaped_children: field(16)? + field(17)?,
    })
}

pub fn machine_ticks() -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat")?;
    let line = text.lines().next().context("empty /proc/stat")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values[..] else {
        anyhow::bail!("short /proc/stat cpu line");
    };
    let busy = user + nice + system + irq + softirq + steal;
    Ok((busy, busy + idle + iowait))
}

/// Percent of all cores busy between two [`machine_ticks`] readings.
pub fn busy_percent(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((busy_before, total_before), (busy, total)) = (before?, after?);
    (total > total_before)
        .then(|| 100.0 * busy.saturating_sub(busy_before) as f64 / (total - total_before) as f64)
}

/// The Kafka broker's process on this machine: a `java` whose command line
/// runs `kafka.Kafka`.
pub fn kafka_broker_pid() -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains("kafka.Kafka"))
        })
}

pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

pub fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_micros(ticks.saturating_mul(1_000_000) / clock_ticks_per_second())
}

/// The postmaster and its children (backends, WAL writer, checkpointer, ...).
pub struct PostgresProcesses {
    pub postmaster: i32,
}

impl PostgresProcesses {
    /// The postmaster is the parent of our own backend; `None` (with a note)
    /// when PostgreSQL is not a process of this machine.
    pub async fn locate(pool: &PgPool) -> Option<Self> {
        let found = async {
            let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(pool)
                .await?;
            let postmaster = process_stat(backend)?.parent;
            process_stat(postmaster)?;
            anyhow::Ok(Self { postmaster })
        }
        .await;
        match found {
            Ok(processes) => Some(processes),
            Err(error) => {
                println!(
                    "  PostgreSQL CPU not measured (its processes are not readable here: {error:#})"
                );
                None
            }
        }
    }

    /// CPU of the postmaster, of its live children, and of the children it
    /// reaped (so a backend that exits mid-drain still counts).
    pub fn ticks(&self) -> Option<u64> {
        let postmaster = process_stat(self.postmaster).ok()?;
        let children: u64 = std::fs::read_dir("/proc")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| process_stat(pid).ok())
            .filter(|stat| stat.parent == self.postmaster)
            .map(|stat| stat.own)
            .sum();
        Some(postmaster.own + postmaster.reaped_children + children)
    }
}

impl CpuSample {
    pub fn take(billing: Option<i32>, postgres: Option<&PostgresProcesses>) -> Self {
        Self {
            billing: billing
                .and_then(|pid| process_stat(pid).ok())
                .map(|stat| stat.own),
            postgres: postgres.and_then(PostgresProcesses::ticks),
            machine: machine_ticks().ok(),
            benchmark: process_stat(i32::try_from(std::process::id()).unwrap_or(0))
                .ok()
                .map(|stat| stat.own),
        }
    }

    /// Use since `before`; billing started after `before`, so all its CPU counts.
    pub fn since(&self, before: &Self, wall: Duration) -> CpuUse {
        let delta = |now: Option<u64>, then: Option<u64>| {
            now.map(|now| ticks_to_duration(now.saturating_sub(then.unwrap_or(0))))
        };
        let machine_busy = busy_percent(before.machine, self.machine);
        CpuUse {
            wall,
            billing: delta(self.billing, None),
            postgres: delta(self.postgres, before.postgres),
            benchmark: delta(self.benchmark, before.benchmark),
            machine_busy,
        }
    }
}

/// What the run database's backends were doing, sampled at each poll:
/// `state / wait event` -> backends summed over the samples.
#[derive(Debug, Default)]
pub struct WaitProfile {
    pub samples: u64,
    pub backends: BTreeMap<String, u64>,
}

impl WaitProfile {
    pub async fn sample(&mut self, pool: &PgPool) -> anyhow::Result<()> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'on CPU'), count(*)
               FROM pg_stat_activity
              WHERE datname = current_database() AND backend_type = 'client backend'
                AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'
              GROUP BY 1",
        )
        .fetch_all(pool)
        .await?;
        self.samples += 1;
        for (what, backends) in rows {
            *self.backends.entry(what).or_default() += u64::try_from(backends)?;
        }
        Ok(())
    }

    /// `(what, average backends)`, busiest first.
    pub fn averages(&self) -> Vec<(String, f64)> {
        let mut averages: Vec<(String, f64)> = self
            .backends
            .iter()
            .map(|(what, total)| (what.clone(), *total as f64 / self.samples.max(1) as f64))
            .collect();
        averages.sort_by(|left, right| right.1.total_cmp(&left.1));
        averages
    }
}

/// The run database's transaction and row counters (`pg_stat_database`)
/// and sequential scans per table (`pg_stat_user_tables`).
#[derive(Debug, Clone)]
pub struct DatabaseWork {
    pub commits: i64,
    pub inserted: i64,
    pub updated: i64,
    /// Table -> (sequential scans, rows they read).
    pub sequential_scans: BTreeMap<String, (i64, i64)>,
}

impl DatabaseWork {
    pub async fn read(pool: &PgPool) -> anyhow::Result<Self> {
        let (commits, inserted, updated): (i64, i64, i64) = sqlx::query_as(
            "SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database
              WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await?;
        let tables: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT relname::text, coalesce(seq_scan, 0), coalesce(seq_tup_read, 0)
               FROM pg_stat_user_tables",
        )
        .fetch_all(pool)
        .await?;
        Ok(Self {
            commits,
            inserted,
            updated,
            sequential_scans: tables
                .into_iter()
                .map(|(table, scans, rows)| (table, (scans, rows)))
                .collect(),
        })
    }

    pub fn since(&self, before: &Self) -> Self {
        Self {
            commits: self.commits - before.commits,
            inserted: self.inserted - before.inserted,
            updated: self.updated - before.updated,
            sequential_scans: self
                .sequential_scans
                .iter()
                .map(|(table, (scans, rows))| {
                    let (scans_before, rows_before) = before
                        .sequential_scans
                        .get(table)
                        .copied()
                        .unwrap_or((0, 0));
                    (table.clone(), (scans - scans_before, rows - rows_before))
                })
                .collect(),
        }
    }

    /// `(table, scans, rows read)` of the tables scanned most, by rows read.
    pub fn most_scanned(&self, tables: usize) -> Vec<(String, i64, i64)> {
        let mut scanned: Vec<(String, i64, i64)> = self
            .sequential_scans
            .iter()
            .filter(|(_, (_, rows))| *rows > 0)
            .map(|(table, (scans, rows))| (table.clone(), *scans, *rows))
            .collect();
        scanned.sort_by_key(|(_, _, rows)| std::cmp::Reverse(*rows));
        scanned.truncate(tables);
        scanned
    }
}
