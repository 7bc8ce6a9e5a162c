//! `otc.collections.v1.DunningService`: tenant admins set strategies;
//! collectors set contacts, run dunning on demand and resend failed
//! notices; dunning readers (collectors, credit managers, executives,
//! tenant admins) read runs and notices.

use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, read_error, status_of};
use crate::commands::dunning::{self as commands, Contact};
use crate::commands::today;
use crate::domain::dunning::{Channel, Fee, Level};
use crate::dunning::run::{DunningRunner, ON_DEMAND};
use crate::store::dunning::{
    self as store, ContactRow, NoticeFilter, NoticeItemRow, NoticeRow, RunRow, StrategyRecord,
};
use otc_proto::collections as wire;
use otc_proto::collections::dunning_service_server::DunningService;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{page, page_info, required_uuid};
use otc_shared::money::column_to_proto as money;
use otc_shared::time::to_proto as timestamp;

pub struct DunningApi {
    pool: PgPool,
    runner: DunningRunner,
}

impl DunningApi {
    pub fn new(pool: PgPool, runner: DunningRunner) -> Self {
        Self { pool, runner }
    }
}

fn strategy(record: &StrategyRecord) -> wire::DunningStrategy {
    wire::DunningStrategy {
        strategy_id: record.strategy.id.to_string(),
        segment: record.strategy.segment.clone(),
        name: record.strategy.name.clone(),
        levels: record
            .strategy
            .levels
            .iter()
            .map(|level| wire::DunningLevel {
                level: level.level,
                days_after_due: level.days_after_due,
                channel: level.channel.as_str().to_uppercase(),
                subject_template: level.subject_template.clone(),
                body_template: level.body_template.clone(),
                fee: level.fee.as_ref().map(|fee| wire::DunningFee {
                    amount: Some(money(fee.amount, &fee.currency)),
                }),
                interest_rate: level
                    .interest_rate
                    .map(|rate| rate.normalize().to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        version: record.strategy.version,
        updated_by: record.updated_by.clone(),
        updated_at: Some(timestamp(record.updated_at)),
    }
}

fn contact(row: &ContactRow) -> wire::DunningContact {
    wire::DunningContact {
        customer_id: row.customer_id.to_string(),
        contact_name: row.contact_name.clone(),
        email: row.email.clone(),
        webhook_url: row.webhook_url.clone(),
        updated_by: row.updated_by.clone(),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

pub fn run(row: &RunRow) -> wire::DunningRun {
    wire::DunningRun {
        run_id: row.id.to_string(),
        as_of: row.as_of.to_string(),
        trigger: row.trigger.to_uppercase(),
        requested_by: row.requested_by.clone(),
        state: row.state.to_uppercase(),
        items_considered: row.items_considered,
        items_skipped_disputed: row.items_skipped_disputed,
        items_skipped_promised: row.items_skipped_promised,
        items_dunned: row.items_dunned,
        notices_created: row.notices_created,
        started_at: Some(timestamp(row.started_at)),
        finished_at: row.finished_at.map(timestamp),
    }
}

fn notice(row: &NoticeRow, items: &[NoticeItemRow]) -> wire::DunningNotice {
    let currency = &row.currency;
    wire::DunningNotice {
        notice_id: row.id.to_string(),
        run_id: row.run_id.to_string(),
        customer_id: row.customer_id.to_string(),
        customer_name: row.customer_name.clone(),
        level: row.level,
        channel: row.channel.to_uppercase(),
        as_of: row.as_of.to_string(),
        overdue_amount: Some(money(row.overdue_amount, currency)),
        fee_amount: Some(money(row.fee_amount, currency)),
        interest_amount: Some(money(row.interest_amount, currency)),
        total_due: Some(money(row.total_due, currency)),
        subject: row.subject.clone(),
        body: row.body.clone(),
        recipient: row.recipient.clone(),
        status: row.status.to_uppercase(),
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        delivery_response: row.delivery_response.clone(),
        items: items
            .iter()
            .map(|item| wire::DunningNoticeItem {
                item_id: item.item_id.to_string(),
                number: item.number.clone(),
                due_date: item.due_date.to_string(),
                days_overdue: item.days_overdue,
                open_amount: Some(money(item.open_amount, currency)),
                interest_amount: Some(money(item.interest_amount, currency)),
            })
            .collect(),
        created_at: Some(timestamp(row.created_at)),
        sent_at: row.sent_at.map(timestamp),
        strategy_id: row.strategy_id.to_string(),
    }
}

/// The levels of a request, every bad field named (`levels[1].channel`).
fn levels_of(fields: &mut Fields, levels: &[wire::DunningLevel]) -> Vec<Level> {
    levels
        .iter()
        .enumerate()
        .filter_map(|(index, level)| {
            let field = |name: &str| format!("levels[{index}].{name}");
            let channel = Channel::parse(&level.channel);
            if channel.is_none() {
                fields.add(
                    &field("channel"),
                    format!("`{}` is not EMAIL, WEBHOOK or LETTER", level.channel),
                );
            }
            let fee = match &level.fee {
                None => None,
                Some(fee) => {
                    fields
                        .money(&field("fee.amount"), fee.amount.as_ref())
                        .map(|amount| Fee {
                            amount: amount.amount(),
                            currency: amount.currency().code().to_owned(),
                        })
                }
            };
            let interest_rate =
                fields.optional_decimal(&field("interest_rate"), &level.interest_rate);
            Some(Level {
                level: level.level,
                days_after_due: level.days_after_due,
                channel: channel?,
                subject_template: level.subject_template.clone(),
                body_template: level.body_template.clone(),
                fee,
                interest_rate,
            })
        })
        .collect()
}

#[tonic::async_trait]
impl DunningService for DunningApi {
    async fn set_dunning_strategy(
        &self,
        request: Request<wire::SetDunningStrategyRequest>,
    ) -> Result<Response<wire::DunningStrategy>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let levels = levels_of(&mut fields, &message.levels);
        fields.finish()?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = commands::set_strategy(
            &mut tx,
            &actor(&principal),
            message.segment.trim(),
            &message.name,
            &levels,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(strategy(&record)))
    }

    async fn list_dunning_strategies(
        &self,
        request: Request<wire::ListDunningStrategiesRequest>,
    ) -> Result<Response<wire::ListDunningStrategiesResponse>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let records = store::strategies(&mut tx).await.map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::ListDunningStrategiesResponse {
            strategies: records.iter().map(strategy).collect(),
        }))
    }

    async fn delete_dunning_strategy(
        &self,
        request: Request<wire::DeleteDunningStrategyRequest>,
    ) -> Result<Response<wire::DeleteDunningStrategyResponse>, Status> {
        let principal = authorize(&request, Permission::ConfigurationWrite)?;
        let segment = request.get_ref().segment.trim().to_owned();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let deleted = commands::delete_strategy(&mut tx, &actor(&principal), &segment)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(wire::DeleteDunningStrategyResponse {
            deleted,
        }))
    }

    async fn set_dunning_contact(
        &self,
        request: Request<wire::DunningContact>,
    ) -> Result<Response<wire::DunningContact>, Status> {
        let principal = authorize(&request, Permission::DunningWork)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        fields.finish()?;
        let customer_id = customer_id.ok_or_else(|| Status::invalid_argument("customer_id"))?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = commands::set_contact(
            &mut tx,
            &actor(&principal),
            &Contact {
                customer_id,
                contact_name: &message.contact_name,
                email: &message.email,
                webhook_url: &message.webhook_url,
            },
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(contact(&row)))
    }

    async fn get_dunning_contact(
        &self,
        request: Request<wire::GetDunningContactRequest>,
    ) -> Result<Response<wire::DunningContact>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let customer_id = required_uuid("customer_id", &request.get_ref().customer_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = store::contact(&mut tx, customer_id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| {
                Status::not_found(format!("no dunning contact for customer {customer_id}"))
            })?;
        commit(tx).await?;
        Ok(Response::new(contact(&row)))
    }

    async fn run_dunning(
        &self,
        request: Request<wire::RunDunningRequest>,
    ) -> Result<Response<wire::DunningRun>, Status> {
        let principal = authorize(&request, Permission::DunningWork)?;
        let mut fields = Fields::new();
        let as_of = fields.optional_date("as_of", &request.get_ref().as_of);
        if let Some(date) = as_of
            && date > today()
            && !self.runner.settings().allow_future_as_of
        {
            fields.add(
                "as_of",
                format!(
                    "{date} is after today; a run ahead of time would send levels before their day \
                     (collections.dunning.allow_future_as_of is for simulations)"
                ),
            );
        }
        fields.finish()?;
        let actor = actor(&principal);
        let internal = |error: anyhow::Error| {
            tracing::error!(error = format!("{error:#}"), "dunning run failed");
            Status::internal(format!("the dunning run failed: {error:#}"))
        };
        let started = self
            .runner
            .start(&actor, as_of.unwrap_or_else(today), ON_DEMAND)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::internal("the on-demand run was not recorded"))?;
        let finished = self
            .runner
            .execute(&principal.tenant, started.id)
            .await
            .map_err(internal)?;
        Ok(Response::new(run(&finished)))
    }

    async fn get_dunning_run(
        &self,
        request: Request<wire::GetDunningRunRequest>,
    ) -> Result<Response<wire::DunningRun>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let id = required_uuid("run_id", &request.get_ref().run_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = store::run(&mut tx, id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| Status::not_found(format!("dunning run {id} not found")))?;
        commit(tx).await?;
        Ok(Response::new(run(&row)))
    }

    async fn list_dunning_runs(
        &self,
        request: Request<wire::ListDunningRunsRequest>,
    ) -> Result<Response<wire::ListDunningRunsResponse>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let (limit, after) = page(request.get_ref().page.as_ref())?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::runs(&mut tx, after, limit)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListDunningRunsResponse {
            runs: rows.iter().map(run).collect(),
            page: Some(page_info(&ids, limit)),
        }))
    }

    async fn list_dunning_notices(
        &self,
        request: Request<wire::ListDunningNoticesRequest>,
    ) -> Result<Response<wire::ListDunningNoticesResponse>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let message = request.get_ref();
        let (limit, after) = page(message.page.as_ref())?;
        let mut fields = Fields::new();
        let customer_id = fields.optional_uuid("customer_id", &message.customer_id);
        let run_id = fields.optional_uuid("run_id", &message.run_id);
        let status = match message.status.trim().to_ascii_lowercase().as_str() {
            "" => None,
            known @ ("pending" | "sent" | "failed") => Some(known.to_owned()),
            other => {
                fields.add(
                    "status",
                    format!("`{other}` is not PENDING, SENT or FAILED"),
                );
                None
            }
        };
        fields.finish()?;
        let filter = NoticeFilter {
            customer_id,
            run_id,
            status,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::notices(&mut tx, &filter, after, limit)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListDunningNoticesResponse {
            notices: rows.iter().map(|row| notice(row, &[])).collect(),
            page: Some(page_info(&ids, limit)),
        }))
    }

    async fn get_dunning_notice(
        &self,
        request: Request<wire::GetDunningNoticeRequest>,
    ) -> Result<Response<wire::DunningNotice>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let id = required_uuid("notice_id", &request.get_ref().notice_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let answer = notice_view(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }

    async fn get_dunning_letter(
        &self,
        request: Request<wire::GetDunningNoticeRequest>,
    ) -> Result<Response<wire::DunningLetter>, Status> {
        let principal = authorize(&request, Permission::DunningRead)?;
        let id = required_uuid("notice_id", &request.get_ref().notice_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = store::notice(&mut tx, id)
            .await
            .map_err(read_error)?
            .ok_or_else(|| Status::not_found(format!("dunning notice {id} not found")))?;
        let pdf = store::letter(&mut tx, id).await.map_err(read_error)?;
        commit(tx).await?;
        let pdf = pdf.ok_or_else(|| {
            Status::failed_precondition(format!(
                "dunning notice {id} has no letter (channel {}, status {})",
                row.channel, row.status
            ))
        })?;
        Ok(Response::new(wire::DunningLetter {
            notice_id: id.to_string(),
            file_name: format!("dunning-{}-level-{}.pdf", row.as_of, row.level),
            pdf,
        }))
    }

    async fn retry_dunning_notice(
        &self,
        request: Request<wire::GetDunningNoticeRequest>,
    ) -> Result<Response<wire::DunningNotice>, Status> {
        let principal = authorize(&request, Permission::DunningWork)?;
        let id = required_uuid("notice_id", &request.get_ref().notice_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        commands::retry_notice(&mut tx, &actor(&principal), id)
            .await
            .map_err(status_of)?;
        let answer = notice_view(&mut tx, id).await?;
        commit(tx).await?;
        Ok(Response::new(answer))
    }
}

async fn notice_view(tx: &mut crate::store::Tx, id: Uuid) -> Result<wire::DunningNotice, Status> {
    let row = store::notice(tx, id)
        .await
        .map_err(read_error)?
        .ok_or_else(|| Status::not_found(format!("dunning notice {id} not found")))?;
    let items = store::notice_items(tx, id).await.map_err(read_error)?;
    Ok(notice(&row, &items))
}
