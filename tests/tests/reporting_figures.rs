#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Reporting's figures from a known event set, against expectations worked
//! out by hand (the arithmetic is in the comments): aging buckets on their
//! boundary days, DSO by both methods, best possible DSO, average days
//! delinquent and CEI; the aging export; roles, tenants and bad filters.
//!
//! As of 2026-06-30, period 90 days: (2026-04-01, 2026-06-30].

use tonic::Code;

use otc_proto::reporting::reporting_service_client::ReportingServiceClient;
use otc_proto::reporting::*;
use otc_shared::auth::Role;
use otc_testkit::TestDatabase;
use otc_testkit::reporting::{AS_OF, KnownBook, publish_known_book};
use otc_testkit::suite::{ServiceSuite, new_namespace};

/// A rate as compared: currency, total, matching, % by count, % by amount.
type RateRow = (String, i64, i64, Option<String>, Option<String>);
/// Disputes of a reason as compared: reason, currency, opened, amount, open,
/// resolved, average resolution days.
type DisputeRow = (String, String, i64, String, i64, i64, Option<String>);
#[tokio::test]
async fn figures_equal_the_hand_computed_ones() {
    let database = TestDatabase::create("reporting_figures").await.unwrap();
    let suite = ServiceSuite::start("reporting", database, &new_namespace(), &[]).await;
    let KnownBook {
        a,
        b,
        c,
        i2,
        i3,
        i20,
    } = publish_known_book(&suite).await;

    let mut reporting = ReportingServiceClient::new(suite.channel.clone());
    let aging = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        aging.bucket_labels,
        ["current", "1-30", "31-60", "61-90", "91-120", "120+"]
    );
    let of = |customer: &str| {
        aging
            .customers
            .iter()
            .find(|row| row.customer_id == customer)
            .unwrap()
            .clone()
    };
    // Alpha: I8 300 (30 days) in 1-30; I1 1000 − 400 = 600 (91) and I7 50 (120) in 91-120;
    // I6 100 (121) in 120+; I2 paid. Total 1,050.00, all overdue.
    let alpha = of(&a);
    assert_eq!(alpha.legal_name, "Alpha");
    assert_eq!(
        alpha.lines[0].buckets,
        ["0.00", "300.00", "0.00", "0.00", "650.00", "100.00"]
    );
    assert_eq!(alpha.lines[0].total.clone().unwrap().amount, "1050.00");
    // Beta: I3 3000 − 100 (credit note) = 2,900 current (due today; the payment of
    // 5 July is after the date); I4 500 (60) and I11 250 (31) in 31-60; I9 400 (61) in 61-90.
    let beta = of(&b);
    assert_eq!(
        beta.lines[0].buckets,
        ["2900.00", "0.00", "750.00", "400.00", "0.00", "0.00"]
    );
    assert_eq!(beta.lines[0].overdue.clone().unwrap().amount, "1150.00");
    let gamma = of(&c);
    assert_eq!(
        (
            gamma.lines[0].currency.as_str(),
            gamma.lines[0].buckets[0].as_str()
        ),
        ("USD", "1000.00")
    );
    assert_eq!(gamma.functional.unwrap().total.unwrap().amount, "920.00");

    // Grouped: by segment (smb holds Beta in EUR and Gamma in USD), by currency.
    let by_segment = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                group_by: AgingGroupBy::Segment.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let groups: Vec<(String, String, String)> = by_segment
        .groups
        .iter()
        .map(|group| {
            let line = group.line.clone().unwrap();
            (
                group.group.clone(),
                line.currency,
                line.total.unwrap().amount,
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                "enterprise".to_owned(),
                "EUR".to_owned(),
                "1050.00".to_owned()
            ),
            // Delta's 800 + 200 (see the forecast below).
            (
                "enterprise".to_owned(),
                "GBP".to_owned(),
                "1000.00".to_owned()
            ),
            ("smb".to_owned(), "EUR".to_owned(), "4050.00".to_owned()),
            ("smb".to_owned(), "USD".to_owned(), "1000.00".to_owned()),
        ]
    );
    // Weekly buckets: I8 (30 days) is 14+.
    let weekly = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: AS_OF.into(),
                bucket_bounds: vec![7, 14],
                customer_id: a.clone(),
                ..Default::default()
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(weekly.bucket_labels, ["current", "1-7", "8-14", "14+"]);
    assert_eq!(
        weekly.customers[0].lines[0].buckets,
        ["0.00", "0.00", "0.00", "1050.00"]
    );

    // KPIs in EUR. AR(D) = 1,050 + 4,050 = 5,100; current AR = 2,900.
    // Credit sales in (04-01, 06-30]: 2,000 + 300 + 250 (05-01) + 500 + 400 (04-15)
    //   + 3,000 (06-01) − 100 (credit note) = 6,350.
    // DSO standard = 5,100 / 6,350 × 90 = 72.28 → 72.3; best = 2,900 / 6,350 × 90 = 41.10 → 41.1;
    // ADD = 72.3 − 41.1 = 31.2.
    // Count-back: (05-30, 06-30] sold 2,900 (31 days), 5,100 − 2,900 = 2,200 left;
    //   (04-30, 05-30] sold 2,550 (30 days): 31 + 2,200 / 2,550 × 30 = 56.88 → 56.9.
    // CEI: AR(04-01) = 1,000 + 50 + 100 = 1,150;
    //   (1,150 + 6,350 − 5,100) / (1,150 + 6,350 − 2,900) × 100 = 2,400 / 4,600 = 52.17.
    let kpis = reporting
        .get_kpis(suite.as_role(
            GetKpisRequest {
                as_of: AS_OF.into(),
                currency: "EUR".into(),
                ..Default::default()
            },
            Role::CreditManager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kpis.period_days, 90);
    assert_eq!(kpis.currencies.len(), 1);
    let eur = &kpis.currencies[0];
    assert_eq!(eur.receivables.clone().unwrap().amount, "5100.00");
    assert_eq!(eur.current_receivables.clone().unwrap().amount, "2900.00");
    assert_eq!(eur.credit_sales.clone().unwrap().amount, "6350.00");
    assert_eq!(eur.opening_receivables.clone().unwrap().amount, "1150.00");
    assert_eq!(eur.dso_standard.as_deref(), Some("72.3"));
    assert_eq!(eur.best_possible_dso.as_deref(), Some("41.1"));
    assert_eq!(eur.average_days_delinquent.as_deref(), Some("31.2"));
    assert_eq!(eur.dso_count_back.as_deref(), Some("56.9"));
    assert_eq!(eur.cei.as_deref(), Some("52.17"));

    // The export: the same figures, exact, one row per customer and currency.
    let csv = reporting
        .export_aging(suite.as_role(
            ExportAgingRequest {
                as_of: AS_OF.into(),
                format: ExportFormat::Csv.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.content).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "customer_id,legal_name,segment,view,currency,current,1-30,31-60,61-90,91-120,120+,total,overdue,items"
    );
    assert!(lines.contains(&format!("{a},Alpha,enterprise,document,EUR,0.00,300.00,0.00,0.00,650.00,100.00,1050.00,1050.00,4").as_str()), "{text}");
    assert!(
        lines.contains(
            &format!("{c},Gamma,smb,functional,EUR,920.00,0.00,0.00,0.00,0.00,0.00,920.00,0.00,1")
                .as_str()
        ),
        "{text}"
    );
    let xlsx = reporting
        .export_aging(suite.as_role(
            ExportAgingRequest {
                as_of: AS_OF.into(),
                format: ExportFormat::Xlsx.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        xlsx.filename.ends_with("-2026-06-30.xlsx"),
        "{}",
        xlsx.filename
    );
    assert!(
        xlsx.content.starts_with(b"PK") && xlsx.content.len() > 2_000,
        "not an XLSX (zip) file"
    );

    // Statistics over (04-01, 06-30].
    let stats = reporting
        .get_collection_statistics(suite.as_role(
            GetCollectionStatisticsRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let rates = |rates: &[RateFigures]| -> Vec<RateRow> {
        rates
            .iter()
            .map(|rate| {
                (
                    rate.currency.clone(),
                    rate.total_count,
                    rate.matching_count,
                    rate.rate_by_count.clone(),
                    rate.rate_by_amount.clone(),
                )
            })
            .collect()
    };
    let text = |value: &str| Some(value.to_owned());
    // Auto-match: EUR 400 + 2,000 applied automatically (the 500 of 5 July is after
    // the date): 100%; GBP 600 by hand, 400 automatically: 50% by count, 40% by amount.
    assert_eq!(
        rates(&stats.auto_match),
        [
            ("EUR".to_owned(), 2, 2, text("100.00"), text("100.00")),
            ("GBP".to_owned(), 2, 1, text("50.00"), text("40.00")),
        ]
    );
    // Promises: EUR 600 broken, GBP 1,000 kept.
    assert_eq!(
        rates(&stats.promises_kept),
        [
            ("EUR".to_owned(), 1, 0, text("0.00"), text("0.00")),
            ("GBP".to_owned(), 1, 1, text("100.00"), text("100.00")),
        ]
    );
    // Dunning within 14 days: level 1 on Delta's invoice (12 June), settled 20 June: paid;
    // level 2 on INV-1 (16 June), still 600 open: not paid.
    let dunning: Vec<(i32, String, i64, i64)> = stats
        .dunning
        .iter()
        .map(|level| {
            let rate = level.paid_within.clone().unwrap();
            (
                level.level,
                rate.currency,
                rate.total_count,
                rate.matching_count,
            )
        })
        .collect();
    assert_eq!(
        dunning,
        [(1, "GBP".to_owned(), 1, 1), (2, "EUR".to_owned(), 1, 0)]
    );
    // Disputes: pricing EUR opened 1 May (resolved after 20 days) and 1 June (open):
    // 2 opened for 80.00, 1 open, 1 resolved in 20.0 days; quality GBP resolved in 10.
    let disputes: Vec<DisputeRow> = stats
        .disputes
        .iter()
        .map(|reason| {
            (
                reason.reason_code.clone(),
                reason.currency.clone(),
                reason.opened,
                reason.opened_amount.clone().unwrap().amount,
                reason.open,
                reason.resolved,
                reason.average_resolution_days.clone(),
            )
        })
        .collect();
    assert_eq!(
        disputes,
        [
            (
                "pricing".to_owned(),
                "EUR".to_owned(),
                2,
                "80.00".to_owned(),
                1,
                1,
                text("20.0")
            ),
            (
                "quality".to_owned(),
                "GBP".to_owned(),
                1,
                "20.00".to_owned(),
                0,
                1,
                text("10.0")
            ),
        ]
    );
    // Invoice to cash: INV-2 issued 1 May, settled 20 June (50 days); Delta's issued
    // 11 May, settled 20 June (40 days): average 45.0, median 40, p90 50.
    let invoice_to_cash = stats.invoice_to_cash.unwrap();
    assert_eq!(
        (
            invoice_to_cash.count,
            invoice_to_cash.average_days,
            invoice_to_cash.median_days,
            invoice_to_cash.p90_days
        ),
        (2, text("45.0"), text("40"), text("50"))
    );
    // Order to cash: Delta's order placed 20 April, its one invoice settled 20 June: 61 days.
    let order_to_cash = stats.order_to_cash.unwrap();
    assert_eq!(
        (order_to_cash.count, order_to_cash.average_days),
        (1, text("61.0"))
    );

    // The forecast made on 30 June. Days late before it: Alpha (400 paid 76 days
    // late, 2,000 20 days late) 29.3 → 29; Beta and Gamma no history; Delta
    // (600 on time, 400 10 days late) 4. Alpha's items all fall before the 30th
    // with 29 days added, and Beta's are due by it: EUR 5,100 in week 1. Gamma's
    // USD 1,000 is due 10 July: week 2. Delta's 800 is due 20 July + 4 = 24 July:
    // week 4; the 200 under the promise comes on 2 July: week 1.
    let forecast = reporting
        .get_cash_forecast(suite.as_role(
            GetCashForecastRequest {
                as_of: AS_OF.into(),
                accuracy_weeks: 2,
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forecast.week_starts.len(), 13);
    assert_eq!(forecast.week_starts[1], "2026-07-07");
    let weeks = |currency: &str| -> Vec<String> {
        forecast
            .currencies
            .iter()
            .find(|line| line.currency == currency)
            .unwrap()
            .weeks
            .clone()
    };
    let zero = "0.00".to_owned();
    let mut eur = vec![zero.clone(); 13];
    eur[0] = "5100.00".into();
    assert_eq!(weeks("EUR"), eur);
    let mut usd = vec![zero.clone(); 13];
    usd[1] = "1000.00".into();
    assert_eq!(weeks("USD"), usd);
    let mut gbp = vec![zero.clone(); 13];
    gbp[0] = "200.00".into();
    gbp[3] = "800.00".into();
    assert_eq!(weeks("GBP"), gbp);
    // Accuracy of the forecast made on 16 June for [16 June, 23 June). Open then,
    // and expected that week: Alpha's INV-1 600 (76 days late on its one payment:
    // 15 June), I7 50, I6 100; Beta's I4 500, I9 400, I11 250 (due before): 1,900;
    // INV-2 and I8 (due 31 May + 76 days) and I3 (due 30 June) later. Applied with
    // a value date that week: INV-2's 2,000. Error 100, 5.00%. GBP: Delta's 400
    // left of I20, due 10 June, forecast 400; 400 came on 20 June: error 0.
    let week: Vec<(String, String, String, String, Option<String>)> = forecast
        .accuracy
        .iter()
        .filter(|row| row.week_start == "2026-06-16")
        .map(|row| {
            (
                row.currency.clone(),
                row.forecast.clone().unwrap().amount,
                row.actual.clone().unwrap().amount,
                row.error.clone().unwrap().amount,
                row.error_percent.clone(),
            )
        })
        .collect();
    assert_eq!(
        week,
        [
            (
                "EUR".to_owned(),
                "1900.00".to_owned(),
                "2000.00".to_owned(),
                "100.00".to_owned(),
                text("5.00")
            ),
            (
                "GBP".to_owned(),
                "400.00".to_owned(),
                "400.00".to_owned(),
                "0.00".to_owned(),
                text("0.00")
            ),
            // Gamma's USD invoice was due after that week, and nothing came:
            // no error percentage over nothing.
            (
                "USD".to_owned(),
                "0.00".to_owned(),
                "0.00".to_owned(),
                "0.00".to_owned(),
                None,
            ),
        ]
    );

    // The exception queue: the stranger's 120.00, Beta on hold, the held
    // invoice, and the one open dispute (pricing, 30.00): four.
    let queue = reporting
        .get_exception_queue(suite.as_role(GetExceptionQueueRequest {}, Role::Collector))
        .await
        .unwrap()
        .into_inner();
    let unapplied: Vec<(String, i64, String)> = queue
        .unapplied_cash
        .iter()
        .map(|line| {
            (
                line.currency.clone(),
                line.count,
                line.amount.clone().unwrap().amount,
            )
        })
        .collect();
    assert_eq!(unapplied, [("EUR".to_owned(), 1, "120.00".to_owned())]);
    assert_eq!(
        (
            queue.unidentified_receipts,
            queue.customers_on_credit_hold,
            queue.held_invoices
        ),
        (1, 1, 1)
    );
    assert_eq!(
        queue.open_disputes[0].amount.clone().unwrap().amount,
        "30.00"
    );
    assert_eq!(queue.total, 4);

    // Segmentation as of 30 June: Alpha pays 29.3 days late on average (59.3
    // days after issue: 400 × 106 + 2,000 × 50 over 2,400): late; Delta 4.0:
    // slightly late; Beta (its only payment is on 5 July) and Gamma: no history.
    let late = reporting
        .list_payment_behaviour(suite.as_role(
            ListPaymentBehaviourRequest {
                as_of: AS_OF.into(),
                payment_class: "late".into(),
                page: None,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<(String, Option<String>, Option<String>)> = late
        .customers
        .iter()
        .map(|row| {
            (
                row.customer_id.clone(),
                row.average_days_to_pay.clone(),
                row.average_days_late.clone(),
            )
        })
        .collect();
    assert_eq!(rows, [(a.clone(), text("59.3"), text("29.3"))]);
    let unknown = reporting
        .list_payment_behaviour(suite.as_role(
            ListPaymentBehaviourRequest {
                as_of: AS_OF.into(),
                payment_class: "no_history".into(),
                page: None,
            },
            Role::Collector,
        ))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = unknown
        .customers
        .iter()
        .map(|row| row.customer_id.as_str())
        .collect();
    assert_eq!(ids, [b.as_str(), c.as_str()]);
    let refused = reporting
        .list_payment_behaviour(suite.as_role(
            ListPaymentBehaviourRequest {
                payment_class: "sometimes".into(),
                ..Default::default()
            },
            Role::Collector,
        ))
        .await
        .unwrap_err();
    assert!(refused.message().contains("payment_class"), "{refused:?}");

    // The facts of April to June: ten invoices issued and the credit note;
    // four applications (receipts came without a date in range); three disputes.
    let export = |kind: FactKind, format: ExportFormat| ExportFactsRequest {
        kind: kind.into(),
        from: "2026-04-01".into(),
        to: AS_OF.into(),
        format: format.into(),
    };
    let mut exports = Vec::new();
    for kind in [FactKind::Invoices, FactKind::Payments, FactKind::Disputes] {
        let file = reporting
            .export_facts(suite.as_role(export(kind, ExportFormat::Csv), Role::ArClerk))
            .await
            .unwrap()
            .into_inner();
        exports.push(String::from_utf8(file.content).unwrap());
    }
    let lines: Vec<Vec<&str>> = exports.iter().map(|text| text.lines().collect()).collect();
    assert_eq!(
        lines.iter().map(Vec::len).collect::<Vec<_>>(),
        [12, 5, 4],
        "{exports:#?}"
    );
    assert_eq!(
        lines[0][0],
        "kind,document_id,number,customer_id,invoice_id,currency,amount,issue_date,due_date"
    );
    assert!(
        lines[0].iter().any(|line| line.starts_with("credit_note,")
            && line.ends_with(&format!(",{b},{},EUR,100.00,2026-06-10,", i3.invoice_id))),
        "{}",
        exports[0]
    );
    assert!(
        lines[1]
            .iter()
            .any(|line| line.contains(&format!(",{},GBP,600.00,0.00,false,", i20.invoice_id))),
        "{}",
        exports[1]
    );
    let xlsx = reporting
        .export_facts(suite.as_role(
            export(FactKind::Payments, ExportFormat::Xlsx),
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(xlsx.content.starts_with(b"PK") && xlsx.filename.ends_with(".xlsx"));
    let bad = reporting
        .export_facts(suite.as_role(
            ExportFactsRequest {
                kind: 0,
                from: AS_OF.into(),
                to: "2026-01-01".into(),
                format: 7,
            },
            Role::ArClerk,
        ))
        .await
        .unwrap_err();
    for field in ["kind", "to", "format"] {
        assert!(
            bad.message().contains(field),
            "{field} not named: {}",
            bad.message()
        );
    }

    // Roles, tenants, bad filters.
    let refused = reporting
        .get_aging(suite.as_role(GetAgingRequest::default(), Role::SalesAssociate))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let other = reporting
        .get_aging(otc_testkit::billing::request(
            GetAgingRequest {
                as_of: AS_OF.into(),
                ..Default::default()
            },
            "othertenant",
            &[Role::Executive],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        other.customers.is_empty(),
        "another tenant saw {:?}",
        other.customers
    );
    let hidden = reporting
        .get_aging(otc_testkit::billing::request(
            GetAgingRequest {
                as_of: AS_OF.into(),
                customer_id: a.clone(),
                ..Default::default()
            },
            "othertenant",
            &[Role::Executive],
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let bad = reporting
        .get_aging(suite.as_role(
            GetAgingRequest {
                as_of: "30/06/2026".into(),
                bucket_bounds: vec![60, 30],
                currency: "EURO".into(),
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["as_of", "bucket_bounds", "currency"] {
        assert!(
            bad.message().contains(field),
            "{field} not named: {}",
            bad.message()
        );
    }

    // The DSO trend: its last point is the KPIs above; a year earlier nothing
    // had been sold, so there is no DSO yet.
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
    assert_eq!(trend.period_days, 90);
    assert_eq!(trend.dates.len(), 12);
    assert_eq!(trend.dates.first().unwrap(), "2025-07-30");
    assert_eq!(trend.dates.last().unwrap(), AS_OF);
    let last = trend.points.last().unwrap();
    assert_eq!(
        (
            last.as_of.as_str(),
            last.dso_standard.as_deref(),
            last.dso_count_back.as_deref(),
            last.cei.as_deref()
        ),
        (AS_OF, Some("72.3"), Some("56.9"), Some("52.17"))
    );
    assert!(trend.points.iter().all(|point| point.currency == "EUR"));
    assert!(
        trend
            .points
            .iter()
            .all(|point| point.as_of.as_str() >= "2026-03-30"),
        "a point before the first invoice: {:?}",
        trend.points
    );
    // 31 March: Alpha's three March invoices (1,150.00) open, sold in the 90 days
    // before: DSO = 1,150 / 1,150 × 90 = 90.0.
    let march = trend
        .points
        .iter()
        .find(|point| point.as_of == "2026-03-30")
        .unwrap();
    assert_eq!(march.receivables.clone().unwrap().amount, "1150.00");
    assert_eq!(march.dso_standard.as_deref(), Some("90.0"));
    let too_long = reporting
        .get_dso_trend(suite.as_role(
            GetDsoTrendRequest {
                months: 40,
                period_days: 5000,
                ..Default::default()
            },
            Role::Executive,
        ))
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), Code::InvalidArgument);
    for field in ["months", "period_days"] {
        assert!(too_long.message().contains(field), "{}", too_long.message());
    }

    // Alpha's payment history: INV-1 (1,000.00, due 31 March) 400.00 paid on
    // 15 June, 600.00 open and overdue; INV-2 (2,000.00, issued 1 May, due 31
    // May) paid in full on 20 June: 50 days to pay, 20 late. Alpha pays
    // (400 × 76 + 2,000 × 20) / 2,400 = 29.3 days late on average: late.
    let history = reporting
        .get_payment_history(suite.as_role(
            GetPaymentHistoryRequest {
                customer_id: a.clone(),
                from: "2026-03-01".into(),
                to: AS_OF.into(),
                as_of: AS_OF.into(),
            },
            Role::ArClerk,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.legal_name, "Alpha");
    assert_eq!(history.invoices.len(), 5);
    let behaviour = history.behaviour.clone().unwrap();
    assert_eq!(behaviour.average_days_late.as_deref(), Some("29.3"));
    assert_eq!(behaviour.payment_class, "late");
    let item = |id: &str| {
        history
            .invoices
            .iter()
            .find(|item| item.document_id == id)
            .unwrap()
            .clone()
    };
    let paid_late = item(&i2.invoice_id);
    assert_eq!(
        (
            paid_late.status.as_str(),
            paid_late.settled_on.as_str(),
            paid_late.days_to_pay,
            paid_late.days_late,
            paid_late.open.clone().unwrap().amount.as_str()
        ),
        ("paid_late", "2026-06-20", Some(50), Some(20), "0.00")
    );
    assert_eq!(paid_late.movements.len(), 1);
    assert_eq!(paid_late.movements[0].kind, "cash_applied");
    assert_eq!(
        paid_late.movements[0].amount.clone().unwrap().amount,
        "-2000.00"
    );
    assert_eq!(paid_late.movements[0].value_date, "2026-06-20");
    let partly = history
        .invoices
        .iter()
        .find(|item| item.open.as_ref().unwrap().amount == "600.00")
        .unwrap();
    assert_eq!(
        (partly.status.as_str(), partly.days_to_pay),
        ("overdue", None)
    );
    // As of 16 June the 2,000.00 was not paid yet.
    let earlier = reporting
        .get_payment_history(suite.as_role(
            GetPaymentHistoryRequest {
                customer_id: a.clone(),
                from: "2026-05-01".into(),
                to: "2026-05-01".into(),
                as_of: "2026-06-16".into(),
            },
            Role::Executive,
        ))
        .await
        .unwrap()
        .into_inner();
    let unpaid = earlier
        .invoices
        .iter()
        .find(|item| item.document_id == i2.invoice_id)
        .unwrap();
    assert_eq!(
        (
            unpaid.status.as_str(),
            unpaid.open.clone().unwrap().amount.as_str()
        ),
        ("overdue", "2000.00")
    );
    let bad = reporting
        .get_payment_history(suite.as_role(
            GetPaymentHistoryRequest {
                customer_id: "alpha".into(),
                from: "2026-07-01".into(),
                to: "2026-06-01".into(),
                as_of: String::new(),
            },
            Role::Executive,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    for field in ["customer_id", "to"] {
        assert!(bad.message().contains(field), "{}", bad.message());
    }
    let elsewhere = reporting
        .get_payment_history(otc_testkit::billing::request(
            GetPaymentHistoryRequest {
                customer_id: a.clone(),
                ..Default::default()
            },
            "othertenant",
            &[Role::Executive],
        ))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let refused = reporting
        .get_payment_history(suite.as_role(
            GetPaymentHistoryRequest {
                customer_id: a.clone(),
                ..Default::default()
            },
            Role::SalesAssociate,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}
