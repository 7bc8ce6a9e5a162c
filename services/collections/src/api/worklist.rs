//! `otc.collections.v1.WorklistService`: a collector reads and works their
//! own ranked list and records contacts (`worklist.work`); credit managers,
//! CS representatives and executives read any collector's list, the
//! unassigned customers or everyone's (`worklist.read`); credit managers
//! set the assignment rules and assign customers by hand (`worklist.assign`).

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{Fields, actor, begin, commit, read_error, status_of};
use crate::commands::today;
use crate::commands::worklist::{self as commands, RecordContact};
use crate::domain::worklist::{self as domain, Assignment, Cursor, PlannedContact, Situation};
use crate::store::Tx;
use crate::store::worklist::{
    self as store, ContactRow, DisputeSummary, OverdueAmount, PlanRow, PromiseSummary, RankedRow,
    RuleRow, RuleValues, Scope, TouchRow, WorklistQuery,
};
use otc_proto::collections as wire;
use otc_proto::collections::worklist_service_server::WorklistService;
use otc_shared::Currency;
use otc_shared::auth::{Permission, Principal, authorize, authorize_any};
use otc_shared::grpc::{non_empty, page, page_info, page_size, required_uuid};
use otc_shared::money::column_to_proto as money;
use otc_shared::time::to_proto as timestamp;

const CHANNELS: [&str; 5] = ["phone", "email", "letter", "visit", "other"];
const OUTCOMES: [&str; 7] = [
    "reached",
    "no_answer",
    "left_message",
    "promised_to_pay",
    "disputed",
    "refused",
    "other",
];
const MAX_NOTE: usize = 4000;
const MAX_TEXT: usize = 200;
const MAX_PRIORITY: u32 = 1_000_000;
/// How far ahead of our clock a contact time may be (the caller's clock).
const CLOCK_SKEW_MINUTES: i64 = 5;

const READERS: [Permission; 2] = [Permission::WorklistWork, Permission::WorklistRead];

pub struct WorklistApi {
    pool: PgPool,
}

impl WorklistApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn one_of(fields: &mut Fields, field: &str, text: &str, allowed: &[&str]) -> Option<String> {
    let value = text.trim().to_lowercase();
    if allowed.contains(&value.as_str()) {
        return Some(value);
    }
    let names: Vec<String> = allowed.iter().map(|name| name.to_uppercase()).collect();
    fields.add(field, format!("one of {}", names.join(", ")));
    None
}

fn bounded(fields: &mut Fields, field: &str, text: &str, limit: usize) -> String {
    let value = text.trim().to_owned();
    if value.chars().count() > limit {
        fields.add(field, format!("at most {limit} characters"));
    }
    value
}

fn contact(row: &ContactRow) -> wire::CollectorContact {
    wire::CollectorContact {
        contact_id: row.id.to_string(),
        customer_id: row.customer_id.to_string(),
        collector: row.collector.clone(),
        channel: row.channel.to_uppercase(),
        outcome: row.outcome.to_uppercase(),
        note: row.note.clone(),
        next_action: row.next_action.clone().unwrap_or_default(),
        next_action_date: row
            .next_action_date
            .map(|date| date.to_string())
            .unwrap_or_default(),
        contacted_at: Some(timestamp(row.contacted_at)),
        recorded_at: Some(timestamp(row.recorded_at)),
    }
}

fn rule(row: &RuleRow) -> wire::AssignmentRule {
    wire::AssignmentRule {
        rule_id: row.id.to_string(),
        collector: row.collector.clone(),
        segment: row.segment.clone().unwrap_or_default(),
        region: row.region.clone().unwrap_or_default(),
        priority: u32::try_from(row.priority).unwrap_or(0),
        version: u64::try_from(row.version).unwrap_or(0),
        created_by: row.created_by.clone(),
        created_at: Some(timestamp(row.created_at)),
        updated_by: row.updated_by.clone(),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

fn assignment(customer_id: Uuid, assigned: &Assignment) -> wire::CustomerAssignment {
    wire::CustomerAssignment {
        customer_id: customer_id.to_string(),
        collector: assigned.collector().unwrap_or_default().to_owned(),
        assignment: assigned.wire_name().to_owned(),
        rule_id: match assigned {
            Assignment::Rule { rule_id, .. } => rule_id.to_string(),
            _ => String::new(),
        },
    }
}

/// The page's details, by customer.
struct Details {
    overdue: HashMap<Uuid, Vec<OverdueAmount>>,
    promises: HashMap<Uuid, PromiseSummary>,
    disputes: HashMap<Uuid, Vec<DisputeSummary>>,
    undisputed: Vec<Uuid>,
    touches: HashMap<Uuid, TouchRow>,
    plans: HashMap<Uuid, PlanRow>,
}

async fn details(tx: &mut Tx, ids: &[Uuid], today: NaiveDate) -> Result<Details, sqlx::Error> {
    let mut overdue: HashMap<Uuid, Vec<OverdueAmount>> = HashMap::new();
    for amount in store::overdue_by_currency(tx, ids, today).await? {
        overdue.entry(amount.customer_id).or_default().push(amount);
    }
    let mut disputes: HashMap<Uuid, Vec<DisputeSummary>> = HashMap::new();
    for summary in store::dispute_summaries(tx, ids).await? {
        disputes
            .entry(summary.customer_id)
            .or_default()
            .push(summary);
    }
    Ok(Details {
        overdue,
        promises: store::promise_summaries(tx, ids)
            .await?
            .into_iter()
            .map(|row| (row.customer_id, row))
            .collect(),
        disputes,
        undisputed: store::with_undisputed_overdue(tx, ids, today).await?,
        touches: store::last_touches(tx, ids)
            .await?
            .into_iter()
            .map(|row| (row.customer_id, row))
            .collect(),
        plans: store::latest_plans(tx, ids)
            .await?
            .into_iter()
            .map(|row| (row.customer_id, row))
            .collect(),
    })
}

fn worklist_row(row: &RankedRow, details: &Details, today: NaiveDate) -> wire::WorklistRow {
    let promises = details.promises.get(&row.customer_id);
    let disputes = details
        .disputes
        .get(&row.customer_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let open_disputes: i64 = disputes.iter().map(|summary| summary.open_disputes).sum();
    let all_overdue_disputed = !details.undisputed.contains(&row.customer_id);
    let oldest_days_past_due =
        i32::try_from((today - row.oldest_due).num_days()).unwrap_or(i32::MAX);
    let plan = details.plans.get(&row.customer_id);
    let action = domain::next_action(&Situation {
        today,
        latest_contact: plan.map(|plan| PlannedContact {
            contacted_at: plan.contacted_at,
            next_action: plan.next_action.clone(),
            next_action_date: plan.next_action_date,
        }),
        last_broken_promise: promises.and_then(|summary| summary.last_broken_at),
        next_promised_date: promises.and_then(|summary| summary.next_date),
        open_disputes: count(open_disputes),
        dispute_sla_due: disputes.iter().map(|summary| summary.first_sla_due).min(),
        all_overdue_disputed,
        oldest_days_past_due,
    });
    wire::WorklistRow {
        customer_id: row.customer_id.to_string(),
        customer_name: row.legal_name.clone(),
        segment: row.segment.clone(),
        region: row.region.clone(),
        risk_class: row.risk_class.clone().unwrap_or_default(),
        collector: row.collector.clone().unwrap_or_default(),
        assignment: row.assignment.to_uppercase(),
        overdue_functional: Some(money(row.functional_overdue, &row.functional_currency)),
        overdue: details
            .overdue
            .get(&row.customer_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|amount| money(amount.amount, &amount.currency))
            .collect(),
        oldest_days_past_due,
        overdue_items: count(row.overdue_items),
        score: row.score.normalize().to_string(),
        promises: Some(wire::PromiseState {
            open_promises: promises.map_or(0, |summary| count(summary.open_promises)),
            next_promised_amount: promises.and_then(|summary| {
                summary
                    .next_amount
                    .zip(summary.next_currency.as_deref())
                    .map(|(amount, currency)| money(amount, currency))
            }),
            next_promised_date: promises
                .and_then(|summary| summary.next_date)
                .map(|date| date.to_string())
                .unwrap_or_default(),
            broken_promises: promises.map_or(0, |summary| count(summary.broken_promises)),
        }),
        disputes: Some(wire::DisputeState {
            open_disputes: count(open_disputes),
            open_amount: disputes
                .iter()
                .map(|summary| money(summary.amount, &summary.currency))
                .collect(),
            all_overdue_disputed: open_disputes > 0 && all_overdue_disputed,
        }),
        last_contact: details
            .touches
            .get(&row.customer_id)
            .map(|touch| wire::LastContact {
                at: Some(timestamp(touch.touched_at)),
                channel: touch.channel.to_uppercase(),
                outcome: touch.outcome.to_uppercase(),
                kind: touch.kind.to_uppercase(),
            }),
        next_action: Some(wire::NextAction {
            code: action.code.wire_name().to_owned(),
            description: action.description,
            due_date: action
                .due_date
                .map(|date| date.to_string())
                .unwrap_or_default(),
        }),
    }
}

/// Which list the caller asks for, and whether they may read it.
fn scope(
    principal: &Principal,
    fields: &mut Fields,
    message: &wire::GetWorklistRequest,
) -> Result<Option<Scope>, Status> {
    let collector = non_empty(&message.collector);
    let asked = usize::from(collector.is_some())
        + usize::from(message.unassigned)
        + usize::from(message.all_customers);
    if asked > 1 {
        for (field, set) in [
            ("collector", collector.is_some()),
            ("unassigned", message.unassigned),
            ("all_customers", message.all_customers),
        ] {
            if set {
                fields.add(field, "at most one of collector, unassigned, all_customers");
            }
        }
        return Ok(None);
    }
    let scope = if message.unassigned {
        Scope::Unassigned
    } else if message.all_customers {
        Scope::All
    } else {
        Scope::Collector(collector.unwrap_or_else(|| principal.subject.clone()))
    };
    let own = scope == Scope::Collector(principal.subject.clone());
    if !own && !principal.has(Permission::WorklistRead) {
        return Err(Status::permission_denied(format!(
            "permission {} is required to read another list than your own; roles held: {}",
            Permission::WorklistRead,
            principal.roles_list()
        )));
    }
    Ok(Some(scope))
}

#[tonic::async_trait]
impl WorklistService for WorklistApi {
    async fn get_worklist(
        &self,
        request: Request<wire::GetWorklistRequest>,
    ) -> Result<Response<wire::GetWorklistResponse>, Status> {
        let principal = authorize_any(&request, &READERS)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let scope = scope(&principal, &mut fields, &message)?;
        let limit = page_size(message.page.as_ref());
        let token = message
            .page
            .as_ref()
            .map(|page| page.page_token.trim())
            .unwrap_or_default();
        let after = if token.is_empty() {
            None
        } else {
            let cursor = Cursor::parse(token);
            if cursor.is_none() {
                fields.add("page.page_token", "is not a token this service gave out");
            }
            cursor
        };
        let currency = non_empty(&message.currency_code).and_then(|code| {
            Currency::parse(&code)
                .map_err(|error| fields.add("currency_code", error.to_string()))
                .ok()
        });
        let min_score = fields.optional_decimal("min_score", &message.min_score);
        if min_score.is_some_and(|score| score < Decimal::ZERO) {
            fields.add("min_score", "must not be negative");
        }
        let segment = non_empty(&message.segment);
        fields.finish()?;
        let Some(scope) = scope else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let today = today();
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        store::allow_aggregation_memory(&mut tx)
            .await
            .map_err(read_error)?;
        let rows = store::ranked(
            &mut tx,
            &WorklistQuery {
                scope: &scope,
                today,
                currency: currency.map(|currency| currency.code()),
                segment: segment.as_deref(),
                min_score,
                after,
                limit,
            },
        )
        .await
        .map_err(read_error)?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.customer_id).collect();
        let details = details(&mut tx, &ids, today).await.map_err(read_error)?;
        commit(tx).await?;
        let next_page_token = match rows.last() {
            Some(last) if i64::try_from(rows.len()).unwrap_or(0) >= limit => Cursor {
                score: last.score,
                customer_id: last.customer_id,
            }
            .token(),
            _ => String::new(),
        };
        Ok(Response::new(wire::GetWorklistResponse {
            rows: rows
                .iter()
                .map(|row| worklist_row(row, &details, today))
                .collect(),
            page: Some(otc_proto::types::PageInfo { next_page_token }),
            as_of: today.to_string(),
        }))
    }

    async fn record_contact(
        &self,
        request: Request<wire::RecordContactRequest>,
    ) -> Result<Response<wire::CollectorContact>, Status> {
        let principal = authorize(&request, Permission::WorklistWork)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let key = message.idempotency_key.trim();
        if key.is_empty() {
            fields.add("idempotency_key", "is required");
        }
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let channel = one_of(&mut fields, "channel", &message.channel, &CHANNELS);
        let outcome = one_of(&mut fields, "outcome", &message.outcome, &OUTCOMES);
        let note = bounded(&mut fields, "note", &message.note, MAX_NOTE);
        let next_action = bounded(&mut fields, "next_action", &message.next_action, MAX_TEXT);
        let next_action_date = fields.optional_date("next_action_date", &message.next_action_date);
        let today = today();
        if let Some(date) = next_action_date {
            if next_action.is_empty() {
                fields.add("next_action", "is required with a next_action_date");
            }
            if date < today {
                fields.add("next_action_date", "must be today or later");
            }
        }
        let now = otc_shared::time::now();
        let contacted_at = match &message.contacted_at {
            None => Some(now),
            Some(given) => otc_shared::time::from_proto("contacted_at", Some(given))
                .map_err(|error| fields.add("contacted_at", error.reason))
                .ok(),
        };
        if contacted_at.is_some_and(|at| at > now + Duration::minutes(CLOCK_SKEW_MINUTES)) {
            fields.add("contacted_at", "must not be in the future");
        }
        fields.finish()?;
        let (Some(customer_id), Some(channel), Some(outcome), Some(contacted_at)) =
            (customer_id, channel, outcome, contacted_at)
        else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = commands::record_contact(
            &mut tx,
            &actor(&principal),
            &RecordContact {
                request_key: key,
                customer_id,
                channel: &channel,
                outcome: &outcome,
                note: &note,
                next_action: Some(next_action.as_str()).filter(|text| !text.is_empty()),
                next_action_date,
                contacted_at,
            },
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(contact(&row)))
    }

    async fn list_contacts(
        &self,
        request: Request<wire::ListContactsRequest>,
    ) -> Result<Response<wire::ListContactsResponse>, Status> {
        let principal = authorize_any(&request, &READERS)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let customer_id = required_uuid("customer_id", &message.customer_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        if store::customer_place(&mut tx, customer_id)
            .await
            .map_err(read_error)?
            .is_none()
        {
            return Err(Status::not_found(format!(
                "customer {customer_id} is not known"
            )));
        }
        let rows = store::contacts(&mut tx, customer_id, limit, after)
            .await
            .map_err(read_error)?;
        commit(tx).await?;
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        Ok(Response::new(wire::ListContactsResponse {
            contacts: rows.iter().map(contact).collect(),
            page: Some(page_info(&ids, limit)),
        }))
    }

    async fn set_assignment_rule(
        &self,
        request: Request<wire::SetAssignmentRuleRequest>,
    ) -> Result<Response<wire::AssignmentRule>, Status> {
        let principal = authorize(&request, Permission::WorklistAssign)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let rule_id = fields.optional_uuid("rule_id", &message.rule_id);
        let collector = bounded(&mut fields, "collector", &message.collector, MAX_TEXT);
        if collector.is_empty() {
            fields.add("collector", "is required (the collector's token subject)");
        }
        let segment = bounded(&mut fields, "segment", &message.segment, MAX_TEXT);
        let region = bounded(&mut fields, "region", &message.region, MAX_TEXT);
        if segment.is_empty() && region.is_empty() {
            fields.add("segment", "at least one of segment and region");
            fields.add("region", "at least one of segment and region");
        }
        if message.priority > MAX_PRIORITY {
            fields.add("priority", format!("at most {MAX_PRIORITY}"));
        }
        let expected_version = if message.expected_version == 0 {
            None
        } else {
            let version = i64::try_from(message.expected_version).ok();
            if version.is_none() {
                fields.add("expected_version", "is out of range");
            }
            version
        };
        if message.rule_id.trim().is_empty() && expected_version.is_some() {
            fields.add("expected_version", "only with a rule_id");
        }
        let priority = i32::try_from(message.priority).ok();
        fields.finish()?;
        let Some(priority) = priority else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let values = RuleValues {
            collector: &collector,
            segment: Some(segment.as_str()).filter(|text| !text.is_empty()),
            region: Some(region.as_str()).filter(|text| !text.is_empty()),
            priority,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let row = commands::set_rule(
            &mut tx,
            &actor(&principal),
            rule_id,
            expected_version,
            &values,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(rule(&row)))
    }

    async fn delete_assignment_rule(
        &self,
        request: Request<wire::DeleteAssignmentRuleRequest>,
    ) -> Result<Response<wire::DeleteAssignmentRuleResponse>, Status> {
        let principal = authorize(&request, Permission::WorklistAssign)?;
        let rule_id = required_uuid("rule_id", &request.get_ref().rule_id)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        commands::delete_rule(&mut tx, &actor(&principal), rule_id)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(wire::DeleteAssignmentRuleResponse {}))
    }

    async fn list_assignment_rules(
        &self,
        request: Request<wire::ListAssignmentRulesRequest>,
    ) -> Result<Response<wire::ListAssignmentRulesResponse>, Status> {
        let principal = authorize_any(&request, &READERS)?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let rows = store::rules(&mut tx).await.map_err(read_error)?;
        commit(tx).await?;
        Ok(Response::new(wire::ListAssignmentRulesResponse {
            rules: rows.iter().map(rule).collect(),
        }))
    }

    async fn assign_customer(
        &self,
        request: Request<wire::AssignCustomerRequest>,
    ) -> Result<Response<wire::CustomerAssignment>, Status> {
        let principal = authorize(&request, Permission::WorklistAssign)?;
        let message = request.into_inner();
        let mut fields = Fields::new();
        let customer_id = fields.uuid("customer_id", &message.customer_id);
        let collector = bounded(&mut fields, "collector", &message.collector, MAX_TEXT);
        let reason = bounded(&mut fields, "reason", &message.reason, MAX_NOTE);
        fields.finish()?;
        let Some(customer_id) = customer_id else {
            return Err(Status::invalid_argument("invalid request"));
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let assigned = commands::assign_customer(
            &mut tx,
            &actor(&principal),
            customer_id,
            Some(collector.as_str()).filter(|text| !text.is_empty()),
            &reason,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(assignment(customer_id, &assigned)))
    }
}
