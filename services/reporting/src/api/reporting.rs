//! `otc.reporting.v1.ReportingService`: aging, KPIs and the aging export,
//! for the caller's tenant (row-level security scopes every read), with
//! `reports.read`.

use chrono::NaiveDate;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use otc_proto::reporting as wire;
use otc_proto::reporting::reporting_service_server::ReportingService;
use otc_shared::TenantId;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{Fields, begin, commit, database_status};
use otc_shared::money::column_to_proto;

use crate::export;
use crate::figures::aging::{self, AgingLine, Buckets, CustomerAging, GroupBy};
use crate::figures::behaviour;
use crate::figures::exceptions;
use crate::figures::facts;
use crate::figures::forecast;
use crate::figures::history;
use crate::figures::kpis;
use crate::figures::statistics::{self, CycleTime, Rate};
use crate::topics::amount_text;

/// The default period of the KPIs, in days.
pub const DEFAULT_PERIOD_DAYS: u32 = 90;

/// The default number of points of the DSO trend (a year of month ends).
pub const DEFAULT_TREND_MONTHS: u32 = 12;

/// The default window for a dunning notice to count as effective, in days.
pub const DEFAULT_DUNNING_DAYS: u32 = 14;

fn rate(rate: &Rate) -> wire::RateFigures {
    wire::RateFigures {
        currency: rate.currency.clone(),
        total_count: rate.total_count,
        matching_count: rate.matching_count,
        total_amount: Some(column_to_proto(rate.total_amount, &rate.currency)),
        matching_amount: Some(column_to_proto(rate.matching_amount, &rate.currency)),
        rate_by_count: rate.by_count().map(|value| value.to_string()),
        rate_by_amount: rate.by_amount().map(|value| value.to_string()),
    }
}

fn cycle(cycle: &CycleTime) -> wire::CycleTimeFigures {
    let text = |value: Option<rust_decimal::Decimal>| value.map(|value| value.to_string());
    wire::CycleTimeFigures {
        count: cycle.count,
        average_days: text(cycle.average_days),
        median_days: text(cycle.median_days),
        p90_days: text(cycle.p90_days),
    }
}

pub struct ReportingApi {
    pool: PgPool,
}

impl ReportingApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn as_of(fields: &mut Fields, text: &str) -> Option<NaiveDate> {
    if text.trim().is_empty() {
        return Some(otc_shared::time::now().date_naive());
    }
    fields.date("as_of", text)
}

/// A period in days: 0 means `default`; at most ten years.
fn period(fields: &mut Fields, field: &str, days: u32, default: u32) -> u32 {
    let days = if days == 0 { default } else { days };
    if days > 3_660 {
        fields.add(field, "at most 3660 days");
    }
    days
}

fn behaviour_of(
    customer_id: Uuid,
    legal_name: &str,
    segment: &str,
    found: &behaviour::Behaviour,
) -> wire::PaymentBehaviour {
    let text = |value: Option<rust_decimal::Decimal>| value.map(|value| value.to_string());
    wire::PaymentBehaviour {
        customer_id: customer_id.to_string(),
        legal_name: legal_name.to_owned(),
        segment: segment.to_owned(),
        average_days_to_pay: text(found.average_days_to_pay),
        average_days_late: text(found.average_days_late),
        payment_class: found.class().to_owned(),
        open_disputes: found.open_disputes,
        open_promises: found.open_promises,
        on_credit_hold: found.on_credit_hold,
    }
}

fn buckets(fields: &mut Fields, bounds: &[u32]) -> Option<Buckets> {
    if bounds.is_empty() {
        return Some(Buckets::default());
    }
    match Buckets::new(bounds.to_vec()) {
        Ok(buckets) => Some(buckets),
        Err(error) => {
            fields.add("bucket_bounds", error.0);
            None
        }
    }
}

fn currency(fields: &mut Fields, text: &str) -> Option<Option<String>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(None);
    }
    match otc_shared::Currency::parse(text) {
        Ok(currency) => Some(Some(currency.code().to_owned())),
        Err(error) => {
            fields.add("currency", error.to_string());
            None
        }
    }
}

fn line(line: &AgingLine) -> wire::AgingLine {
    wire::AgingLine {
        currency: line.currency.clone(),
        buckets: line
            .buckets
            .iter()
            .map(|amount| amount_text(*amount, &line.currency))
            .collect(),
        total: Some(column_to_proto(line.total, &line.currency)),
        overdue: Some(column_to_proto(line.overdue, &line.currency)),
        items: line.items,
    }
}

/// The aging of the tenant's customers (all, or one), as of a date.
async fn customer_agings(
    pool: &PgPool,
    tenant: &TenantId,
    as_of: NaiveDate,
    buckets: &Buckets,
    customer: Option<Uuid>,
) -> Result<Vec<CustomerAging>, Status> {
    let mut tx = begin(pool, tenant).await?;
    let only: Option<Vec<Uuid>> = customer.map(|id| vec![id]);
    let agings = aging::by_customer(&mut tx, tenant.as_str(), as_of, buckets, only.as_deref())
        .await
        .map_err(|error| database_status(&error))?;
    commit(tx).await?;
    if let Some(id) = customer
        && agings
            .iter()
            .all(|row| row.customer_id != id || (row.legal_name.is_none() && row.lines.is_empty()))
    {
        // Neither in the master nor owing: unknown to this tenant.
        return Err(Status::not_found(format!("customer {id} not found")));
    }
    Ok(agings)
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_aging(
        &self,
        request: Request<wire::GetAgingRequest>,
    ) -> Result<Response<wire::GetAgingResponse>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let buckets = buckets(&mut fields, &ask.bucket_bounds);
        let currency = currency(&mut fields, &ask.currency);
        let customer = fields.optional_uuid("customer_id", &ask.customer_id);
        let group_by = wire::AgingGroupBy::try_from(ask.group_by).ok();
        if group_by.is_none() {
            fields.add("group_by", format!("unknown value {}", ask.group_by));
        }
        fields.finish()?;
        let (Some(as_of), Some(buckets), Some(currency), Some(group_by)) =
            (as_of, buckets, currency, group_by)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut agings =
            customer_agings(&self.pool, &principal.tenant, as_of, &buckets, customer).await?;
        let segment = ask.segment.trim();
        if !segment.is_empty() {
            agings.retain(|row| row.segment.as_deref() == Some(segment));
        }
        if let Some(code) = &currency {
            for row in &mut agings {
                row.lines.retain(|line| &line.currency == code);
            }
            agings.retain(|row| !row.lines.is_empty() || customer.is_some());
        }
        let mut response = wire::GetAgingResponse {
            as_of: as_of.to_string(),
            bucket_labels: buckets.labels(),
            customers: Vec::new(),
            groups: Vec::new(),
        };
        let grouping = match group_by {
            wire::AgingGroupBy::Unspecified | wire::AgingGroupBy::Customer => None,
            wire::AgingGroupBy::Segment => Some(GroupBy::Segment),
            wire::AgingGroupBy::Currency => Some(GroupBy::Currency),
            wire::AgingGroupBy::FunctionalCurrency => Some(GroupBy::FunctionalCurrency),
        };
        match grouping {
            None => {
                response.customers = agings
                    .iter()
                    .map(|row| wire::CustomerAging {
                        customer_id: row.customer_id.to_string(),
                        legal_name: row.legal_name.clone().unwrap_or_default(),
                        segment: row.segment.clone().unwrap_or_default(),
                        lines: row.lines.iter().map(line).collect(),
                        functional: row.functional.as_ref().map(line),
                    })
                    .collect();
            }
            Some(by) => {
                response.groups = aging::group(&agings, by, &buckets)
                    .iter()
                    .map(|group| wire::GroupAging {
                        group: group.group.clone(),
                        line: Some(line(&group.line)),
                        customers: group.customers,
                    })
                    .collect();
            }
        }
        Ok(Response::new(response))
    }

    async fn get_kpis(
        &self,
        request: Request<wire::GetKpisRequest>,
    ) -> Result<Response<wire::GetKpisResponse>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let currency = currency(&mut fields, &ask.currency);
        let period_days = period(
            &mut fields,
            "period_days",
            ask.period_days,
            DEFAULT_PERIOD_DAYS,
        );
        fields.finish()?;
        let (Some(as_of), Some(currency)) = (as_of, currency) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let figures = kpis::tenant_kpis(
            &mut tx,
            principal.tenant.as_str(),
            as_of,
            period_days,
            currency.as_deref(),
        )
        .await
        .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        let text = |value: Option<rust_decimal::Decimal>| value.map(|value| value.to_string());
        Ok(Response::new(wire::GetKpisResponse {
            as_of: as_of.to_string(),
            period_days,
            currencies: figures
                .iter()
                .map(|figures| {
                    let money = |amount| Some(column_to_proto(amount, &figures.currency));
                    wire::CurrencyKpis {
                        currency: figures.currency.clone(),
                        receivables: money(figures.receivables),
                        current_receivables: money(figures.current_receivables),
                        overdue_receivables: money(figures.overdue_receivables),
                        credit_sales: money(figures.credit_sales),
                        dso_standard: text(figures.dso_standard),
                        dso_count_back: text(figures.dso_count_back),
                        best_possible_dso: text(figures.best_possible_dso),
                        average_days_delinquent: text(figures.average_days_delinquent),
                        cei: text(figures.cei),
                        opening_receivables: money(figures.opening_receivables),
                    }
                })
                .collect(),
        }))
    }

    async fn export_aging(
        &self,
        request: Request<wire::ExportAgingRequest>,
    ) -> Result<Response<wire::ExportedFile>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let buckets = buckets(&mut fields, &ask.bucket_bounds);
        let format = match wire::ExportFormat::try_from(ask.format) {
            Ok(wire::ExportFormat::Csv) => Some(wire::ExportFormat::Csv),
            Ok(wire::ExportFormat::Xlsx) => Some(wire::ExportFormat::Xlsx),
            _ => {
                fields.add("format", "give EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX");
                None
            }
        };
        fields.finish()?;
        let (Some(as_of), Some(buckets), Some(format)) = (as_of, buckets, format) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let agings = customer_agings(&self.pool, &principal.tenant, as_of, &buckets, None).await?;
        let labels = buckets.labels();
        let failed = |error: anyhow::Error| {
            tracing::error!(error = format!("{error:#}"), "aging export failed");
            Status::internal("the export could not be written")
        };
        let (content, content_type, extension) = match format {
            wire::ExportFormat::Xlsx => (
                export::aging_xlsx(as_of, &labels, &agings).map_err(failed)?,
                export::XLSX_CONTENT_TYPE,
                "xlsx",
            ),
            _ => (
                export::aging_csv(&labels, &agings).map_err(failed)?,
                export::CSV_CONTENT_TYPE,
                "csv",
            ),
        };
        Ok(Response::new(wire::ExportedFile {
            filename: format!("ar-aging-{}-{as_of}.{extension}", principal.tenant.as_str()),
            content_type: content_type.to_owned(),
            content,
        }))
    }

    async fn get_collection_statistics(
        &self,
        request: Request<wire::GetCollectionStatisticsRequest>,
    ) -> Result<Response<wire::CollectionStatistics>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let period_days = period(
            &mut fields,
            "period_days",
            ask.period_days,
            DEFAULT_PERIOD_DAYS,
        );
        let dunning_days = if ask.dunning_days == 0 {
            DEFAULT_DUNNING_DAYS
        } else {
            ask.dunning_days
        };
        if dunning_days > 366 {
            fields.add("dunning_days", "at most 366 days");
        }
        fields.finish()?;
        let Some(as_of) = as_of else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let figures = statistics::statistics(
            &mut tx,
            principal.tenant.as_str(),
            as_of,
            period_days,
            dunning_days,
        )
        .await
        .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        Ok(Response::new(wire::CollectionStatistics {
            as_of: as_of.to_string(),
            period_days,
            dunning_days,
            auto_match: figures.auto_match.iter().map(rate).collect(),
            disputes: figures
                .disputes
                .iter()
                .map(|reason| wire::DisputeReasonFigures {
                    reason_code: reason.reason_code.clone(),
                    currency: reason.currency.clone(),
                    opened: reason.opened,
                    opened_amount: Some(column_to_proto(reason.opened_amount, &reason.currency)),
                    open: reason.open,
                    resolved: reason.resolved,
                    average_resolution_days: reason
                        .average_resolution_days
                        .map(|days| days.to_string()),
                })
                .collect(),
            promises_kept: figures.promises.iter().map(rate).collect(),
            dunning: figures
                .dunning
                .iter()
                .map(|level| wire::DunningLevelFigures {
                    level: level.level,
                    paid_within: Some(rate(&level.rate)),
                })
                .collect(),
            invoice_to_cash: Some(cycle(&figures.invoice_to_cash)),
            order_to_cash: Some(cycle(&figures.order_to_cash)),
        }))
    }

    async fn get_cash_forecast(
        &self,
        request: Request<wire::GetCashForecastRequest>,
    ) -> Result<Response<wire::CashForecast>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let weeks = if ask.accuracy_weeks == 0 {
            8
        } else {
            ask.accuracy_weeks
        };
        if weeks > 104 {
            fields.add("accuracy_weeks", "at most 104 weeks");
        }
        fields.finish()?;
        let Some(as_of) = as_of else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let tenant = principal.tenant.as_str();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let lines = forecast::forecast(&mut tx, tenant, as_of)
            .await
            .map_err(|error| database_status(&error))?;
        let accuracy = forecast::accuracy(&mut tx, tenant, as_of, weeks)
            .await
            .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        let week_starts = (0..forecast::WEEKS)
            .filter_map(|week| {
                let days = u64::try_from(week).ok()? * 7;
                as_of.checked_add_days(chrono::Days::new(days))
            })
            .map(|day| day.to_string())
            .collect();
        Ok(Response::new(wire::CashForecast {
            as_of: as_of.to_string(),
            week_starts,
            currencies: lines
                .iter()
                .map(|line| wire::CurrencyForecast {
                    currency: line.currency.clone(),
                    weeks: line
                        .weeks
                        .iter()
                        .map(|amount| amount_text(*amount, &line.currency))
                        .collect(),
                    later: amount_text(line.later, &line.currency),
                })
                .collect(),
            accuracy: accuracy
                .iter()
                .map(|row| wire::ForecastAccuracy {
                    week_start: row.week_start.to_string(),
                    currency: row.currency.clone(),
                    forecast: Some(column_to_proto(row.forecast, &row.currency)),
                    actual: Some(column_to_proto(row.actual, &row.currency)),
                    error: Some(column_to_proto(row.error, &row.currency)),
                    error_percent: row.error_percent.map(|value| value.to_string()),
                })
                .collect(),
        }))
    }

    async fn get_exception_queue(
        &self,
        request: Request<wire::GetExceptionQueueRequest>,
    ) -> Result<Response<wire::ExceptionQueue>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let queue = exceptions::exception_queue(&mut tx, principal.tenant.as_str())
            .await
            .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        let lines = |lines: &[exceptions::CurrencyCount]| -> Vec<wire::CurrencyCount> {
            lines
                .iter()
                .map(|line| wire::CurrencyCount {
                    currency: line.currency.clone(),
                    count: line.count,
                    amount: Some(column_to_proto(line.amount, &line.currency)),
                })
                .collect()
        };
        Ok(Response::new(wire::ExceptionQueue {
            unapplied_cash: lines(&queue.unapplied_cash),
            unidentified_receipts: queue.unidentified_receipts,
            customers_on_credit_hold: queue.customers_on_credit_hold,
            held_invoices: queue.held_invoices,
            open_disputes: lines(&queue.open_disputes),
            total: queue.total(),
        }))
    }

    async fn list_payment_behaviour(
        &self,
        request: Request<wire::ListPaymentBehaviourRequest>,
    ) -> Result<Response<wire::ListPaymentBehaviourResponse>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let class = ask.payment_class.trim().to_owned();
        if !class.is_empty()
            && !["prompt", "slightly_late", "late", "chronic", "no_history"]
                .contains(&class.as_str())
        {
            fields.add(
                "payment_class",
                "one of prompt, slightly_late, late, chronic, no_history",
            );
        }
        let page = otc_shared::grpc::page(ask.page.as_ref());
        if let Err(status) = &page {
            fields.add("page.page_token", status.message().to_owned());
        }
        fields.finish()?;
        let (Some(as_of), Ok((limit, after))) = (as_of, page) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let tenant = principal.tenant.as_str();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let scanned = sqlx::query!(
            r#"SELECT customer_id, legal_name, segment FROM customers
               WHERE tenant = $1 AND ($2::uuid IS NULL OR customer_id > $2)
               ORDER BY customer_id LIMIT $3"#,
            tenant,
            after,
            limit,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|error| database_status(&error))?;
        let ids: Vec<Uuid> = scanned.iter().map(|row| row.customer_id).collect();
        let behaviours = behaviour::of_customers(&mut tx, tenant, &ids, as_of)
            .await
            .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        let customers = scanned
            .iter()
            .filter_map(|row| {
                let found = behaviours.get(&row.customer_id)?;
                (class.is_empty() || found.class() == class)
                    .then(|| behaviour_of(row.customer_id, &row.legal_name, &row.segment, found))
            })
            .collect();
        Ok(Response::new(wire::ListPaymentBehaviourResponse {
            customers,
            page: Some(otc_shared::grpc::page_info(&ids, limit)),
        }))
    }

    async fn export_facts(
        &self,
        request: Request<wire::ExportFactsRequest>,
    ) -> Result<Response<wire::ExportedFile>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let from = fields.date("from", &ask.from);
        let to = fields.date("to", &ask.to);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            fields.add("to", "is before from");
        }
        let kind = match wire::FactKind::try_from(ask.kind) {
            Ok(
                kind @ (wire::FactKind::Invoices
                | wire::FactKind::Payments
                | wire::FactKind::Disputes),
            ) => Some(kind),
            _ => {
                fields.add(
                    "kind",
                    "give FACT_KIND_INVOICES, FACT_KIND_PAYMENTS or FACT_KIND_DISPUTES",
                );
                None
            }
        };
        let format = match wire::ExportFormat::try_from(ask.format) {
            Ok(format @ (wire::ExportFormat::Csv | wire::ExportFormat::Xlsx)) => Some(format),
            _ => {
                fields.add("format", "give EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX");
                None
            }
        };
        fields.finish()?;
        let (Some(from), Some(to), Some(kind), Some(format)) = (from, to, kind, format) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let tenant = principal.tenant.as_str();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let (table, name) = match kind {
            wire::FactKind::Payments => {
                (facts::payments(&mut tx, tenant, from, to).await, "payments")
            }
            wire::FactKind::Disputes => {
                (facts::disputes(&mut tx, tenant, from, to).await, "disputes")
            }
            _ => (facts::invoices(&mut tx, tenant, from, to).await, "invoices"),
        };
        let table = table.map_err(|error| database_status(&error))?;
        commit(tx).await?;
        let failed = |error: anyhow::Error| {
            tracing::error!(error = format!("{error:#}"), "fact export failed");
            Status::internal("the export could not be written")
        };
        let (content, content_type, extension) = match format {
            wire::ExportFormat::Xlsx => (
                export::table_xlsx(&format!("{name} {from} to {to}"), &table).map_err(failed)?,
                export::XLSX_CONTENT_TYPE,
                "xlsx",
            ),
            _ => (
                export::table_csv(&table).map_err(failed)?,
                export::CSV_CONTENT_TYPE,
                "csv",
            ),
        };
        Ok(Response::new(wire::ExportedFile {
            filename: format!("{name}-{tenant}-{from}-{to}.{extension}"),
            content_type: content_type.to_owned(),
            content,
        }))
    }

    async fn get_dso_trend(
        &self,
        request: Request<wire::GetDsoTrendRequest>,
    ) -> Result<Response<wire::DsoTrend>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let as_of = as_of(&mut fields, &ask.as_of);
        let currency = currency(&mut fields, &ask.currency);
        let period_days = period(
            &mut fields,
            "period_days",
            ask.period_days,
            DEFAULT_PERIOD_DAYS,
        );
        let months = if ask.months == 0 {
            DEFAULT_TREND_MONTHS
        } else {
            ask.months
        };
        if months > kpis::MAX_TREND_MONTHS {
            fields.add(
                "months",
                format!("at most {} points", kpis::MAX_TREND_MONTHS),
            );
        }
        fields.finish()?;
        let (Some(as_of), Some(currency)) = (as_of, currency) else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let dates = kpis::trend_dates(as_of, months);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let trend = kpis::trend(
            &mut tx,
            principal.tenant.as_str(),
            &dates,
            period_days,
            currency.as_deref(),
        )
        .await
        .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        let text = |value: Option<rust_decimal::Decimal>| value.map(|value| value.to_string());
        Ok(Response::new(wire::DsoTrend {
            period_days,
            dates: dates.iter().map(ToString::to_string).collect(),
            points: trend
                .iter()
                .flat_map(|(date, figures)| {
                    figures.iter().map(move |figures| wire::DsoPoint {
                        as_of: date.to_string(),
                        currency: figures.currency.clone(),
                        dso_standard: text(figures.dso_standard),
                        dso_count_back: text(figures.dso_count_back),
                        best_possible_dso: text(figures.best_possible_dso),
                        cei: text(figures.cei),
                        receivables: Some(column_to_proto(figures.receivables, &figures.currency)),
                    })
                })
                .collect(),
        }))
    }

    async fn get_payment_history(
        &self,
        request: Request<wire::GetPaymentHistoryRequest>,
    ) -> Result<Response<wire::PaymentHistory>, Status> {
        let principal = authorize(&request, Permission::ReportsRead)?;
        let ask = request.into_inner();
        let mut fields = Fields::new();
        let customer = fields.uuid("customer_id", &ask.customer_id);
        let as_of = as_of(&mut fields, &ask.as_of);
        let to = match fields.optional_date("to", &ask.to) {
            Some(to) => Some(to),
            None if ask.to.trim().is_empty() => as_of,
            None => None,
        };
        let from = match fields.optional_date("from", &ask.from) {
            Some(from) => Some(from),
            None if ask.from.trim().is_empty() => {
                to.and_then(|to| to.checked_sub_months(chrono::Months::new(12)))
            }
            None => None,
        };
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            fields.add("to", "is before from");
        }
        fields.finish()?;
        let (Some(customer), Some(as_of), Some(from), Some(to)) = (customer, as_of, from, to)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let tenant = principal.tenant.as_str();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let master = sqlx::query!(
            "SELECT legal_name, segment FROM customers WHERE tenant = $1 AND customer_id = $2",
            tenant,
            customer,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|error| database_status(&error))?;
        let items = history::of_customer(&mut tx, tenant, customer, from, to, as_of)
            .await
            .map_err(|error| database_status(&error))?;
        let behaviours = behaviour::of_customers(&mut tx, tenant, &[customer], as_of)
            .await
            .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        if master.is_none() && items.is_empty() {
            // Neither in the master nor billed: unknown to this tenant.
            return Err(Status::not_found(format!("customer {customer} not found")));
        }
        let (legal_name, segment) = master
            .map(|row| (row.legal_name, row.segment))
            .unwrap_or_default();
        let found = behaviours.get(&customer).cloned().unwrap_or_default();
        let days = |value: Option<i64>| value.and_then(|value| i32::try_from(value).ok());
        Ok(Response::new(wire::PaymentHistory {
            customer_id: customer.to_string(),
            legal_name: legal_name.clone(),
            as_of: as_of.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            behaviour: Some(behaviour_of(customer, &legal_name, &segment, &found)),
            invoices: items
                .iter()
                .map(|item| {
                    let money = |amount| Some(column_to_proto(amount, &item.currency));
                    wire::InvoiceHistory {
                        document_id: item.document_id.to_string(),
                        number: item.number.clone(),
                        kind: item.kind.clone(),
                        amount: money(item.amount),
                        issue_date: item.issue_date.to_string(),
                        due_date: item.due_date.to_string(),
                        open: money(item.open),
                        status: item.status.to_owned(),
                        settled_on: item
                            .settled_on
                            .map(|day| day.to_string())
                            .unwrap_or_default(),
                        days_to_pay: days(item.days_to_pay),
                        days_late: days(item.days_late),
                        movements: item
                            .movements
                            .iter()
                            .map(|movement| wire::ItemMovement {
                                kind: movement.kind.clone(),
                                amount: money(movement.amount),
                                occurred_on: movement.occurred_on.to_string(),
                                value_date: movement
                                    .value_date
                                    .map(|day| day.to_string())
                                    .unwrap_or_default(),
                                source_id: movement.source_id.to_string(),
                            })
                            .collect(),
                    }
                })
                .collect(),
        }))
    }
}
