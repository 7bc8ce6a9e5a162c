//! `CheckCredit` calls decided a batch at a time: each call goes into a
//! queue, a worker takes whatever is queued (up to `credit_check_batch`),
//! decides the batch in one transaction per tenant
//! ([`commands::check::check_credits`]: customers locked in id order,
//! checks decided in arrival order, one statement per table, one commit)
//! and answers each caller. Under load a commit carries many checks instead
//! of one; alone, a call waits for nothing.
//!
//! A batch that fails as a whole (a deadlock with an event being applied,
//! a lost connection) is not the callers' failure: each of its checks is
//! then decided again in a transaction of its own, and only a check that
//! fails alone fails its caller.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::commands::Actor;
use crate::commands::check::{self, CreditAnswer, CreditAsk};
use otc_shared::db::begin_for_tenant;

type Reply = oneshot::Sender<Result<CreditAnswer, sqlx::Error>>;

struct Pending {
    actor: Actor,
    ask: CreditAsk,
    reply: Reply,
}

/// Where the gRPC handler puts a check and waits for its answer.
#[derive(Clone)]
pub struct CreditChecks {
    queue: mpsc::Sender<Pending>,
}

impl CreditChecks {
    pub async fn check(&self, actor: Actor, ask: CreditAsk) -> Result<CreditAnswer, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { actor, ask, reply })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// The workers that decide the queued checks.
pub struct CreditCheckWorkers {
    pool: PgPool,
    queue: Arc<Mutex<mpsc::Receiver<Pending>>>,
    batch: usize,
    workers: usize,
}

/// The queue's two ends; run the workers as a background task.
pub fn credit_checks(
    pool: PgPool,
    batch: usize,
    workers: usize,
) -> (CreditChecks, CreditCheckWorkers) {
    let batch = batch.max(1);
    let workers = workers.max(1);
    let (sender, receiver) = mpsc::channel(batch.saturating_mul(workers).saturating_mul(4));
    (
        CreditChecks { queue: sender },
        CreditCheckWorkers {
            pool,
            queue: Arc::new(Mutex::new(receiver)),
            batch,
            workers,
        },
    )
}

impl CreditCheckWorkers {
    /// Decides batches until `shutdown` (the gRPC server has drained by
    /// then) or until no handler is left to send.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.workers {
            let pool = self.pool.clone();
            let queue = Arc::clone(&self.queue);
            let batch = self.batch;
            let shutdown = shutdown.clone();
            workers.spawn(async move {
                while let Some(pending) = next_batch(&queue, batch, &shutdown).await {
                    decide(&pool, pending).await;
                }
            });
        }
        while let Some(finished) = workers.join_next().await {
            finished?;
        }
        Ok(())
    }
}

/// Waits for a check, then takes whatever else is queued, up to `limit`.
async fn next_batch(
    queue: &Mutex<mpsc::Receiver<Pending>>,
    limit: usize,
    shutdown: &CancellationToken,
) -> Option<Vec<Pending>> {
    let mut queue = tokio::select! {
        () = shutdown.cancelled() => return None,
        queue = queue.lock() => queue,
    };
    let first = tokio::select! {
        () = shutdown.cancelled() => return None,
        first = queue.recv() => first?,
    };
    let mut batch = Vec::with_capacity(limit);
    batch.push(first);
    while batch.len() < limit {
        match queue.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Decides a batch, tenant by tenant (row-level security scopes a
/// transaction to one tenant), keeping the arrival order within each.
async fn decide(pool: &PgPool, batch: Vec<Pending>) {
    let mut by_tenant: Vec<Vec<Pending>> = Vec::new();
    for pending in batch {
        match by_tenant
            .iter_mut()
            .find(|group| group[0].actor.tenant == pending.actor.tenant)
        {
            Some(group) => group.push(pending),
            None => by_tenant.push(vec![pending]),
        }
    }
    for group in by_tenant {
        decide_group(pool, group).await;
    }
}

async fn decide_group(pool: &PgPool, group: Vec<Pending>) {
    let size = group.len();
    match decide_together(pool, &group).await {
        Ok(answers) => {
            for (pending, answer) in group.into_iter().zip(answers) {
                // A caller that gave up no longer waits for its answer.
                let _gone = pending.reply.send(Ok(answer));
            }
        }
        Err(error) if size == 1 => {
            if let Some(pending) = group.into_iter().next() {
                let _gone = pending.reply.send(Err(error));
            }
        }
        Err(error) => {
            tracing::warn!(%error, checks = size, "credit check batch failed; deciding its checks one by one");
            for pending in group {
                let answer = decide_together(pool, std::slice::from_ref(&pending))
                    .await
                    .and_then(|mut answers| answers.pop().ok_or(sqlx::Error::RowNotFound));
                let _gone = pending.reply.send(answer);
            }
        }
    }
}

/// The checks of one tenant in one transaction.
async fn decide_together(
    pool: &PgPool,
    group: &[Pending],
) -> Result<Vec<CreditAnswer>, sqlx::Error> {
    let Some(first) = group.first() else {
        return Ok(Vec::new());
    };
    let tenant = first.actor.tenant.clone();
    let asks: Vec<(&Actor, &CreditAsk)> = group
        .iter()
        .map(|pending| (&pending.actor, &pending.ask))
        .collect();
    let mut tx = begin_for_tenant(pool, &tenant).await?;
    let answers = check::check_credits(&mut tx, &tenant, &asks).await?;
    tx.commit().await?;
    Ok(answers)
}
