//! The snapshot publisher: takes the customers a fold marked, computes their
//! AR aging as of today and puts one record per customer on the compacted
//! `otc.reporting.ar_aging.v1` (keyed by customer), through the outbox, in
//! the transaction that takes the marks. Many changes of one customer while
//! it works coalesce into one record. It wakes when a fold marked something
//! (and every second, for marks of other replicas), so a payment applied
//! reaches the topic within a fold, a snapshot and a relay round. While the
//! fold is behind (catching up on a backlog: its batches come full), it
//! publishes a round at most every `backlog_interval_ms`, so that a
//! customer touched by a thousand backlog events gets a few snapshots, not
//! a thousand.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use std::time::Instant;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use otc_shared::TenantId;
use otc_shared::events::EventEnvelope;
use otc_shared::kafka::topics;
use otc_shared::outbox::OutgoingEvent;
use otc_shared::time::to_rfc3339;

use crate::figures::aging::{self, AgingLine, Buckets, CustomerAging};
use crate::figures::behaviour::{self, Behaviour};
use crate::figures::kpis::{self, CurrencyKpis};
use crate::topics::{SOURCE, amount_text, types};

/// `reporting.snapshots.*` settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotSettings {
    /// Most customers published in one transaction.
    pub batch_size: i64,
    /// The aging buckets of the snapshots (upper bounds in days past due).
    pub aging_buckets: Vec<u32>,
    /// While the fold is behind, the least time between rounds (ms).
    pub backlog_interval_ms: u64,
    /// The least time between two `kpis` records of a tenant (ms).
    pub kpis_interval_ms: u64,
    /// The period of the tenant KPIs (DSO, CEI), in days.
    pub kpis_period_days: u32,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        Self {
            batch_size: 2_000,
            aging_buckets: Buckets::default().bounds().to_vec(),
            backlog_interval_ms: 5_000,
            kpis_interval_ms: 5_000,
            kpis_period_days: 90,
        }
    }
}

impl SnapshotSettings {
    pub fn check(&self) -> anyhow::Result<Buckets> {
        if !(1..=50_000).contains(&self.batch_size) {
            anyhow::bail!("reporting.snapshots.batch_size: must be between 1 and 50000");
        }
        if self.backlog_interval_ms > 600_000 {
            anyhow::bail!("reporting.snapshots.backlog_interval_ms: must be at most 600000");
        }
        if self.kpis_interval_ms > 3_600_000 {
            anyhow::bail!("reporting.snapshots.kpis_interval_ms: must be at most 3600000");
        }
        if !(1..=3_660).contains(&self.kpis_period_days) {
            anyhow::bail!("reporting.snapshots.kpis_period_days: must be between 1 and 3660");
        }
        Buckets::new(self.aging_buckets.clone())
            .map_err(|error| anyhow::anyhow!("reporting.snapshots.aging_buckets: {error}"))
    }
}

/// One aging line as BI tools get it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgingLineJson {
    pub currency: String,
    pub total: String,
    pub overdue: String,
    pub items: u64,
    /// One amount per bucket, in the order of `bucket_labels`.
    pub buckets: Vec<BucketAmount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BucketAmount {
    pub label: String,
    pub amount: String,
}

impl AgingLineJson {
    pub fn of(line: &AgingLine, labels: &[String]) -> Self {
        Self {
            currency: line.currency.clone(),
            total: amount_text(line.total, &line.currency),
            overdue: amount_text(line.overdue, &line.currency),
            items: line.items,
            buckets: labels
                .iter()
                .zip(&line.buckets)
                .map(|(label, amount)| BucketAmount {
                    label: label.clone(),
                    amount: amount_text(*amount, &line.currency),
                })
                .collect(),
        }
    }
}

/// `otc.reporting.ar_aging.v1`: a customer's aging as of a date.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArAgingSnapshot {
    pub snapshot_id: String,
    pub tenant: String,
    pub customer_id: Uuid,
    pub legal_name: Option<String>,
    pub segment: Option<String>,
    pub as_of: NaiveDate,
    pub generated_at: String,
    pub bucket_labels: Vec<String>,
    /// One line per currency owed in; empty when nothing is open.
    pub currencies: Vec<AgingLineJson>,
    /// The functional-currency view, where billing gave the equivalents.
    pub functional: Option<AgingLineJson>,
}

/// The record of one customer's aging.
pub fn aging_record(
    tenant: &TenantId,
    as_of: NaiveDate,
    labels: &[String],
    aging: &CustomerAging,
) -> Result<OutgoingEvent, serde_json::Error> {
    let mut envelope = EventEnvelope::new(types::AR_AGING, SOURCE, tenant);
    envelope.subject = Some(format!("customer/{}", aging.customer_id));
    let snapshot = ArAgingSnapshot {
        snapshot_id: envelope.id.clone(),
        tenant: tenant.as_str().to_owned(),
        customer_id: aging.customer_id,
        legal_name: aging.legal_name.clone(),
        segment: aging.segment.clone(),
        as_of,
        generated_at: to_rfc3339(envelope.time),
        bucket_labels: labels.to_vec(),
        currencies: aging
            .lines
            .iter()
            .map(|line| AgingLineJson::of(line, labels))
            .collect(),
        functional: aging
            .functional
            .as_ref()
            .map(|line| AgingLineJson::of(line, labels)),
    };
    OutgoingEvent::json(
        topics::REPORTING_AR_AGING,
        &aging.customer_id.to_string(),
        envelope,
        &snapshot,
    )
}

/// The advisory lock one publishing round holds (any value unique to it).
const PUBLISHER_LOCK_KEY: i64 = 0x0074_6f63_736e_6170;

/// One currency of a customer's KPIs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomerCurrencyJson {
    pub currency: String,
    pub receivables: String,
    pub overdue: String,
}

/// `otc.reporting.customer_kpis.v1`: a customer's receivables and payment
/// behaviour as of a date.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CustomerKpisSnapshot {
    pub snapshot_id: String,
    pub tenant: String,
    pub customer_id: Uuid,
    pub legal_name: Option<String>,
    pub segment: Option<String>,
    pub as_of: NaiveDate,
    pub generated_at: String,
    pub currencies: Vec<CustomerCurrencyJson>,
    pub average_days_to_pay: Option<String>,
    pub average_days_late: Option<String>,
    pub payment_class: &'static str,
    pub open_disputes: i64,
    pub open_promises: i64,
    pub on_credit_hold: bool,
}

fn customer_kpis_record(
    tenant: &TenantId,
    as_of: NaiveDate,
    aging: &CustomerAging,
    behaviour: &Behaviour,
) -> Result<OutgoingEvent, serde_json::Error> {
    let mut envelope = EventEnvelope::new(types::CUSTOMER_KPIS, SOURCE, tenant);
    envelope.subject = Some(format!("customer/{}", aging.customer_id));
    let snapshot = CustomerKpisSnapshot {
        snapshot_id: envelope.id.clone(),
        tenant: tenant.as_str().to_owned(),
        customer_id: aging.customer_id,
        legal_name: aging.legal_name.clone(),
        segment: aging.segment.clone(),
        as_of,
        generated_at: to_rfc3339(envelope.time),
        currencies: aging
            .lines
            .iter()
            .map(|line| CustomerCurrencyJson {
                currency: line.currency.clone(),
                receivables: amount_text(line.total, &line.currency),
                overdue: amount_text(line.overdue, &line.currency),
            })
            .collect(),
        average_days_to_pay: behaviour.average_days_to_pay.map(|days| days.to_string()),
        average_days_late: behaviour.average_days_late.map(|days| days.to_string()),
        payment_class: behaviour.class(),
        open_disputes: behaviour.open_disputes,
        open_promises: behaviour.open_promises,
        on_credit_hold: behaviour.on_credit_hold,
    };
    OutgoingEvent::json(
        topics::REPORTING_CUSTOMER_KPIS,
        &aging.customer_id.to_string(),
        envelope,
        &snapshot,
    )
}

/// One currency of the tenant KPIs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CurrencyKpisJson {
    pub currency: String,
    pub receivables: String,
    pub current_receivables: String,
    pub overdue_receivables: String,
    pub opening_receivables: String,
    pub credit_sales: String,
    pub dso_standard: Option<String>,
    pub dso_count_back: Option<String>,
    pub best_possible_dso: Option<String>,
    pub average_days_delinquent: Option<String>,
    pub cei: Option<String>,
}

/// `otc.reporting.kpis.v1`: the tenant's KPIs as of a date, keyed by tenant.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KpisSnapshot {
    pub snapshot_id: String,
    pub tenant: String,
    pub as_of: NaiveDate,
    pub generated_at: String,
    pub period_days: u32,
    pub currencies: Vec<CurrencyKpisJson>,
}

fn kpis_record(
    tenant: &TenantId,
    as_of: NaiveDate,
    period_days: u32,
    figures: &[CurrencyKpis],
) -> Result<OutgoingEvent, serde_json::Error> {
    let mut envelope = EventEnvelope::new(types::KPIS, SOURCE, tenant);
    envelope.subject = Some(format!("tenant/{}", tenant.as_str()));
    let text = |value: Option<rust_decimal::Decimal>| value.map(|value| value.to_string());
    let snapshot = KpisSnapshot {
        snapshot_id: envelope.id.clone(),
        tenant: tenant.as_str().to_owned(),
        as_of,
        generated_at: to_rfc3339(envelope.time),
        period_days,
        currencies: figures
            .iter()
            .map(|figures| {
                let money = |amount| amount_text(amount, &figures.currency);
                CurrencyKpisJson {
                    currency: figures.currency.clone(),
                    receivables: money(figures.receivables),
                    current_receivables: money(figures.current_receivables),
                    overdue_receivables: money(figures.overdue_receivables),
                    opening_receivables: money(figures.opening_receivables),
                    credit_sales: money(figures.credit_sales),
                    dso_standard: text(figures.dso_standard),
                    dso_count_back: text(figures.dso_count_back),
                    best_possible_dso: text(figures.best_possible_dso),
                    average_days_delinquent: text(figures.average_days_delinquent),
                    cei: text(figures.cei),
                }
            })
            .collect(),
    };
    OutgoingEvent::json(topics::REPORTING_KPIS, tenant.as_str(), envelope, &snapshot)
}

pub struct SnapshotPublisher {
    pool: PgPool,
    settings: SnapshotSettings,
    buckets: Buckets,
    wake: Arc<Notify>,
    /// Set by the fold while its batches come full.
    behind: Arc<AtomicBool>,
    /// When each tenant's `kpis` record was last published by this replica.
    kpis_published: std::sync::Mutex<HashMap<String, Instant>>,
}

impl SnapshotPublisher {
    pub fn new(
        pool: PgPool,
        settings: SnapshotSettings,
        buckets: Buckets,
        wake: Arc<Notify>,
        behind: Arc<AtomicBool>,
    ) -> Self {
        Self {
            pool,
            settings,
            buckets,
            wake,
            behind,
            kpis_published: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            if let Err(error) = self.publish_tenant_kpis().await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "tenant KPIs not published, retrying"
                );
            }
            match self.publish_once().await {
                Ok(published) => {
                    backoff = Duration::from_millis(200);
                    if published >= self.settings.batch_size {
                        continue;
                    }
                    if self.behind.load(Ordering::Relaxed) {
                        let pause = Duration::from_millis(self.settings.backlog_interval_ms);
                        tokio::select! {
                            () = shutdown.cancelled() => {}
                            () = tokio::time::sleep(pause) => {}
                        }
                    } else {
                        tokio::select! {
                            () = shutdown.cancelled() => {}
                            () = self.wake.notified() => {}
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        ?backoff,
                        "snapshot publishing failed, retrying"
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        tracing::info!("snapshot publisher stopped");
        Ok(())
    }

    /// Publishes the `kpis` record of each marked tenant whose last one is
    /// older than `kpis_interval_ms`; returns how many it published.
    pub async fn publish_tenant_kpis(&self) -> anyhow::Result<usize> {
        let interval = Duration::from_millis(self.settings.kpis_interval_ms);
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let leader = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock($1) AS "leader!""#,
            PUBLISHER_LOCK_KEY
        )
        .fetch_one(&mut *tx)
        .await?;
        if !leader {
            tx.rollback().await?;
            return Ok(0);
        }
        let marks = sqlx::query!(
            r#"SELECT tenant, version FROM snapshot_marks
               WHERE customer_id = '00000000-0000-0000-0000-000000000000'
               ORDER BY tenant"#
        )
        .fetch_all(&mut *tx)
        .await?;
        let due: Vec<(String, i64)> = {
            let published = self
                .kpis_published
                .lock()
                .map_err(|_| anyhow::anyhow!("the KPI clock is poisoned"))?;
            marks
                .into_iter()
                .filter(|mark| {
                    published
                        .get(&mark.tenant)
                        .is_none_or(|at| at.elapsed() >= interval)
                })
                .map(|mark| (mark.tenant, mark.version))
                .collect()
        };
        if due.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let as_of = otc_shared::time::now().date_naive();
        let period = self.settings.kpis_period_days;
        let mut records = Vec::with_capacity(due.len());
        for (tenant, _) in &due {
            let figures = kpis::tenant_kpis(&mut tx, tenant, as_of, period, None).await?;
            records.push(kpis_record(
                &TenantId::parse(tenant)?,
                as_of,
                period,
                &figures,
            )?);
        }
        otc_shared::outbox::enqueue_many(&mut tx, &records).await?;
        let (tenants, versions): (Vec<String>, Vec<i64>) = due.iter().cloned().unzip();
        sqlx::query!(
            r#"DELETE FROM snapshot_marks m
               USING UNNEST($1::text[], $2::int8[]) AS r(tenant, version)
               WHERE m.tenant = r.tenant AND m.customer_id = '00000000-0000-0000-0000-000000000000'
                 AND m.version = r.version"#,
            &tenants,
            &versions,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut published = self
            .kpis_published
            .lock()
            .map_err(|_| anyhow::anyhow!("the KPI clock is poisoned"))?;
        for tenant in tenants {
            published.insert(tenant, Instant::now());
        }
        metrics::counter!("otc_reporting_snapshots_published_total", "topic" => "kpis")
            .increment(u64::try_from(records.len()).unwrap_or(u64::MAX));
        Ok(records.len())
    }

    /// Publishes the snapshots of up to a batch of marked customers; returns
    /// how many it took. The marks are read without a lock (the fold never
    /// waits for a round), and only the versions read are deleted, with the
    /// records, at the end: a customer marked again meanwhile keeps its
    /// mark. One round runs at a time across replicas (an advisory lock).
    pub async fn publish_once(&self) -> anyhow::Result<i64> {
        let mut tx = otc_shared::db::begin_for_all_tenants(&self.pool).await?;
        let leader = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock($1) AS "leader!""#,
            PUBLISHER_LOCK_KEY
        )
        .fetch_one(&mut *tx)
        .await?;
        if !leader {
            tx.rollback().await?;
            return Ok(0);
        }
        let taken = sqlx::query!(
            r#"SELECT tenant, customer_id, version FROM snapshot_marks
               WHERE customer_id <> '00000000-0000-0000-0000-000000000000'
               ORDER BY marked_at, tenant, customer_id
               LIMIT $1"#,
            self.settings.batch_size,
        )
        .fetch_all(&mut *tx)
        .await?;
        if taken.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let count = i64::try_from(taken.len()).unwrap_or(i64::MAX);
        let mut by_tenant: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        let mut read: Vec<(String, Uuid, i64)> = Vec::with_capacity(taken.len());
        for row in taken {
            by_tenant
                .entry(row.tenant.clone())
                .or_default()
                .push(row.customer_id);
            read.push((row.tenant, row.customer_id, row.version));
        }
        let as_of = otc_shared::time::now().date_naive();
        let labels = self.buckets.labels();
        let mut records = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for (tenant, mut customers) in by_tenant {
            customers.sort_unstable();
            let tenant_id = TenantId::parse(&tenant)?;
            let agings =
                aging::by_customer(&mut tx, &tenant, as_of, &self.buckets, Some(&customers))
                    .await?;
            let behaviours = behaviour::of_customers(&mut tx, &tenant, &customers, as_of).await?;
            for customer in &agings {
                records.push(aging_record(&tenant_id, as_of, &labels, customer)?);
                let behaviour = behaviours
                    .get(&customer.customer_id)
                    .cloned()
                    .unwrap_or_default();
                records.push(customer_kpis_record(
                    &tenant_id, as_of, customer, &behaviour,
                )?);
            }
        }
        otc_shared::outbox::enqueue_many(&mut tx, &records).await?;
        // In key order, as the fold marks: no deadlock between the two.
        read.sort();
        let (tenants, customers, versions): (Vec<String>, Vec<Uuid>, Vec<i64>) =
            read.into_iter().fold(
                (Vec::new(), Vec::new(), Vec::new()),
                |(mut tenants, mut customers, mut versions), (tenant, customer, version)| {
                    tenants.push(tenant);
                    customers.push(customer);
                    versions.push(version);
                    (tenants, customers, versions)
                },
            );
        sqlx::query!(
            r#"DELETE FROM snapshot_marks m
               USING UNNEST($1::text[], $2::uuid[], $3::int8[]) AS r(tenant, customer_id, version)
               WHERE m.tenant = r.tenant AND m.customer_id = r.customer_id AND m.version = r.version"#,
            &tenants,
            &customers,
            &versions,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        metrics::counter!("otc_reporting_snapshots_published_total", "topic" => "ar_aging")
            .increment(u64::try_from(records.len()).unwrap_or(u64::MAX));
        Ok(count)
    }
}
