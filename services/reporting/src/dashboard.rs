//! The HTTP dashboard on the service's HTTP port: AR aging, the DSO trend,
//! the 13-week cash forecast, the top overdue customers and the exception
//! queue of the signed-in tenant.
//!
//! Sign-in takes one of the suite's tokens (the same JWT the gRPC API
//! takes), checks it and its `reports.read` permission, and keeps it in an
//! `HttpOnly`, `SameSite=Strict` cookie scoped to `/dashboard`; every data
//! call verifies it again, so an expired or revoked token stops working at
//! once. The figures come from [`ReportingApi`] itself, called with the
//! signed-in principal: the page shows exactly what the gRPC API gives.
//!
//! Routes: `GET /dashboard` (the page), `GET /dashboard/assets/{file}`,
//! `POST|GET|DELETE /dashboard/session`, `GET /dashboard/api/overview`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cookie::{Cookie, SameSite};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tonic::{Code, Request, Status};

use otc_proto::reporting as wire;
use otc_proto::reporting::reporting_service_server::ReportingService;
use otc_shared::auth::{AuthError, Permission, Principal, TokenVerifier};

use crate::api::reporting::ReportingApi;

/// The session cookie: the caller's token, verified on every call.
pub const SESSION_COOKIE: &str = "otc_dashboard";

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const DASHBOARD_JS: &str = include_str!("../dashboard/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../dashboard/dashboard.css");
const CHART_JS: &str = include_str!("../dashboard/vendor/chart.umd.min.js");

/// Only scripts, styles and data of the service's own; no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Tokens are a few kilobytes at most.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// `reporting.dashboard.*`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSettings {
    /// Serve the dashboard at all.
    pub enabled: bool,
    /// Mark the session cookie `Secure` (set it wherever the dashboard is
    /// reached over HTTPS, as behind an ingress).
    pub secure_cookie: bool,
    /// How many customers the top-overdue table lists.
    pub top_overdue: usize,
    /// Points of the DSO trend (month ends).
    pub trend_months: u32,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            secure_cookie: false,
            top_overdue: 10,
            trend_months: 12,
        }
    }
}

impl DashboardSettings {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.top_overdue == 0 || self.top_overdue > 100 {
            anyhow::bail!("reporting.dashboard.top_overdue: give 1 to 100");
        }
        if self.trend_months == 0 || self.trend_months > crate::figures::kpis::MAX_TREND_MONTHS {
            anyhow::bail!(
                "reporting.dashboard.trend_months: give 1 to {}",
                crate::figures::kpis::MAX_TREND_MONTHS
            );
        }
        Ok(())
    }
}

struct DashboardState {
    api: ReportingApi,
    verifier: Arc<TokenVerifier>,
    settings: DashboardSettings,
}

pub fn routes(
    api: ReportingApi,
    verifier: Arc<TokenVerifier>,
    settings: DashboardSettings,
) -> Router {
    Router::new()
        .route("/dashboard", get(index))
        .route("/dashboard/", get(index))
        .route("/dashboard/assets/{file}", get(asset))
        .route(
            "/dashboard/session",
            get(who_am_i).post(sign_in).delete(sign_out),
        )
        .route("/dashboard/api/overview", get(overview))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(DashboardState {
            api,
            verifier,
            settings,
        }))
}

fn page_headers(
    content_type: &'static str,
    cache: &'static str,
) -> [(header::HeaderName, HeaderValue); 5] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ]
}

async fn index() -> Response {
    (
        page_headers("text/html; charset=utf-8", "no-cache"),
        INDEX_HTML,
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "dashboard.js" => ("text/javascript; charset=utf-8", DASHBOARD_JS),
        "dashboard.css" => ("text/css; charset=utf-8", DASHBOARD_CSS),
        "chart.umd.min.js" => ("text/javascript; charset=utf-8", CHART_JS),
        _ => return problem(StatusCode::NOT_FOUND, "no such asset"),
    };
    (page_headers(content_type, "public, max-age=300"), body).into_response()
}

#[derive(Serialize)]
struct Problem<'a> {
    error: &'a str,
}

fn problem(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(Problem { error: message })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Why a caller was turned away: 401 (no or bad token) or 403.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        problem(self.0, &self.1)
    }
}

fn refused(error: &AuthError) -> Refused {
    let status = match error {
        AuthError::PermissionDenied { .. } | AuthError::WrongTenant { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    tracing::info!(reason = %error, "dashboard sign-in or call refused");
    Refused(status, error.to_string())
}

fn status_response(status: &Status) -> Response {
    let code = match status.code() {
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    problem(code, status.message())
}

/// The token of the session cookie.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

/// The signed-in principal, holding `reports.read`.
fn principal(state: &DashboardState, headers: &HeaderMap) -> Result<Principal, Refused> {
    let Some(token) = session_token(headers) else {
        return Err(Refused(
            StatusCode::UNAUTHORIZED,
            "not signed in".to_owned(),
        ));
    };
    let principal = state
        .verifier
        .verify(&token)
        .map_err(|error| refused(&error))?;
    principal
        .require(Permission::ReportsRead)
        .map_err(|error| refused(&error))?;
    Ok(principal)
}

#[derive(Serialize)]
struct Session {
    tenant: String,
    subject: String,
    roles: Vec<&'static str>,
}

impl Session {
    fn of(principal: &Principal) -> Self {
        Self {
            tenant: principal.tenant.as_str().to_owned(),
            subject: principal.subject.clone(),
            roles: principal.roles.iter().map(|role| role.as_str()).collect(),
        }
    }
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

fn session_cookie(state: &DashboardState, value: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path("/dashboard")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookie)
        .build()
}

fn with_cookie(mut response: Response, cookie: &Cookie<'_>) -> Response {
    match HeaderValue::from_str(&cookie.to_string()) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
            response
        }
        Err(_) => problem(StatusCode::BAD_REQUEST, "token: not a valid cookie value"),
    }
}

async fn sign_in(
    State(state): State<Arc<DashboardState>>,
    payload: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(SignIn { token })) = payload else {
        return problem(
            StatusCode::BAD_REQUEST,
            "send {\"token\": \"<a suite token>\"} as application/json",
        );
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return problem(StatusCode::BAD_REQUEST, "token: give a suite token");
    }
    let principal = match state.verifier.verify(&token) {
        Ok(principal) => principal,
        Err(error) => return refused(&error).into_response(),
    };
    if let Err(error) = principal.require(Permission::ReportsRead) {
        return refused(&error).into_response();
    }
    tracing::info!(
        tenant = %principal.tenant,
        subject = %principal.subject,
        "dashboard sign-in"
    );
    let cookie = session_cookie(&state, token);
    with_cookie(Json(Session::of(&principal)).into_response(), &cookie)
}

async fn who_am_i(State(state): State<Arc<DashboardState>>, headers: HeaderMap) -> Response {
    match principal(&state, &headers) {
        Ok(principal) => Json(Session::of(&principal)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn sign_out(State(state): State<Arc<DashboardState>>) -> Response {
    let mut cookie = session_cookie(&state, String::new());
    cookie.make_removal();
    with_cookie(StatusCode::NO_CONTENT.into_response(), &cookie)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OverviewQuery {
    as_of: String,
    currency: String,
}

#[derive(Serialize)]
struct AgingFigures {
    labels: Vec<String>,
    amounts: Vec<String>,
    total: String,
    overdue: String,
    items: u64,
}

#[derive(Serialize)]
struct KpiFigures {
    receivables: String,
    overdue_receivables: String,
    credit_sales: String,
    dso_standard: Option<String>,
    dso_count_back: Option<String>,
    best_possible_dso: Option<String>,
    average_days_delinquent: Option<String>,
    cei: Option<String>,
}

#[derive(Serialize)]
struct TrendFigures {
    period_days: u32,
    dates: Vec<String>,
    dso_standard: Vec<Option<String>>,
    dso_count_back: Vec<Option<String>>,
}

#[derive(Serialize)]
struct ForecastFigures {
    week_starts: Vec<String>,
    amounts: Vec<String>,
    later: String,
}

#[derive(Serialize)]
struct OverdueCustomer {
    customer_id: String,
    legal_name: String,
    overdue: String,
    total: String,
}

#[derive(Serialize)]
struct ExceptionFigures {
    total: i64,
    unapplied_cash: i64,
    unidentified_receipts: i64,
    customers_on_credit_hold: i64,
    held_invoices: i64,
    open_disputes: i64,
}

#[derive(Serialize)]
struct Overview {
    tenant: String,
    as_of: String,
    currency: Option<String>,
    currencies: Vec<String>,
    aging: AgingFigures,
    kpis: Option<KpiFigures>,
    dso_trend: TrendFigures,
    forecast: ForecastFigures,
    top_overdue: Vec<OverdueCustomer>,
    exceptions: ExceptionFigures,
}

fn amount(money: Option<&otc_proto::types::Money>) -> String {
    money.map(|money| money.amount.clone()).unwrap_or_default()
}

/// Zero as the API writes amounts of `code`: with its minor digits.
fn zero_text(code: &str) -> String {
    crate::topics::amount_text(Decimal::ZERO, code)
}

/// A gRPC request carrying the signed-in principal, as the interceptor
/// would have left it.
fn as_principal<T>(principal: &Principal, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(principal.clone());
    request
}

async fn overview(
    State(state): State<Arc<DashboardState>>,
    headers: HeaderMap,
    query: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let principal = match principal(&state, &headers) {
        Ok(principal) => principal,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(Query(query)) = query else {
        return problem(StatusCode::BAD_REQUEST, "give as_of and currency as text");
    };
    let mut response = match build_overview(&state, &principal, &query).await {
        Ok(overview) => Json(overview).into_response(),
        Err(status) => status_response(&status),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn build_overview(
    state: &DashboardState,
    principal: &Principal,
    query: &OverviewQuery,
) -> Result<Overview, Status> {
    let api = &state.api;
    // Every currency the tenant has receivables or sales in, largest
    // receivables first; the page shows one at a time.
    let all_kpis = api
        .get_kpis(as_principal(
            principal,
            wire::GetKpisRequest {
                as_of: query.as_of.clone(),
                period_days: 0,
                currency: String::new(),
            },
        ))
        .await?
        .into_inner();
    let as_of = all_kpis.as_of.clone();
    let mut by_receivables: Vec<(Decimal, String)> = all_kpis
        .currencies
        .iter()
        .map(|figures| {
            let receivables = amount(figures.receivables.as_ref())
                .parse::<Decimal>()
                .unwrap_or_default();
            (receivables, figures.currency.clone())
        })
        .collect();
    by_receivables.sort_by(|left, right| right.0.cmp(&left.0).then_with(|| left.1.cmp(&right.1)));
    let currencies: Vec<String> = by_receivables.into_iter().map(|(_, code)| code).collect();
    let wanted = query.currency.trim().to_ascii_uppercase();
    let currency = if wanted.is_empty() {
        currencies.first().cloned()
    } else {
        if otc_shared::Currency::parse(&wanted).is_err() {
            return Err(Status::invalid_argument(format!(
                "currency: {wanted:?} is not an ISO 4217 code"
            )));
        }
        Some(wanted)
    };
    let code = currency.clone().unwrap_or_default();

    let kpis = all_kpis
        .currencies
        .iter()
        .find(|figures| figures.currency == code)
        .map(|figures| KpiFigures {
            receivables: amount(figures.receivables.as_ref()),
            overdue_receivables: amount(figures.overdue_receivables.as_ref()),
            credit_sales: amount(figures.credit_sales.as_ref()),
            dso_standard: figures.dso_standard.clone(),
            dso_count_back: figures.dso_count_back.clone(),
            best_possible_dso: figures.best_possible_dso.clone(),
            average_days_delinquent: figures.average_days_delinquent.clone(),
            cei: figures.cei.clone(),
        });

    // The chart: the currency's line of the aging grouped by currency.
    let grouped = api
        .get_aging(as_principal(
            principal,
            wire::GetAgingRequest {
                as_of: as_of.clone(),
                group_by: wire::AgingGroupBy::Currency.into(),
                currency: code.clone(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let line = grouped
        .groups
        .iter()
        .find(|group| group.group == code)
        .and_then(|group| group.line.as_ref());
    let zero = zero_text(&code);
    let aging = AgingFigures {
        amounts: match line {
            Some(line) => line.buckets.clone(),
            None => vec![zero.clone(); grouped.bucket_labels.len()],
        },
        total: line.map_or_else(|| zero.clone(), |line| amount(line.total.as_ref())),
        overdue: line.map_or_else(|| zero.clone(), |line| amount(line.overdue.as_ref())),
        items: line.map_or(0, |line| line.items),
        labels: grouped.bucket_labels,
    };
    // The table: customers by what they owe overdue in the currency.
    let by_customer = api
        .get_aging(as_principal(
            principal,
            wire::GetAgingRequest {
                as_of: as_of.clone(),
                group_by: wire::AgingGroupBy::Customer.into(),
                currency: code.clone(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let mut customers: Vec<(Decimal, OverdueCustomer)> = by_customer
        .customers
        .iter()
        .flat_map(|customer| {
            customer
                .lines
                .iter()
                .filter(|line| line.currency == code)
                .map(move |line| (customer, line))
        })
        .filter_map(|(customer, line)| {
            let overdue = amount(line.overdue.as_ref()).parse::<Decimal>().ok()?;
            (overdue > Decimal::ZERO).then(|| {
                (
                    overdue,
                    OverdueCustomer {
                        customer_id: customer.customer_id.clone(),
                        legal_name: customer.legal_name.clone(),
                        overdue: amount(line.overdue.as_ref()),
                        total: amount(line.total.as_ref()),
                    },
                )
            })
        })
        .collect();
    customers.sort_by(|left, right| {
        right
            .0
            .cmp(&left.0)
            .then_with(|| left.1.customer_id.cmp(&right.1.customer_id))
    });
    customers.truncate(state.settings.top_overdue);

    let trend = api
        .get_dso_trend(as_principal(
            principal,
            wire::GetDsoTrendRequest {
                as_of: as_of.clone(),
                months: state.settings.trend_months,
                period_days: 0,
                currency: code.clone(),
            },
        ))
        .await?
        .into_inner();
    let point = |date: &String| trend.points.iter().find(|point| &point.as_of == date);
    let dso_trend = TrendFigures {
        period_days: trend.period_days,
        dso_standard: trend
            .dates
            .iter()
            .map(|date| point(date).and_then(|point| point.dso_standard.clone()))
            .collect(),
        dso_count_back: trend
            .dates
            .iter()
            .map(|date| point(date).and_then(|point| point.dso_count_back.clone()))
            .collect(),
        dates: trend.dates.clone(),
    };

    let forecast = api
        .get_cash_forecast(as_principal(
            principal,
            wire::GetCashForecastRequest {
                as_of: as_of.clone(),
                accuracy_weeks: 0,
            },
        ))
        .await?
        .into_inner();
    let in_currency = forecast
        .currencies
        .iter()
        .find(|figures| figures.currency == code);
    let forecast = ForecastFigures {
        amounts: match in_currency {
            Some(figures) => figures.weeks.clone(),
            None => vec![zero.clone(); forecast.week_starts.len()],
        },
        later: in_currency.map_or_else(|| zero.clone(), |figures| figures.later.clone()),
        week_starts: forecast.week_starts,
    };

    let queue = api
        .get_exception_queue(as_principal(principal, wire::GetExceptionQueueRequest {}))
        .await?
        .into_inner();
    let counted = |counts: &[wire::CurrencyCount]| counts.iter().map(|count| count.count).sum();
    let exceptions = ExceptionFigures {
        total: queue.total,
        unapplied_cash: counted(&queue.unapplied_cash),
        unidentified_receipts: queue.unidentified_receipts,
        customers_on_credit_hold: queue.customers_on_credit_hold,
        held_invoices: queue.held_invoices,
        open_disputes: counted(&queue.open_disputes),
    };

    Ok(Overview {
        tenant: principal.tenant.as_str().to_owned(),
        as_of,
        currency,
        currencies,
        aging,
        kpis,
        dso_trend,
        forecast,
        top_overdue: customers
            .into_iter()
            .map(|(_, customer)| customer)
            .collect(),
        exceptions,
    })
}
