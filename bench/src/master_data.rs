//! The master data an upstream order needs — customers known on the shop,
//! products and EUR list prices — created over the order service's gRPC API
//! the way an operator would.

use futures::{StreamExt, TryStreamExt, stream};
use tonic::Request;
use tonic::transport::Channel;

use otc_proto::order::customer_service_client::CustomerServiceClient;
use otc_proto::order::pricing_service_client::PricingServiceClient;
use otc_proto::order::{
    CreateCustomerRequest, CustomerDetails, ExternalReference, Product, SetListPriceRequest,
};
use otc_proto::types::{Money, PostalAddress};
use otc_shared::auth::{Role, TENANT_METADATA};

/// The tenant every benchmark record belongs to.
pub const TENANT: &str = "bench";
/// The platform of the customers' external references (`shop:c<i>`).
pub const SHOP_PLATFORM: &str = "shop";
pub const CURRENCY: &str = "EUR";
/// Requests in flight at once while seeding: enough to be quick, few enough
/// not to matter on a 2-core machine.
const SEEDING_CONCURRENCY: usize = 8;

pub fn customer_external_id(index: usize) -> String {
    format!("c{index}")
}

/// SKUs are numbered from 1: `SKU-1`, `SKU-2`, ...
pub fn sku(number: usize) -> String {
    format!("SKU-{number}")
}

/// A request carrying a tenant admin's token for the benchmark tenant.
fn authorized<T>(message: T, token: &str) -> anyhow::Result<Request<T>> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("authorization", format!("Bearer {token}").parse()?);
    metadata.insert(TENANT_METADATA, TENANT.parse()?);
    Ok(request)
}

/// Creates `customers` customers and `products` products with list prices.
pub async fn seed(channel: &Channel, customers: usize, products: usize) -> anyhow::Result<()> {
    let token = otc_testkit::token(TENANT, &[Role::TenantAdmin])?;
    seed_catalogue(channel, &token, products).await?;
    seed_customers(channel, &token, customers).await
}

async fn seed_catalogue(channel: &Channel, token: &str, products: usize) -> anyhow::Result<()> {
    let client = PricingServiceClient::new(channel.clone());
    stream::iter(1..=products)
        .map(|number| {
            let mut client = client.clone();
            async move {
                let product = Product {
                    sku: sku(number),
                    description: format!("Benchmark product {number}"),
                    tax_code: "STANDARD".to_owned(),
                    active: true,
                };
                client.upsert_product(authorized(product, token)?).await?;
                let price = SetListPriceRequest {
                    sku: sku(number),
                    unit_price: Some(Money {
                        amount: format!("{}.90", 9 + number),
                        currency_code: CURRENCY.to_owned(),
                    }),
                    valid_from: "2000-01-01".to_owned(),
                    valid_to: String::new(),
                };
                client.set_list_price(authorized(price, token)?).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(SEEDING_CONCURRENCY)
        .try_collect::<()>()
        .await
}

async fn seed_customers(channel: &Channel, token: &str, customers: usize) -> anyhow::Result<()> {
    let client = CustomerServiceClient::new(channel.clone());
    stream::iter(0..customers)
        .map(|index| {
            let mut client = client.clone();
            async move {
                let request = CreateCustomerRequest {
                    details: Some(customer_details(index)),
                };
                client.create_customer(authorized(request, token)?).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(SEEDING_CONCURRENCY)
        .try_collect::<()>()
        .await
}

fn customer_details(index: usize) -> CustomerDetails {
    CustomerDetails {
        legal_name: format!("Benchmark Customer {index} GmbH"),
        external_references: vec![ExternalReference {
            platform: SHOP_PLATFORM.to_owned(),
            external_id: customer_external_id(index),
        }],
        billing_address: Some(PostalAddress {
            lines: vec![format!("Rechnungsweg {index}")],
            city: "Berlin".to_owned(),
            postal_code: "10115".to_owned(),
            region: String::new(),
            country_code: "DE".to_owned(),
        }),
        tax_region: "DE".to_owned(),
        currency_code: CURRENCY.to_owned(),
        payment_terms_code: "NET30".to_owned(),
        ..CustomerDetails::default()
    }
}
