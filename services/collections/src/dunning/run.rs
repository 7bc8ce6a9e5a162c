//! A dunning run: the tenant's customers with open items, in id order, a
//! batch per transaction. Each batch plans its notices (see
//! [`crate::domain::dunning::plan`]), renders their text, writes them with
//! their items, and moves the run's checkpoint, all in one commit; so a run
//! cut short (crash, restart, dropped call) is carried on from the last
//! committed batch by whoever takes its lease next, and never dunns an item
//! at a level twice (the notice items' unique key would refuse it anyway).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

use super::settings::DunningSettings;
use crate::commands::{Actor, promises};
use crate::domain::dunning::{self, Channel, PlannedNotice, Strategy, Tally};
use crate::domain::dunning_text::{NoticeContext, Templates};
use crate::store::Tx;
use crate::store::dunning::{
    self as store, Destination, NewNotice, NewNoticeItem, Progress, RunRow,
};
use otc_shared::TenantId;
use otc_shared::address::Address;
use otc_shared::audit::{self, AuditEntry};
use otc_shared::db;

pub const SCHEDULE: &str = "schedule";
pub const ON_DEMAND: &str = "on_demand";

/// Runs dunning; one per process, named so leases tell processes apart.
#[derive(Clone)]
pub struct DunningRunner {
    pool: PgPool,
    settings: DunningSettings,
    owner: String,
}

fn run_json(run: &RunRow) -> serde_json::Value {
    serde_json::json!({
        "as_of": run.as_of,
        "trigger": run.trigger,
        "state": run.state,
        "items_considered": run.items_considered,
        "items_skipped_disputed": run.items_skipped_disputed,
        "items_skipped_promised": run.items_skipped_promised,
        "items_dunned": run.items_dunned,
        "notices_created": run.notices_created,
    })
}

async fn audit_run(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    run: &RunRow,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            tenant: &actor.tenant,
            actor: &actor.subject,
            action,
            entity_type: "dunning_run",
            entity_id: &run.id.to_string(),
            before: None,
            after: Some(run_json(run)),
        },
    )
    .await
}

/// The words, templates and addressing of one run, loaded when it is taken.
struct Plan {
    strategies: BTreeMap<Uuid, Strategy>,
    /// Segment -> strategy id ('' is the default).
    segments: BTreeMap<String, Uuid>,
    templates: HashMap<(Uuid, i32), Templates>,
}

impl DunningRunner {
    pub fn new(pool: PgPool, settings: DunningSettings) -> Self {
        let owner = format!(
            "{}:{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "collections".to_owned()),
            std::process::id(),
            Uuid::now_v7().simple()
        );
        Self {
            pool,
            settings,
            owner,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn settings(&self) -> &DunningSettings {
        &self.settings
    }

    /// Records a new run (audited); None when it is the scheduler's and the
    /// day's run exists already.
    pub async fn start(
        &self,
        actor: &Actor,
        as_of: NaiveDate,
        trigger: &str,
    ) -> anyhow::Result<Option<RunRow>> {
        let mut tx = db::begin_for_tenant(&self.pool, &actor.tenant).await?;
        let run = store::insert_run(
            &mut tx,
            actor.tenant.as_str(),
            as_of,
            trigger,
            &actor.subject,
        )
        .await?;
        if let Some(run) = &run {
            audit_run(&mut tx, actor, "dunning.run_started", run).await?;
        }
        tx.commit().await?;
        Ok(run)
    }

    /// Works the run to its end (or until another process holds its lease)
    /// and returns it as it then stands.
    pub async fn execute(&self, tenant: &TenantId, run_id: Uuid) -> anyhow::Result<RunRow> {
        let started = Instant::now();
        let actor = Actor::new(tenant.clone(), format!("system:dunning:{}", self.owner));
        let mut tx = db::begin_for_tenant(&self.pool, tenant).await?;
        let Some(run) =
            store::claim_run(&mut tx, run_id, &self.owner, self.settings.lease_seconds).await?
        else {
            let current = store::run(&mut tx, run_id).await?;
            tx.commit().await?;
            return current.ok_or_else(|| anyhow::anyhow!("dunning run {run_id} does not exist"));
        };
        // Promises whose date has passed unpaid are broken before the run
        // decides, so their items are dunned again today.
        promises::evaluate(&mut tx, &actor, run.as_of).await?;
        let plan = load_plan(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(
            %tenant,
            run = %run.id,
            as_of = %run.as_of,
            resumed_after = ?run.after_customer,
            "dunning run started"
        );

        let mut after = run.after_customer;
        let mut totals = Tally::default();
        let mut notices_total: i64 = 0;
        loop {
            let mut tx = db::begin_for_tenant(&self.pool, tenant).await?;
            store::lock_tenant_dunning(&mut tx, tenant.as_str()).await?;
            let customers =
                store::next_customers(&mut tx, after, self.settings.batch_customers).await?;
            let (Some(first), Some(last)) = (customers.first().copied(), customers.last().copied())
            else {
                let finished = store::complete_run(&mut tx, run.id, &self.owner).await?;
                let Some(finished) = finished else {
                    // The lease went to another process; it finishes the run.
                    tx.rollback().await?;
                    break;
                };
                audit_run(&mut tx, &actor, "dunning.run_completed", &finished).await?;
                tx.commit().await?;
                tracing::info!(
                    %tenant,
                    run = %run.id,
                    considered = finished.items_considered,
                    dunned = finished.items_dunned,
                    skipped_disputed = finished.items_skipped_disputed,
                    skipped_promised = finished.items_skipped_promised,
                    notices = finished.notices_created,
                    seconds = started.elapsed().as_secs(),
                    "dunning run completed"
                );
                return Ok(finished);
            };
            let (tally, notices) = self
                .batch(&mut tx, tenant, &run, &plan, first, last)
                .await?;
            let progress = Progress {
                after_customer: last,
                considered: tally.considered,
                skipped_disputed: tally.skipped_disputed,
                skipped_promised: tally.skipped_promised,
                dunned: tally.dunned,
                notices,
            };
            if !store::advance_run(
                &mut tx,
                run.id,
                &self.owner,
                self.settings.lease_seconds,
                &progress,
            )
            .await?
            {
                tx.rollback().await?;
                tracing::warn!(%tenant, run = %run.id, "dunning run lease lost; another process carries on");
                break;
            }
            tx.commit().await?;
            after = Some(last);
            totals.add(tally);
            notices_total = notices_total.saturating_add(notices);
            tracing::debug!(
                %tenant,
                run = %run.id,
                considered = totals.considered,
                notices = notices_total,
                "dunning run progress"
            );
            if self.settings.batch_pause_ms > 0 {
                tokio::time::sleep(Duration::from_millis(self.settings.batch_pause_ms)).await;
            }
        }
        let mut tx = db::begin_for_tenant(&self.pool, tenant).await?;
        let current = store::run(&mut tx, run.id).await?;
        tx.commit().await?;
        current.ok_or_else(|| anyhow::anyhow!("dunning run {run_id} disappeared"))
    }

    /// Plans, renders and writes one batch's notices; (tally, notices written).
    async fn batch(
        &self,
        tx: &mut Tx,
        tenant: &TenantId,
        run: &RunRow,
        plan: &Plan,
        first: Uuid,
        last: Uuid,
    ) -> anyhow::Result<(Tally, i64)> {
        let rows = store::candidates(tx, first, last, &plan.segments).await?;
        let mut names: HashMap<Uuid, String> = HashMap::new();
        let candidates: Vec<_> = rows
            .into_iter()
            .map(|row| {
                names
                    .entry(row.candidate.customer_id)
                    .or_insert(row.customer_name);
                row.candidate
            })
            .collect();
        let (planned, tally) = dunning::plan(&candidates, &plan.strategies, run.as_of)?;
        if planned.is_empty() {
            return Ok((tally, 0));
        }
        let mut customer_ids: Vec<Uuid> = planned.iter().map(|notice| notice.customer_id).collect();
        customer_ids.dedup();
        let destinations: HashMap<Uuid, Destination> = store::destinations(tx, &customer_ids)
            .await?
            .into_iter()
            .map(|destination| (destination.customer_id, destination))
            .collect();
        let mut notices = Vec::with_capacity(planned.len());
        for notice in planned {
            let name = names.get(&notice.customer_id).map_or("", String::as_str);
            let templates = plan
                .templates
                .get(&(notice.strategy_id, notice.level.level))
                .ok_or_else(|| anyhow::anyhow!("no templates for a planned level"))?;
            let text = templates.render(&NoticeContext::of(&notice, name, run.as_of))?;
            let (recipient, problem) =
                match recipient_of(notice.level.channel, destinations.get(&notice.customer_id)) {
                    Ok(recipient) => (recipient, None),
                    Err(problem) => (String::new(), Some(problem)),
                };
            notices.push(new_notice(
                notice,
                text.subject,
                text.body,
                recipient,
                problem,
            ));
        }
        let written = i64::try_from(notices.len()).unwrap_or(i64::MAX);
        store::insert_notices(tx, tenant.as_str(), run.id, run.as_of, &notices).await?;
        Ok((tally, written))
    }
}

async fn load_plan(tx: &mut Tx) -> anyhow::Result<Plan> {
    let mut strategies = BTreeMap::new();
    let mut segments = BTreeMap::new();
    let mut templates = HashMap::new();
    for record in store::strategies(tx).await? {
        for level in &record.strategy.levels {
            templates.insert(
                (record.strategy.id, level.level),
                Templates::compile(level)?,
            );
        }
        segments.insert(record.strategy.segment.clone(), record.strategy.id);
        strategies.insert(record.strategy.id, record.strategy);
    }
    Ok(Plan {
        strategies,
        segments,
        templates,
    })
}

/// Where a notice of `channel` goes, or why it can go nowhere (the notice
/// is then stored as failed, and `RetryDunningNotice` sends it once the
/// contact is there).
pub fn recipient_of(channel: Channel, destination: Option<&Destination>) -> Result<String, String> {
    let recipient = match channel {
        Channel::Email => destination.map(|found| found.email.clone()),
        Channel::Webhook => destination.map(|found| found.webhook_url.clone()),
        Channel::Letter => destination
            .and_then(|found| found.billing_address.as_ref())
            .map(|value| Address::from_json(value).printed().join("\n")),
    };
    recipient
        .filter(|recipient| !recipient.trim().is_empty())
        .ok_or_else(|| {
            match channel {
                Channel::Email => "no email address for the customer (SetDunningContact)",
                Channel::Webhook => "no webhook URL for the customer (SetDunningContact)",
                Channel::Letter => "no billing address for the customer (customer master)",
            }
            .to_owned()
        })
}

fn new_notice(
    notice: PlannedNotice,
    subject: String,
    body: String,
    recipient: String,
    problem: Option<String>,
) -> NewNotice {
    NewNotice {
        id: Uuid::now_v7(),
        customer_id: notice.customer_id,
        strategy_id: notice.strategy_id,
        level: notice.level.level,
        channel: notice.level.channel,
        currency: notice.currency,
        overdue_amount: notice.overdue_amount,
        fee_amount: notice.fee_amount,
        interest_amount: notice.interest_amount,
        total_due: notice.total_due,
        subject,
        body,
        recipient,
        status: if problem.is_some() {
            "failed"
        } else {
            "pending"
        },
        last_error: problem.unwrap_or_default(),
        items: notice
            .items
            .into_iter()
            .map(|item| NewNoticeItem {
                item_id: item.item_id,
                number: item.number,
                due_date: item.due_date,
                days_overdue: item.days_overdue,
                open_amount: item.open_amount,
                interest_amount: item.interest_amount,
            })
            .collect(),
    }
}
