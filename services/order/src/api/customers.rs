//! `otc.order.v1.CustomerService`.

use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::{begin, commit, non_empty, page, parse_id, status_of};
use crate::commands::customers::{self, CustomerInput};
use crate::domain::Address;
use crate::store::customers::{self as store, CustomerFilter, CustomerRecord};
use otc_proto::order::customer_service_server::CustomerService;
use otc_proto::order::{
    CreateCustomerRequest, Customer, CustomerDetails, ExternalReference, GetCustomerRequest,
    ListCustomersRequest, ListCustomersResponse, UpdateCustomerRequest,
};
use otc_shared::auth::{Permission, authorize};
use otc_shared::ids::CustomerId;

pub struct CustomerApi {
    pool: PgPool,
}

impl CustomerApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn input_of(details: Option<CustomerDetails>) -> CustomerInput {
    let details = details.unwrap_or_default();
    CustomerInput {
        legal_name: details.legal_name,
        external_references: details
            .external_references
            .into_iter()
            .map(|reference| (reference.platform, reference.external_id))
            .collect(),
        billing_address: Address::from_proto(details.billing_address.as_ref()),
        tax_region: details.tax_region,
        currency_code: details.currency_code,
        payment_terms_code: details.payment_terms_code,
        segment: details.segment,
        mandate_reference: details.mandate_reference,
        bank_accounts: details.bank_accounts,
        status: details.status,
    }
}

pub fn to_proto(record: CustomerRecord) -> Customer {
    Customer {
        customer_id: record.id.to_string(),
        details: Some(CustomerDetails {
            legal_name: record.legal_name,
            external_references: record
                .external_references
                .into_iter()
                .map(|(platform, external_id)| ExternalReference {
                    platform,
                    external_id,
                })
                .collect(),
            billing_address: Some(record.billing_address.to_proto()),
            tax_region: record.tax_region,
            currency_code: record.currency,
            payment_terms_code: record.payment_terms_code,
            segment: record.segment,
            mandate_reference: record.mandate_reference.unwrap_or_default(),
            bank_accounts: record.bank_accounts,
            status: record.status,
        }),
        version: u64::try_from(record.version).unwrap_or_default(),
        created_at: Some(otc_shared::time::to_proto(record.created_at)),
        updated_at: Some(otc_shared::time::to_proto(record.updated_at)),
    }
}

#[tonic::async_trait]
impl CustomerService for CustomerApi {
    async fn create_customer(
        &self,
        request: Request<CreateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let principal = authorize(&request, Permission::CustomersWrite)?;
        let input = input_of(request.into_inner().details);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = customers::create(&mut tx, &principal.tenant, &principal.subject, &input)
            .await
            .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(to_proto(record)))
    }

    async fn update_customer(
        &self,
        request: Request<UpdateCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let principal = authorize(&request, Permission::CustomersWrite)?;
        let message = request.into_inner();
        let id = parse_id("customer_id", &message.customer_id, CustomerId::parse)?;
        let expected = i64::try_from(message.expected_version).unwrap_or(i64::MAX);
        let input = input_of(message.details);
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = customers::update(
            &mut tx,
            &principal.tenant,
            &principal.subject,
            id,
            expected,
            &input,
        )
        .await
        .map_err(status_of)?;
        commit(tx).await?;
        Ok(Response::new(to_proto(record)))
    }

    async fn get_customer(
        &self,
        request: Request<GetCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let principal = authorize(&request, Permission::CustomersRead)?;
        let id = parse_id(
            "customer_id",
            &request.get_ref().customer_id,
            CustomerId::parse,
        )?;
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let record = store::load(&mut tx, id)
            .await
            .map_err(|error| super::database_status(&error))?;
        commit(tx).await?;
        record
            .map(|record| Response::new(to_proto(record)))
            .ok_or_else(|| Status::not_found(format!("customer {id} not found")))
    }

    async fn list_customers(
        &self,
        request: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        let principal = authorize(&request, Permission::CustomersRead)?;
        let message = request.into_inner();
        let (limit, after) = page(message.page.as_ref())?;
        let external_reference = match non_empty(&message.external_reference) {
            None => None,
            Some(text) => match text.split_once(':') {
                Some((platform, id)) => Some((platform.to_owned(), id.to_owned())),
                None => {
                    return Err(super::invalid_argument(&crate::domain::Violations::single(
                        "external_reference",
                        "must be `platform:external id`",
                    )));
                }
            },
        };
        let filter = CustomerFilter {
            status: non_empty(&message.status),
            segment: non_empty(&message.segment),
            currency: non_empty(&message.currency_code).map(|code| code.to_uppercase()),
            tax_region: non_empty(&message.tax_region),
            name_contains: non_empty(&message.name_contains),
            external_reference,
            after,
        };
        let mut tx = begin(&self.pool, &principal.tenant).await?;
        let ids = store::list(&mut tx, &filter, limit)
            .await
            .map_err(|error| super::database_status(&error))?;
        let mut customers = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(record) = store::load(&mut tx, *id)
                .await
                .map_err(|error| super::database_status(&error))?
            {
                customers.push(to_proto(record));
            }
        }
        commit(tx).await?;
        let uuids: Vec<uuid::Uuid> = ids.iter().map(CustomerId::as_uuid).collect();
        Ok(Response::new(ListCustomersResponse {
            customers,
            page: Some(otc_shared::grpc::page_info(&uuids, limit)),
        }))
    }
}
