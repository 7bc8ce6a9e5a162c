//! Money through a real PostgreSQL `NUMERIC(19,4)` column and back, and
//! values a column can hold that money must refuse.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use otc_shared::money::{Currency, Money, MoneyError};
use otc_testkit::TestDatabase;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_round_trips_are_exact() {
    let database = TestDatabase::create("money").await.unwrap();
    sqlx::query("CREATE TABLE amounts (id BIGINT PRIMARY KEY, amount NUMERIC(19,4) NOT NULL, currency CHAR(3) NOT NULL)")
        .execute(&database.pool)
        .await
        .unwrap();

    // Generate a few hundred random amounts, store them, read them back.
    let mut runner = TestRunner::new(Config::with_cases(1));
    let strategy = prop::collection::vec(
        (
            prop::sample::select(vec!["EUR", "USD", "JPY", "KWD", "CHF"]),
            -99_999_999_999_999_999i64..99_999_999_999_999_999i64,
        ),
        300,
    );
    let values = strategy.new_tree(&mut runner).unwrap().current();
    let mut originals = Vec::new();
    for (index, (code, units)) in values.into_iter().enumerate() {
        let currency = Currency::parse(code).unwrap();
        let money = Money::rounded(Decimal::new(units, 4), currency).unwrap();
        sqlx::query("INSERT INTO amounts (id, amount, currency) VALUES ($1, $2, $3)")
            .bind(i64::try_from(index).unwrap())
            .bind(money.amount())
            .bind(money.currency())
            .execute(&database.pool)
            .await
            .unwrap();
        originals.push(money);
    }
    let rows: Vec<(Decimal, Currency)> =
        sqlx::query_as("SELECT amount, currency FROM amounts ORDER BY id")
            .fetch_all(&database.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), originals.len());
    for ((amount, currency), original) in rows.into_iter().zip(&originals) {
        let back = Money::from_columns(amount, currency.code()).unwrap();
        assert_eq!(&back, original);
        assert_eq!(
            Money::from_proto("amount", Some(&back.to_proto())).unwrap(),
            back
        );
    }

    // The database sums what Money sums, to the cent.
    let euro = Currency::parse("EUR").unwrap();
    let database_total: Decimal =
        sqlx::query_scalar("SELECT COALESCE(sum(amount), 0) FROM amounts WHERE currency = 'EUR'")
            .fetch_one(&database.pool)
            .await
            .unwrap();
    let euros: Vec<Money> = originals
        .iter()
        .copied()
        .filter(|money| money.currency() == euro)
        .collect();
    assert_eq!(
        Money::sum(euro, &euros).unwrap().amount(),
        database_total.normalize().round_dp(2)
    );

    // A NUMERIC with more decimals than the currency allows is refused, not rounded.
    let fraction: Decimal = sqlx::query_scalar("SELECT 12.3456::numeric")
        .fetch_one(&database.pool)
        .await
        .unwrap();
    assert!(matches!(
        Money::from_columns(fraction, "EUR"),
        Err(MoneyError::TooManyDecimals { .. })
    ));
    // An unknown currency code in a row is refused with the code named.
    let bad_currency = sqlx::query_scalar::<_, Currency>("SELECT 'EUX'::text")
        .fetch_one(&database.pool)
        .await
        .unwrap_err();
    assert!(bad_currency.to_string().contains("EUX"), "{bad_currency}");
    database.drop_database().await;
}
