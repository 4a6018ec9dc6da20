//! `deploy verify`'s API check against a real HTTP server (the router `stratus serve` runs), and
//! against an address where nothing listens.

use std::sync::Arc;

#[tokio::test]
async fn a_live_api_passes_and_an_unreachable_one_is_skipped() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().display().to_string();
    let settings =
        stratus_app::Settings::load(&move |k| (k == "STRATUS_HOME").then(|| path.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(Arc::clone(&store), &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    let app = stratus_server::router(analytics, &stratus_server::ServerOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(stratus_server::serve(listener, app));

    let checks = stratus_deploy::verify::check_api(&format!("http://{addr}/")).await;
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert!(checks.iter().all(|c| c.ok == Some(true)), "{checks:?}");
    assert!(checks[1].check.contains("/api/risk-profile?tickers=AAPL"));

    // A port nothing listens on: reported as not reachable from here, neither passed nor failed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let checks = stratus_deploy::verify::check_api(&format!("http://{closed_addr}/")).await;
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].ok, None, "{checks:?}");
    assert!(checks[0].detail.contains("not reachable"), "{checks:?}");
}
