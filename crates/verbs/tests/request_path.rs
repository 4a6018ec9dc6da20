//! The request path on the embedded store, counted call by call through a counting store: a
//! warm verb asks the store a handful of questions, writes nothing, and loads a series at most
//! once. (The DynamoDB counts, where every call is a network request, are in
//! `crates/cli/tests/request_counts.rs`.)

#![allow(clippy::print_stderr)] // the counts are printed for the record

use std::collections::BTreeMap;
use std::sync::Arc;

use stratus_store::Store;
use stratus_store::counting::{Counting, WRITES};
use stratus_verbs::commands::run_verb;
use stratus_verbs::request::command_from_query;

async fn counted() -> (
    Arc<Counting>,
    stratus_analytics::Analytics,
    tempfile::TempDir,
) {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().display().to_string();
    let settings =
        stratus_app::Settings::load(&move |k| (k == "STRATUS_HOME").then(|| path.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let counting = Arc::new(Counting::new(store));
    let analytics = stratus_app::analytics(Arc::clone(&counting) as Arc<dyn Store>, &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    counting.take();
    (counting, analytics, home)
}

async fn run(
    analytics: &stratus_analytics::Analytics,
    verb: &str,
    query: &[(&str, &str)],
) -> String {
    let pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let verb = command_from_query(verb, &pairs).unwrap();
    let output = run_verb(&verb, analytics, stratus_charts::Format::Svg)
        .await
        .unwrap();
    output.json.to_string()
}

fn writes(counts: &BTreeMap<&'static str, u64>) -> u64 {
    counts
        .iter()
        .filter(|(op, _)| WRITES.contains(op))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_verbs_ask_little_and_write_nothing() {
    let (counting, analytics, _home) = counted().await;
    let four = [
        ("tickers", "AAPL"),
        ("tickers", "MSFT"),
        ("tickers", "JPM"),
        ("tickers", "XOM"),
    ];
    // (verb, parameters, most store calls warm)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u64);
    let cases: [Case<'_>; 4] = [
        ("risk-profile", &four, 4),
        ("correlation", &four, 2),
        ("optimize-portfolio", &four, 3),
        ("var", &[("tickers", "AAPL")], 3),
    ];
    let mut report = Vec::new();
    for (verb, query, budget) in cases {
        let cold = run(&analytics, verb, query).await;
        let cold_counts = counting.take();
        let warm = run(&analytics, verb, query).await;
        let counts = counting.take();
        assert_eq!(cold, warm, "{verb}: the warm answer is the cold one");
        let total: u64 = counts.values().sum();
        report.push(format!(
            "{verb}: warm {total} store calls {counts:?}; cold {} calls",
            cold_counts.values().sum::<u64>()
        ));
        assert!(
            total <= budget,
            "{verb}: {total} store calls warm (budget {budget}): {counts:?}"
        );
        assert_eq!(writes(&counts), 0, "{verb}: a warm read wrote: {counts:?}");
        let series_reads = |c: &std::collections::BTreeMap<&str, u64>| {
            ["prices", "closes"]
                .iter()
                .map(|k| c.get(*k).copied().unwrap_or(0))
                .sum::<u64>()
        };
        assert!(
            series_reads(&counts) <= 1,
            "{verb}: a series loaded more than once: {counts:?}"
        );
        assert!(
            series_reads(&cold_counts) <= query.len() as u64 + 1,
            "{verb}: each series loaded once even cold: {cold_counts:?}"
        );
    }
    eprintln!("{}", report.join("\n"));
}
