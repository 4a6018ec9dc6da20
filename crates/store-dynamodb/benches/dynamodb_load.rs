//! Loading the bundled price history into DynamoDB (Local): items per second.
//!
//! `STRATUS_TEST_DYNAMODB=http://127.0.0.1:PORT cargo bench -p stratus-store-dynamodb`; compare
//! with `python3 tools/bench/boto3_load.py http://127.0.0.1:PORT` on the same emulator.

#![allow(missing_docs, clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use aws_sdk_dynamodb::config::{Credentials, Region};
use stratus_store::{PriceRow, PriceStore};
use stratus_store_dynamodb::{Billing, DynamoSettings, DynamoStore};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(url) = std::env::var("STRATUS_TEST_DYNAMODB") else {
        eprintln!("SKIPPED: set STRATUS_TEST_DYNAMODB=http://127.0.0.1:PORT (DynamoDB Local)");
        return;
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "bench"))
        .load()
        .await;
    let settings = DynamoSettings {
        table_prefix: format!("bench{}_", std::process::id()),
        billing: Billing::OnDemand,
        ..Default::default()
    };
    let store = DynamoStore::with_config(&config, &settings)
        .await
        .expect("connect");
    store.provision(Billing::OnDemand).await.expect("provision");
    let rows: Vec<PriceRow> = stratus_providers::bundled::prices()
        .expect("bundled data")
        .into_iter()
        .map(|p| PriceRow {
            ticker: p.ticker,
            date: p.date,
            open: p.open,
            close: p.close,
        })
        .collect();
    let start = Instant::now();
    let written = store.put_prices(&rows).await.expect("load");
    let seconds = start.elapsed().as_secs_f64();
    println!("| benchmark | items | seconds | items/s |");
    println!("|---|---|---|---|");
    println!(
        "| Stratus put_prices (BatchWriteItem ×25, 8 in flight) | {written} | {seconds:.1} | {:.0} |",
        written as f64 / seconds
    );
}
