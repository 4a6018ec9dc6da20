//! A server database that goes away under a running API: requests answer 503 with a JSON body
//! while it is unreachable, and succeed again once it is back — no restart, no cached "not
//! found". The database is reached through a TCP proxy this test stops and starts. Skipped
//! without `STRATUS_TEST_POSTGRES` / `STRATUS_TEST_MYSQL` (a failure under `CI=true`).

#![allow(clippy::print_stderr)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use stratus_app::{Settings, StoreLocation};
use stratus_server::{ServerOptions, router};
use stratus_store::{PriceRow, RateRow};
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// A TCP proxy to `target` on a fixed local port that can be stopped (every connection cut, as
/// a server restart does) and started again.
struct Proxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy = Proxy {
            port,
            target,
            tasks: Arc::default(),
        };
        proxy.up().await;
        proxy
    }

    async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let (target, tasks) = (self.target.clone(), Arc::clone(&self.tasks));
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(forward);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn down(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn outage(var: &str) {
    let server = match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {var} is not set"
            );
            eprintln!("SKIPPED: set {var}");
            return;
        }
    };
    let mut url = url::Url::parse(&server).unwrap();
    let target = format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    );
    let proxy = Proxy::start(target).await;
    url.set_port(Some(proxy.port)).unwrap();
    url.set_path(&format!("/faults_{}_{}", std::process::id(), proxy.port));
    let home = tempfile::tempdir().unwrap();
    let vars = [
        (
            "STRATUS_HOME".to_string(),
            home.path().display().to_string(),
        ),
        ("STRATUS_STORE".to_string(), url.to_string()),
        ("STRATUS_DB_CONNECT_TIMEOUT".to_string(), "2".to_string()),
    ];
    let settings = Settings::load(&|k| {
        vars.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    stratus_app::provision(&StoreLocation::configured(&settings), &settings)
        .await
        .unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let rows: Vec<PriceRow> = stratus_providers::bundled::prices()
        .unwrap()
        .into_iter()
        .filter(|p| {
            ["AAPL", "SP500"].contains(&p.ticker.as_str())
                && p.date.format("%Y").to_string() == "2022"
        })
        .map(|p| PriceRow {
            ticker: p.ticker,
            date: p.date,
            open: p.open,
            close: p.close,
        })
        .collect();
    store.put_prices(&rows).await.unwrap();
    let rates: Vec<RateRow> = stratus_providers::bundled::treasury_yields()
        .unwrap()
        .into_iter()
        .filter(|y| y.date.format("%Y").to_string() == "2022")
        .map(|y| RateRow {
            maturity: y.maturity,
            date: y.date,
            percent: y.percent,
        })
        .collect();
    store.put_rates(&rates).await.unwrap();
    let app = router(
        stratus_app::analytics(store, &settings),
        &ServerOptions::default(),
    );
    let uri = "/api/risk-profile?tickers=AAPL&start=2022-01-03&end=2022-12-28";
    let (status, before) = get(&app, uri).await;
    assert_eq!(status, StatusCode::OK, "{before}");

    proxy.down();
    for _ in 0..2 {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let message = body["error"].as_str().unwrap_or_default().to_string();
        assert!(
            message.contains(&format!("127.0.0.1:{}", proxy.port)),
            "{body}"
        );
        assert!(!message.contains("stratus-test"), "no password: {body}");
        let (status, health) = get(&app, "/health").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    }

    proxy.up().await;
    let (status, after) = get(&app, uri).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after, before);
    proxy.down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_503_then_recovers() {
    outage("STRATUS_TEST_POSTGRES").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_outage_is_503_then_recovers() {
    outage("STRATUS_TEST_MYSQL").await;
}
