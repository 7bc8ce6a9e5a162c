//! The raw PostgreSQL baseline a service's figure is compared with: on a
//! scratch database of the same server, `BEGIN; INSERT one row; COMMIT` as
//! often as possible on a number of connections at once.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::figures;
use otc_testkit::TestDatabase;

/// Commits of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct CommitRun {
    pub connections: usize,
    pub commits: usize,
    pub elapsed: Duration,
}

impl CommitRun {
    pub fn rate(&self) -> f64 {
        figures::per_second(self.commits, self.elapsed)
    }
}

/// A scratch database with the table the measurements insert into, and a
/// pool of `connections` connections to it.
pub struct Scratch {
    database: TestDatabase,
    pool: PgPool,
    /// Server version, fsync and synchronous_commit.
    pub settings: String,
}

impl Scratch {
    pub async fn create(connections: usize) -> anyhow::Result<Self> {
        let database = TestDatabase::create("bench_raw").await?;
        let made = async {
            sqlx::query(
                "CREATE TABLE raw_commits (
                     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     tenant TEXT NOT NULL,
                     payload TEXT NOT NULL,
                     created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .execute(&database.pool)
            .await?;
            let (version, fsync, synchronous_commit): (String, String, String) = sqlx::query_as(
                "SELECT current_setting('server_version'), current_setting('fsync'),
                            current_setting('synchronous_commit')",
            )
            .fetch_one(&database.pool)
            .await?;
            let pool = PgPoolOptions::new()
                .max_connections(u32::try_from(connections.max(1))?)
                .acquire_timeout(Duration::from_secs(30))
                .connect(&database.url)
                .await?;
            anyhow::Ok((
                pool,
                format!(
                    "PostgreSQL {version}, fsync {fsync}, synchronous_commit {synchronous_commit}"
                ),
            ))
        }
        .await;
        match made {
            Ok((pool, settings)) => Ok(Self {
                database,
                pool,
                settings,
            }),
            Err(error) => {
                database.drop_database().await;
                Err(error)
            }
        }
    }

    /// `connections` tasks, each on a connection of its own, doing BEGIN;
    /// INSERT one row; COMMIT as often as they can for `duration`.
    pub async fn commit_loop(
        &self,
        connections: usize,
        duration: Duration,
    ) -> anyhow::Result<CommitRun> {
        let connections = connections.max(1);
        // Every connection is open before the clock starts.
        let mut held = Vec::with_capacity(connections);
        for _ in 0..connections {
            held.push(self.pool.acquire().await?);
        }
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = tokio::task::JoinSet::new();
        for mut connection in held {
            tasks.spawn(async move {
                let payload = "x".repeat(200);
                let mut commits = 0_usize;
                while Instant::now() < deadline {
                    let mut transaction = sqlx::Connection::begin(&mut *connection).await?;
                    sqlx::query("INSERT INTO raw_commits (tenant, payload) VALUES ($1, $2)")
                        .bind("bench")
                        .bind(&payload)
                        .execute(&mut *transaction)
                        .await?;
                    transaction.commit().await?;
                    commits += 1;
                }
                anyhow::Ok(commits)
            });
        }
        let mut commits = 0;
        while let Some(joined) = tasks.join_next().await {
            commits += joined??;
        }
        Ok(CommitRun {
            connections,
            commits,
            elapsed: started.elapsed(),
        })
    }

    pub async fn drop_database(self) {
        self.pool.close().await;
        self.database.drop_database().await;
    }
}
