//! A real tonic `CreditService` (collections' contract) for tests and
//! benchmarks of the order service, until collections serves it: it listens
//! on a loopback port, checks the caller's service token, records every
//! request, and decides by a limit per customer that tests can change. It
//! can be stopped and started again on the same port to play "collections
//! is down".

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use otc_proto::collections::credit_service_server::{CreditService, CreditServiceServer};
use otc_proto::collections::{CheckCreditRequest, CheckCreditResponse, CreditDecision};
use otc_proto::types::Money;
use otc_shared::auth::{AuthInterceptor, AuthSettings, Permission, TokenVerifier, authorize};

#[derive(Debug, Default)]
struct Book {
    /// Credit limit per customer id; customers without one are approved.
    limits: HashMap<String, Decimal>,
    /// Approved exposure per customer (order id -> amount), so that asking
    /// again for the same order does not count it twice.
    exposure: HashMap<String, HashMap<String, Decimal>>,
    requests: Vec<CheckCreditRequest>,
}

#[derive(Clone, Default)]
struct Decider {
    book: Arc<Mutex<Book>>,
}

#[tonic::async_trait]
impl CreditService for Decider {
    async fn check_credit(
        &self,
        request: Request<CheckCreditRequest>,
    ) -> Result<Response<CheckCreditResponse>, Status> {
        authorize(&request, Permission::CreditCheck)?;
        let message = request.into_inner();
        let amount = message
            .order_amount
            .as_ref()
            .and_then(|money| money.amount.parse::<Decimal>().ok())
            .ok_or_else(|| Status::invalid_argument("order_amount"))?;
        let currency = message
            .order_amount
            .as_ref()
            .map(|money| money.currency_code.clone())
            .unwrap_or_default();
        let mut book = self.book.lock().map_err(|_| Status::internal("poisoned"))?;
        book.requests.push(message.clone());
        let limit = book.limits.get(&message.customer_id).copied();
        let orders = book
            .exposure
            .entry(message.customer_id.clone())
            .or_default();
        let others: Decimal = orders
            .iter()
            .filter(|(order, _)| **order != message.order_id)
            .map(|(_, amount)| *amount)
            .sum();
        let exposure = others + amount;
        let approve = limit.is_none_or(|limit| exposure <= limit);
        if approve {
            orders.insert(message.order_id.clone(), amount);
        }
        let money = |amount: Decimal| Money {
            amount: amount.to_string(),
            currency_code: currency.clone(),
        };
        Ok(Response::new(CheckCreditResponse {
            decision: if approve {
                CreditDecision::Approve
            } else {
                CreditDecision::Hold
            }
            .into(),
            credit_limit: limit.map(money),
            open_receivables: Some(money(Decimal::ZERO)),
            unbilled_orders: Some(money(others)),
            exposure: Some(money(exposure)),
            reason: if approve {
                String::new()
            } else {
                "over credit limit".to_owned()
            },
            risk_class: "B".to_owned(),
        }))
    }
}

pub struct CreditServer {
    pub address: SocketAddr,
    decider: Decider,
    running: Option<(CancellationToken, JoinHandle<()>)>,
}

impl CreditServer {
    /// Starts on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let address: SocketAddr = format!("127.0.0.1:{}", crate::process::free_port()?).parse()?;
        let mut server = Self {
            address,
            decider: Decider::default(),
            running: None,
        };
        server.resume().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Sets a customer's credit limit (in the order currency).
    pub fn set_limit(&self, customer_id: &str, limit: Decimal) {
        if let Ok(mut book) = self.decider.book.lock() {
            book.limits.insert(customer_id.to_owned(), limit);
        }
    }

    pub fn remove_limit(&self, customer_id: &str) {
        if let Ok(mut book) = self.decider.book.lock() {
            book.limits.remove(customer_id);
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<CheckCreditRequest> {
        self.decider
            .book
            .lock()
            .map(|book| book.requests.clone())
            .unwrap_or_default()
    }

    /// Stops serving (the port refuses connections) until [`Self::resume`].
    pub async fn stop(&mut self) {
        if let Some((token, handle)) = self.running.take() {
            token.cancel();
            let _ = handle.await;
        }
    }

    pub async fn resume(&mut self) -> anyhow::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let verifier = TokenVerifier::from_settings(&AuthSettings::local_development())?;
        let interceptor = AuthInterceptor::new(Arc::new(verifier));
        let service = CreditServiceServer::with_interceptor(self.decider.clone(), interceptor);
        let listener = bind_retrying(self.address).await?;
        let token = CancellationToken::new();
        let shutdown = token.clone();
        let handle = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    shutdown.cancelled_owned(),
                )
                .await;
        });
        self.running = Some((token, handle));
        Ok(())
    }
}

async fn bind_retrying(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let mut attempts = 0;
    loop {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return Ok(listener),
            Err(error) if attempts < 50 => {
                attempts += 1;
                tracing_free_sleep(error).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

async fn tracing_free_sleep(_error: std::io::Error) {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}
