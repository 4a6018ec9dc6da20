//! DynamoDB-specific behaviour against DynamoDB Local: provisioning, both correlation layouts,
//! scrilla's colliding keys, malformed items, billing, and an unreachable endpoint. Skipped without
//! `STRATUS_TEST_DYNAMODB` (a failure under `CI=true`), like the conformance suite.

mod support;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use stratus_core::Method;
use stratus_store::{
    AnalyticsCache, CorrelationKey, PriceRow, PriceStore, ProfileKey, ProfileRecord, Store,
    StoreErrorKind,
};
use stratus_store_dynamodb::{
    AnalyticsLayout, Billing, CorrelationLayout, DynamoSettings, DynamoStore,
};

use support::{config, endpoint, prefix};

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

async fn create_raw(client: &Client, name: &str, keys: &[(&str, KeyType)]) {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in keys {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*attribute)
                    .key_type(kind.clone())
                    .build()
                    .unwrap(),
            );
    }
    request.send().await.unwrap();
}

#[tokio::test]
async fn provisioning_is_idempotent_and_refuses_a_foreign_layout() {
    let Some(url) = endpoint() else { return };
    let cfg = config(&url).await;
    let settings = DynamoSettings {
        table_prefix: prefix(),
        billing: Billing::OnDemand,
        ..Default::default()
    };
    let store = DynamoStore::with_config(&cfg, &settings).await.unwrap();
    let created = store.provision(Billing::OnDemand).await.unwrap();
    assert_eq!(created.len(), 4);
    assert!(
        store.provision(Billing::OnDemand).await.unwrap().is_empty(),
        "second run creates nothing"
    );

    let other = prefix();
    create_raw(
        &Client::new(&cfg),
        &format!("{other}prices"),
        &[("symbol", KeyType::Hash)],
    )
    .await;
    let foreign = DynamoStore::with_config(
        &cfg,
        &DynamoSettings {
            table_prefix: other.clone(),
            billing: Billing::OnDemand,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = foreign.provision(Billing::OnDemand).await.unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Conflict);
    assert!(
        err.message.contains(&format!("{other}prices")) && err.message.contains("different layout"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn provisioned_billing_puts_capacity_on_tables_and_indexes() {
    let Some(url) = endpoint() else { return };
    let cfg = config(&url).await;
    let settings = DynamoSettings {
        table_prefix: prefix(),
        billing: Billing::Provisioned { read: 3, write: 2 },
        ..Default::default()
    };
    let store = DynamoStore::with_config(&cfg, &settings).await.unwrap();
    store.provision(settings.billing).await.unwrap();
    let table = Client::new(&cfg)
        .describe_table()
        .table_name(format!("{}profile", settings.table_prefix))
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        table
            .provisioned_throughput()
            .and_then(|t| t.read_capacity_units()),
        Some(3)
    );
    for index in table.global_secondary_indexes() {
        assert_eq!(
            index
                .provisioned_throughput()
                .and_then(|t| t.write_capacity_units()),
            Some(2)
        );
    }
}

/// Two profiles with the same ticker and start date but different end dates, under `analytics`.
async fn two_profiles_sharing_scrilla_key(
    analytics: AnalyticsLayout,
) -> Option<(Option<f64>, Option<f64>)> {
    let url = endpoint()?;
    let cfg = config(&url).await;
    let store = DynamoStore::with_config(
        &cfg,
        &DynamoSettings {
            table_prefix: prefix(),
            billing: Billing::OnDemand,
            analytics,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    store.provision(Billing::OnDemand).await.unwrap();
    let key = |end: &str| ProfileKey {
        ticker: "KO".into(),
        start: d("2022-08-05"),
        end: d(end),
        method: Method::Moments,
        weekends: false,
    };
    let record = |r: f64| ProfileRecord {
        annual_return: r,
        annual_volatility: 0.2,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    };
    store
        .put_profile(&key("2022-12-28"), &record(0.1))
        .await
        .unwrap();
    store
        .put_profile(&key("2022-12-27"), &record(0.3))
        .await
        .unwrap();
    let first = store.profile(&key("2022-12-28")).await.unwrap();
    let second = store.profile(&key("2022-12-27")).await.unwrap();
    Some((
        first.map(|r| r.annual_return),
        second.map(|r| r.annual_return),
    ))
}

#[tokio::test]
async fn colliding_profile_keys_never_serve_a_wrong_hit() {
    // Same (ticker, start_date) in scrilla's table: the second replaced the first, which is now
    // a miss (recomputed on demand), never the other window's numbers.
    let Some(found) = two_profiles_sharing_scrilla_key(AnalyticsLayout::Scrilla).await else {
        return;
    };
    assert_eq!(found, (None, Some(0.3)));
}

#[tokio::test]
async fn collision_free_layout_keeps_both_profiles() {
    let Some(found) = two_profiles_sharing_scrilla_key(AnalyticsLayout::CollisionFree).await else {
        return;
    };
    assert_eq!(found, (Some(0.1), Some(0.3)));
}

#[tokio::test]
async fn document_layout_of_correlations_is_detected_and_used() {
    let Some(url) = endpoint() else { return };
    let cfg = config(&url).await;
    let p = prefix();
    create_raw(
        &Client::new(&cfg),
        &format!("{p}correlations"),
        &[("ticker_1", KeyType::Hash), ("start_date", KeyType::Range)],
    )
    .await;
    let store = DynamoStore::with_config(
        &cfg,
        &DynamoSettings {
            table_prefix: p,
            billing: Billing::OnDemand,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(store.correlation_layout(), CorrelationLayout::Document);
    let key = |other: &str| CorrelationKey {
        ticker_1: "AAPL".into(),
        ticker_2: other.into(),
        start: d("2022-08-05"),
        end: d("2022-12-28"),
        method: Method::Moments,
        weekends: false,
    };
    store.put_correlation(&key("MSFT"), 0.8).await.unwrap();
    assert_eq!(store.correlation(&key("MSFT")).await.unwrap(), Some(0.8));
    // (AAPL, 2022-08-05) is one item in this layout: a correlation with KO replaces it.
    store.put_correlation(&key("KO"), 0.6).await.unwrap();
    assert_eq!(store.correlation(&key("KO")).await.unwrap(), Some(0.6));
    assert_eq!(
        store.correlation(&key("MSFT")).await.unwrap(),
        Some(0.8),
        "MSFT's own (MSFT, AAPL) item still answers"
    );
}

#[tokio::test]
async fn malformed_items_are_reported_and_batches_span_many_requests() {
    let Some(url) = endpoint() else { return };
    let cfg = config(&url).await;
    let p = prefix();
    let store = DynamoStore::with_config(
        &cfg,
        &DynamoSettings {
            table_prefix: p.clone(),
            billing: Billing::OnDemand,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    store.provision(Billing::OnDemand).await.unwrap();
    let rows: Vec<PriceRow> = (0..60)
        .map(|i| PriceRow {
            ticker: "BIG".into(),
            date: d("2020-01-01") + chrono::Duration::days(i),
            open: None,
            close: 100.0 + i as f64,
        })
        .collect();
    assert_eq!(store.put_prices(&rows).await.unwrap(), 60);
    assert_eq!(
        store
            .prices("BIG", d("2019-01-01"), d("2021-01-01"))
            .await
            .unwrap(),
        rows
    );
    Client::new(&cfg)
        .put_item()
        .table_name(format!("{p}prices"))
        .item("ticker", AttributeValue::S("BAD".into()))
        .item("date", AttributeValue::S("2020-01-02".into()))
        .item("close", AttributeValue::S("ten".into()))
        .send()
        .await
        .unwrap();
    let err = store
        .prices("BAD", d("2020-01-01"), d("2020-12-31"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Invalid);
    assert!(
        err.message.contains("close") && err.message.contains("prices"),
        "{}",
        err.message
    );
    assert_eq!(store.status().await.unwrap().prices, 61);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_one_clear_unavailable_error() {
    if endpoint().is_none() {
        return;
    }
    let cfg = config("http://127.0.0.1:9").await;
    let err = match DynamoStore::with_config(&cfg, &DynamoSettings::default()).await {
        Ok(store) => store.status().await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert!(
        err.message.contains("127.0.0.1:9") && err.message.contains("AWS_ENDPOINT_URL"),
        "{}",
        err.message
    );
}

/// A TCP server that accepts connections and never answers.
async fn silent_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out_with_a_clear_error() {
    if endpoint().is_none() {
        return;
    }
    let (url, server) = silent_endpoint().await;
    let cfg = config(&url).await;
    let settings = DynamoSettings {
        timeout: Some(std::time::Duration::from_millis(800)),
        connect_timeout: Some(std::time::Duration::from_millis(800)),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let err = match DynamoStore::with_config(&cfg, &settings).await {
        Ok(store) => store.latest_price_date("AAPL").await.unwrap_err(),
        Err(e) => e,
    };
    server.abort();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(err.kind, StoreErrorKind::Unavailable);
    assert!(err.message.contains("did not answer"), "{}", err.message);
}

#[tokio::test]
async fn a_missing_region_or_missing_credentials_is_named() {
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    let Some(url) = endpoint() else { return };
    let base = || {
        aws_config::SdkConfig::builder()
            .endpoint_url(&url)
            .behavior_version(aws_config::BehaviorVersion::latest())
    };
    let credentials =
        SharedCredentialsProvider::new(Credentials::new("local", "local", None, None, "t"));
    let connect = |config: aws_config::SdkConfig| async move {
        DynamoStore::with_config(&config, &DynamoSettings::default())
            .await
            .err()
            .expect("refused")
            .message
    };

    let message = connect(base().credentials_provider(credentials.clone()).build()).await;
    assert!(
        message.contains("no AWS region") && message.contains("AWS_REGION"),
        "{message}"
    );
    let message = connect(
        base()
            .region(Region::new("us east 1"))
            .credentials_provider(credentials)
            .build(),
    )
    .await;
    assert!(
        message.contains("\"us east 1\"") && message.contains("AWS_REGION"),
        "{message}"
    );
    let message = connect(base().region(Region::new("us-east-1")).build()).await;
    assert!(
        message.contains("no AWS credentials") && message.contains("AWS_ACCESS_KEY_ID"),
        "{message}"
    );
    assert!(!message.contains("cannot reach"), "{message}");
}

#[tokio::test]
async fn scrilla_items_are_not_served_and_stratus_items_are_readable_by_scrilla() {
    let Some(url) = endpoint() else { return };
    let cfg = config(&url).await;
    let settings = DynamoSettings {
        table_prefix: prefix(),
        billing: Billing::OnDemand,
        ..Default::default()
    };
    let store = DynamoStore::with_config(&cfg, &settings).await.unwrap();
    store.provision(Billing::OnDemand).await.unwrap();
    let client = Client::new(&cfg);
    let p = &settings.table_prefix;
    let n = |v: &str| AttributeValue::N(v.into());
    let s = |v: &str| AttributeValue::S(v.into());
    // scrilla's items (its `dynamo_json_to_params` formats; no Stratus mark).
    client
        .put_item()
        .table_name(format!("{p}profile"))
        .item("ticker", s("AAPL"))
        .item("start_date", s("2020-01-02"))
        .item("end_date", s("2020-12-31"))
        .item("method", s("moments"))
        .item("weekends", n("0"))
        .item("annual_return", n("0.687"))
        .item("annual_volatility", n("0.45"))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(format!("{p}correlations"))
        .item("id", s("AAPLMSFT2022-12-282022-08-05moments0"))
        .item("ticker_1", s("AAPL"))
        .item("ticker_2", s("MSFT"))
        .item("start_date", s("2022-08-05"))
        .item("end_date", s("2022-12-28"))
        .item("method", s("moments"))
        .item("weekends", n("0"))
        .item("correlation", n("0.68568"))
        .send()
        .await
        .unwrap();
    let profile_key = ProfileKey {
        ticker: "AAPL".into(),
        start: d("2020-01-02"),
        end: d("2020-12-31"),
        method: Method::Moments,
        weekends: false,
    };
    let correlation_key = CorrelationKey {
        ticker_1: "AAPL".into(),
        ticker_2: "MSFT".into(),
        start: d("2022-08-05"),
        end: d("2022-12-28"),
        method: Method::Moments,
        weekends: false,
    };
    assert_eq!(store.profile(&profile_key).await.unwrap(), None);
    assert_eq!(store.correlation(&correlation_key).await.unwrap(), None);
    assert!(store.all_profiles().await.unwrap().is_empty());
    assert!(store.all_correlations().await.unwrap().is_empty());
    store
        .put_correlation(&correlation_key, 0.69117)
        .await
        .unwrap();
    assert_eq!(
        store.correlation(&correlation_key).await.unwrap(),
        Some(0.69117)
    );

    // Price items carry every attribute scrilla's reader indexes: `open` is NULL when unknown.
    store
        .put_prices(&[PriceRow {
            ticker: "KO".into(),
            date: d("2022-12-28"),
            open: None,
            close: 60.5,
        }])
        .await
        .unwrap();
    let item = client
        .get_item()
        .table_name(format!("{p}prices"))
        .key("ticker", s("KO"))
        .key("date", s("2022-12-28"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item.get("open"), Some(&AttributeValue::Null(true)));
    let rows = store
        .prices("KO", d("2022-12-01"), d("2022-12-31"))
        .await
        .unwrap();
    assert_eq!((rows[0].open, rows[0].close), (None, 60.5));

    // Status without a scan: DescribeTable's counts.
    let estimated = store.estimated_status().await.unwrap();
    assert!(estimated.description.contains("refreshed"));
}
