//! `otc.ops.v1.OperationsService`, served by every service: the outbox
//! backlog and the dead letters of the caller's tenant.

use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::auth::{Permission, authorize};
use otc_proto::ops::operations_service_server::OperationsService;
use otc_proto::ops::{
    DeadLetter, GetOutboxStatusRequest, GetOutboxStatusResponse, ListDeadLettersRequest,
    ListDeadLettersResponse,
};

pub struct Operations {
    service: String,
    pool: PgPool,
}

impl Operations {
    pub fn new(service: &str, pool: PgPool) -> Self {
        Self {
            service: service.to_owned(),
            pool,
        }
    }
}

fn internal(error: sqlx::Error) -> Status {
    tracing::error!(%error, "operations query failed");
    Status::unavailable("the service database is not available")
}

#[tonic::async_trait]
impl OperationsService for Operations {
    async fn get_outbox_status(
        &self,
        request: Request<GetOutboxStatusRequest>,
    ) -> Result<Response<GetOutboxStatusResponse>, Status> {
        let principal = authorize(&request, Permission::OperationsRead)?;
        let mut transaction = crate::db::begin_for_tenant(&self.pool, &principal.tenant)
            .await
            .map_err(internal)?;
        let status = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE published_at IS NULL) AS "pending!",
                      count(*) FILTER (WHERE published_at IS NOT NULL) AS "published!",
                      min(created_at) FILTER (WHERE published_at IS NULL) AS oldest_pending_at,
                      max(published_at) AS last_published_at
               FROM outbox WHERE tenant = $1"#,
            principal.tenant.as_str(),
        )
        .fetch_one(&mut *transaction)
        .await
        .map_err(internal)?;
        transaction.commit().await.map_err(internal)?;
        Ok(Response::new(GetOutboxStatusResponse {
            service: self.service.clone(),
            pending_events: u64::try_from(status.pending).unwrap_or(0),
            published_events: u64::try_from(status.published).unwrap_or(0),
            oldest_pending_at: status.oldest_pending_at.map(crate::time::to_proto),
            last_published_at: status.last_published_at.map(crate::time::to_proto),
        }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let principal = authorize(&request, Permission::OperationsRead)?;
        let limit = match request.get_ref().limit {
            0 => 100,
            requested => i64::from(requested.min(1000)),
        };
        let rows = sqlx::query!(
            r#"SELECT consumer, topic, partition, record_offset, event_id, dead_letter_topic, error, dead_lettered_at
               FROM dead_letters WHERE tenant = $1 ORDER BY id DESC LIMIT $2"#,
            principal.tenant.as_str(),
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(internal)?;
        let dead_letters = rows
            .into_iter()
            .map(|row| DeadLetter {
                consumer: row.consumer,
                topic: row.topic,
                partition: row.partition,
                offset: row.record_offset,
                event_id: row.event_id.unwrap_or_default(),
                dead_letter_topic: row.dead_letter_topic,
                error: row.error,
                dead_lettered_at: Some(crate::time::to_proto(row.dead_lettered_at)),
            })
            .collect();
        Ok(Response::new(ListDeadLettersResponse { dead_letters }))
    }
}
