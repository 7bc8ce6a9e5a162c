//! `otc.reporting.v1.ReadModelService`: the read models' status and rebuild.

use sqlx::PgPool;
use tonic::{Request, Response, Status};

use otc_proto::reporting::read_model_service_server::ReadModelService;
use otc_proto::reporting::{GetReadModelStatusRequest, ReadModelStatus, RebuildReadModelsRequest};
use otc_shared::TenantId;
use otc_shared::auth::{Permission, authorize};
use otc_shared::grpc::{begin, commit, database_status};
use otc_shared::violations::Violations;

use crate::fold::CONSUMER;

pub struct ReadModelApi {
    pool: PgPool,
}

impl ReadModelApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn status(&self, tenant: &TenantId) -> Result<ReadModelStatus, Status> {
        let mut tx = begin(&self.pool, tenant).await?;
        let row = sqlx::query!(
            r#"SELECT s.generation, s.rebuild_started_at,
                      (SELECT count(*) FROM inbox WHERE consumer = $1 AND tenant = $2) AS "events_folded!",
                      (SELECT max(applied_at) FROM inbox WHERE consumer = $1 AND tenant = $2) AS last_folded_at,
                      (SELECT count(*) FROM snapshot_marks
                       WHERE customer_id <> '00000000-0000-0000-0000-000000000000') AS "snapshots_pending!",
                      (SELECT count(*) FROM dead_letters WHERE consumer = $1 AND tenant = $2) AS "dead_letters!"
               FROM read_model_state s"#,
            CONSUMER,
            tenant.as_str(),
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| database_status(&error))?;
        commit(tx).await?;
        Ok(ReadModelStatus {
            generation: row.generation,
            rebuild_started_at: row.rebuild_started_at.map(otc_shared::time::to_proto),
            events_folded: row.events_folded,
            snapshots_pending: row.snapshots_pending,
            last_folded_at: row.last_folded_at.map(otc_shared::time::to_proto),
            dead_letters: row.dead_letters,
        })
    }
}

#[tonic::async_trait]
impl ReadModelService for ReadModelApi {
    async fn get_read_model_status(
        &self,
        request: Request<GetReadModelStatusRequest>,
    ) -> Result<Response<ReadModelStatus>, Status> {
        let principal = authorize(&request, Permission::OperationsRead)?;
        Ok(Response::new(self.status(&principal.tenant).await?))
    }

    async fn rebuild_read_models(
        &self,
        request: Request<RebuildReadModelsRequest>,
    ) -> Result<Response<ReadModelStatus>, Status> {
        let principal = authorize(&request, Permission::OperationsWrite)?;
        let reason = request.get_ref().reason.trim();
        if reason.is_empty() {
            return Err(otc_shared::grpc::invalid_argument(&Violations::single(
                "reason",
                "is required: say why the read models are rebuilt",
            )));
        }
        crate::rebuild::rebuild(&self.pool, &principal.tenant, &principal.subject, reason)
            .await
            .map_err(|error| database_status(&error))?;
        Ok(Response::new(self.status(&principal.tenant).await?))
    }
}
