#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The reporting dashboard in a real headless Chromium: sign-in with the
//! suite's tokens (refused without `reports.read`, or with a bad token),
//! the charts drawn with the figures the gRPC API gives for the known book,
//! tenant isolation, the session cookie out of the page's reach, and a
//! screenshot.

use std::time::Duration;

use serde_json::{Value, json};

use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::*;
use otc_shared::auth::Role;
use otc_testkit::TestDatabase;
use otc_testkit::browser::Browser;
use otc_testkit::reporting::{AS_OF, publish_known_book};
use otc_testkit::suite::{ServiceSuite, new_namespace};

const PAGE: Duration = Duration::from_secs(30);

/// A dataset of a chart, as the page drew it (gaps as `None`).
async fn chart_data(browser: &Browser, canvas: &str, index: usize) -> Vec<Option<f64>> {
    browser
        .run(
            "return Chart.getChart(arguments[0]).data.datasets[arguments[1]].data;",
            vec![json!(canvas), json!(index)],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(Value::as_f64)
        .collect()
}

/// The cells of a table's body, row by row.
async fn table(browser: &Browser, id: &str) -> Vec<Vec<String>> {
    let cells = browser
        .run(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))
               .map((row) => Array.from(row.cells).map((cell) => cell.textContent));",
            vec![json!(id)],
        )
        .await
        .unwrap();
    serde_json::from_value(cells).unwrap()
}

async fn text(browser: &Browser, id: &str) -> String {
    browser
        .run(
            "return document.getElementById(arguments[0]).textContent;",
            vec![json!(id)],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs in with `token` through the form.
async fn sign_in(browser: &Browser, token: &str) {
    browser
        .run(
            "document.getElementById('token').value = arguments[0];
             document.getElementById('sign-in-form').requestSubmit();",
            vec![json!(token)],
        )
        .await
        .unwrap();
}

/// A decimal string as a chart plots it.
fn plotted(amount: &str) -> Option<f64> {
    Some(amount.parse::<f64>().unwrap())
}

#[tokio::test]
async fn the_dashboard_draws_the_figures_the_api_gives() {
    let database = TestDatabase::create("reporting_dashboard").await.unwrap();
    let suite = ServiceSuite::start("reporting", database, &new_namespace(), &[]).await;
    let book = publish_known_book(&suite).await;
    let page = format!("http://127.0.0.1:{}/dashboard", suite.service.http_port);

    // Without a session the data is refused; the page is served with a
    // content security policy.
    let http = reqwest::Client::new();
    let anonymous = http
        .get(format!("{page}/api/overview"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let served = http.get(&page).send().await.unwrap();
    assert_eq!(served.status(), 200);
    let policy = served.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");

    let browser = Browser::start().await.unwrap();
    browser.client.goto(&page).await.unwrap();
    browser
        .wait_until("document.body.dataset.state === 'signed-out'", PAGE)
        .await
        .unwrap();

    // A token that is not one, and a token without reports.read.
    sign_in(&browser, "not-a-token").await;
    browser
        .wait_until(
            "document.body.dataset.state === 'signed-out' && \
             document.getElementById('error').textContent !== ''",
            PAGE,
        )
        .await
        .unwrap();
    let sales = otc_testkit::token(&suite.tenant, &[Role::SalesAssociate]).unwrap();
    sign_in(&browser, &sales).await;
    browser
        .wait_until(
            "document.getElementById('error').textContent.includes('reports.read')",
            PAGE,
        )
        .await
        .unwrap();

    let executive = otc_testkit::token(&suite.tenant, &[Role::Executive]).unwrap();
    sign_in(&browser, &executive).await;
    browser
        .wait_until("document.body.dataset.state === 'ready'", PAGE)
        .await
        .unwrap();
    // The session cookie is HttpOnly: no script of the page can read the token.
    let cookies = browser
        .run("return document.cookie;", Vec::new())
        .await
        .unwrap();
    assert!(!cookies.as_str().unwrap().contains("otc_dashboard"));
    // The book's date, in euros.
    browser
        .run(
            "document.getElementById('as-of').value = arguments[0];
             document.getElementById('currency').value = 'EUR';
             document.getElementById('filters').requestSubmit();",
            vec![json!(AS_OF)],
        )
        .await
        .unwrap();
    browser
        .wait_until(
            &format!(
                "document.body.dataset.state === 'ready' && document.body.dataset.asOf === '{AS_OF}' \
                 && document.body.dataset.currency === 'EUR'"
            ),
            PAGE,
        )
        .await
        .unwrap();

    // What the gRPC API gives for the same tenant, date and currency.
    let mut reporting = ReportingServiceClient::new(suite.channel.clone());
    let grouped = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                group_by: AgingGroupBy::Currency.into(),
                currency: "EUR".into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let eur = grouped.groups[0].line.clone().unwrap();
    // The hand-worked figures of the book (tests/tests/reporting_figures.rs).
    assert_eq!(
        eur.buckets,
        ["2900.00", "300.00", "750.00", "400.00", "650.00", "100.00"]
    );
    let drawn = chart_data(&browser, "aging-chart", 0).await;
    let expected: Vec<Option<f64>> = eur.buckets.iter().map(|amount| plotted(amount)).collect();
    assert_eq!(drawn, expected);
    let rows = table(&browser, "aging-table").await;
    let exact: Vec<Vec<String>> = grouped
        .bucket_labels
        .iter()
        .zip(&eur.buckets)
        .map(|(label, amount)| vec![label.clone(), amount.clone()])
        .collect();
    assert_eq!(rows, exact);

    let kpis = reporting
        .get_kpis(suite.as_role(
            GetKpisRequest {
                as_of: AS_OF.into(),
                currency: "EUR".into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let figures = &kpis.currencies[0];
    assert_eq!(
        text(&browser, "kpi-dso").await,
        format!("{} days", figures.dso_standard.as_deref().unwrap())
    );
    assert_eq!(
        text(&browser, "kpi-dso-count-back").await,
        format!("{} days", figures.dso_count_back.as_deref().unwrap())
    );
    assert_eq!(
        text(&browser, "kpi-cei").await,
        format!("{} %", figures.cei.as_deref().unwrap())
    );
    assert_eq!(
        text(&browser, "kpi-receivables").await,
        format!("{} EUR", figures.receivables.clone().unwrap().amount)
    );

    let trend = reporting
        .get_dso_trend(suite.as_role(
            GetDsoTrendRequest {
                as_of: AS_OF.into(),
                currency: "EUR".into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let at = |date: &String| trend.points.iter().find(|point| &point.as_of == date);
    let standard: Vec<Option<f64>> = trend
        .dates
        .iter()
        .map(|date| at(date).and_then(|point| plotted(point.dso_standard.as_deref()?)))
        .collect();
    let count_back: Vec<Option<f64>> = trend
        .dates
        .iter()
        .map(|date| at(date).and_then(|point| plotted(point.dso_count_back.as_deref()?)))
        .collect();
    assert_eq!(chart_data(&browser, "dso-chart", 0).await, standard);
    assert_eq!(chart_data(&browser, "dso-chart", 1).await, count_back);
    assert_eq!(
        *chart_data(&browser, "dso-chart", 0).await.last().unwrap(),
        plotted(figures.dso_standard.as_deref().unwrap())
    );

    let forecast = reporting
        .get_cash_forecast(suite.as_role(
            GetCashForecastRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let weeks = &forecast
        .currencies
        .iter()
        .find(|figures| figures.currency == "EUR")
        .unwrap()
        .weeks;
    assert_eq!(weeks.len(), 13);
    let expected: Vec<Option<f64>> = weeks.iter().map(|amount| plotted(amount)).collect();
    assert_eq!(chart_data(&browser, "forecast-chart", 0).await, expected);
    assert_eq!(
        table(&browser, "forecast-table")
            .await
            .iter()
            .map(|row| row[1].clone())
            .collect::<Vec<_>>(),
        *weeks
    );

    // Top overdue: Beta 1,150.00 (of 4,050.00 open), then Alpha 1,050.00.
    assert_eq!(
        table(&browser, "top-overdue").await,
        [
            vec![
                "Beta".to_owned(),
                "1150.00".to_owned(),
                "4050.00".to_owned()
            ],
            vec![
                "Alpha".to_owned(),
                "1050.00".to_owned(),
                "1050.00".to_owned()
            ],
        ]
    );
    let queue = reporting
        .get_exception_queue(suite.as_role(GetExceptionQueueRequest {}, Role::Executive))
        .await
        .unwrap()
        .into_inner();
    assert!(queue.total > 0);
    assert_eq!(
        text(&browser, "exceptions-total").await,
        queue.total.to_string()
    );

    // The charts are painted, not just configured.
    let painted = browser
        .run(
            "return ['aging-chart', 'dso-chart', 'forecast-chart'].map((id) => {
               const canvas = document.getElementById(id);
               const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
               let painted = 0;
               for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) painted++; }
               return painted;
             });",
            Vec::new(),
        )
        .await
        .unwrap();
    for (chart, count) in ["aging", "dso", "forecast"]
        .iter()
        .zip(painted.as_array().unwrap())
    {
        assert!(
            count.as_u64().unwrap() > 2_000,
            "{chart} chart is blank: {count}"
        );
    }
    let (path, png) = browser.screenshot("reporting-dashboard").await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000);
    println!("dashboard screenshot: {}", path.display());

    // Another tenant's executive sees nothing of this book.
    browser
        .client
        .find(fantoccini::Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_until("document.body.dataset.state === 'signed-out'", PAGE)
        .await
        .unwrap();
    let stranger = otc_testkit::token("othertenant", &[Role::Executive]).unwrap();
    sign_in(&browser, &stranger).await;
    browser
        .wait_until("document.body.dataset.state === 'ready'", PAGE)
        .await
        .unwrap();
    assert_eq!(text(&browser, "tenant").await, "othertenant");
    assert!(table(&browser, "top-overdue").await.is_empty());
    assert_eq!(text(&browser, "exceptions-total").await, "0");
    let drawn = chart_data(&browser, "aging-chart", 0).await;
    assert!(drawn.iter().all(|amount| *amount == Some(0.0)), "{drawn:?}");
    let body = browser
        .run("return document.body.textContent;", Vec::new())
        .await
        .unwrap();
    for name in ["Alpha", "Beta", &book.a] {
        assert!(!body.as_str().unwrap().contains(name), "{name} leaked");
    }
    browser.close().await.unwrap();
}
