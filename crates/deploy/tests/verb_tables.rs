//! Each function's role names exactly the tables its verb uses: every served verb is run through
//! a store that counts its operations (on the embedded store, which has the same operations as
//! DynamoDB), and what it touched must be what `model::verb_tables` grants — nothing it reads or
//! writes is missing (it would fail with AccessDenied), and no table it never touches is named.

#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::sync::Arc;

use stratus_store::Store;
use stratus_store::counting::{Counting, tables_of};
use stratus_store::tables::TableKind;
use stratus_verbs::commands::run_verb;
use stratus_verbs::request::{command_from_query, served_verbs};

/// Parameter sets tried on every verb; each verb takes some of them.
const PARAMS: &[&[(&str, &str)]] = &[
    &[
        ("tickers", "AAPL,MSFT"),
        ("start", "2021-01-04"),
        ("end", "2021-12-31"),
    ],
    &[
        ("tickers", "AAPL"),
        ("start", "2021-01-04"),
        ("end", "2021-12-31"),
    ],
    &[("ticker", "AAPL")],
    &[("first", "AAPL"), ("second", "MSFT")],
    &[("tickers", "AAPL,MSFT"), ("target", "0.2")],
    &[
        ("tickers", "AAPL,MSFT"),
        ("views", "AAPL = 0.1"),
        ("delta", "2.5"),
        ("start", "2021-01-04"),
        ("end", "2021-12-31"),
    ],
    &[],
];

#[tokio::test]
async fn every_verb_s_role_names_exactly_the_tables_it_touches() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().display().to_string();
    let settings =
        stratus_app::Settings::load(&move |k| (k == "STRATUS_HOME").then(|| path.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let counting = Arc::new(Counting::new(store));
    let analytics = stratus_app::analytics(Arc::clone(&counting) as Arc<dyn Store>, &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    let mut problems = Vec::new();
    for verb in served_verbs() {
        let mut touched: BTreeMap<TableKind, bool> = BTreeMap::new();
        let mut ran = false;
        for params in PARAMS {
            let pairs: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let Ok(command) = command_from_query(&verb, &pairs) else {
                continue;
            };
            // Cold: nothing cached, so the verb computes and stores what it caches.
            analytics.store().clear_analytics().await.unwrap();
            counting.take();
            let result = run_verb(&command, &analytics, stratus_charts::Format::Svg).await;
            ran |= result.is_ok();
            for (operation, _) in counting.take() {
                for (kind, write) in tables_of(operation) {
                    let entry = touched.entry(kind).or_default();
                    *entry |= write;
                }
            }
        }
        let granted = stratus_deploy::model::verb_tables(&verb, false);
        for (kind, write) in &touched {
            match granted.get(kind) {
                None => problems.push(format!("{verb}: touches {kind:?} but is not granted it")),
                Some(false) if *write => {
                    problems.push(format!("{verb}: writes {kind:?} but may only read it"))
                }
                _ => {}
            }
        }
        if ran {
            for kind in granted.keys() {
                if !touched.contains_key(kind) {
                    problems.push(format!("{verb}: granted {kind:?} but never touches it"));
                }
            }
        } else {
            eprintln!(
                "{verb}: no parameter set ran it; checked only that what it touched is granted"
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
