//! The HTTP API in process (the router as a tower service) and once over a real socket.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use stratus_analytics::Analytics;
use stratus_app::Settings;
use stratus_server::{ServerOptions, router};
use tower::ServiceExt;

/// A data folder whose SQLite cache holds the bundled data, seeded once for every test here.
fn seeded_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        // On a thread of its own: the caller is already inside a test's runtime.
        let seeding = dir.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let analytics = analytics_in(&seeding).await;
                analytics.ensure_seeded(&|_| {}).await.unwrap();
            });
        })
        .join()
        .unwrap();
        dir
    })
}

async fn analytics_in(home: &Path) -> Analytics {
    let home = home.display().to_string();
    let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| home.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    stratus_app::analytics(store, &settings)
}

async fn app() -> axum::Router {
    router(analytics_in(seeded_home()).await, &ServerOptions::default())
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(app: &axum::Router, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// What `stratus <args> --json` computes, through the same verb code, for comparison.
async fn cli_json(args: &[&str]) -> Value {
    use clap::Parser;
    let mut argv = vec!["stratus"];
    argv.extend_from_slice(args);
    let cli = stratus_verbs::args::Cli::try_parse_from(argv).unwrap();
    let analytics = analytics_in(seeded_home()).await;
    stratus_verbs::commands::dispatch(&cli.command, &analytics, stratus_charts::Format::Svg)
        .await
        .unwrap()
        .json
}

#[tokio::test]
async fn each_endpoint_answers_with_the_verbs_json() {
    let app = app().await;
    for (uri, args) in [
        (
            "/api/risk-profile?tickers=AAPL,MSFT&start=2021-01-04&end=2021-12-31",
            vec![
                "risk-profile",
                "AAPL",
                "MSFT",
                "--start",
                "2021-01-04",
                "--end",
                "2021-12-31",
            ],
        ),
        (
            "/api/cor?tickers=AAPL,KO,XOM&method=percentiles",
            vec![
                "correlation",
                "AAPL",
                "KO",
                "XOM",
                "--method",
                "percentiles",
            ],
        ),
        (
            "/api/optimize-portfolio?tickers=AAPL,MSFT,JPM&sharpe=true&max_weight=0.6",
            vec![
                "opt",
                "AAPL",
                "MSFT",
                "JPM",
                "--sharpe",
                "--max-weight",
                "0.6",
            ],
        ),
        (
            "/api/efficient-frontier?tickers=AAPL,MSFT&steps=4",
            vec!["ef", "AAPL", "MSFT", "--steps", "4"],
        ),
        (
            "/api/var?tickers=KO&prob=0.01&historical=true",
            vec!["var", "KO", "--prob", "0.01", "--historical"],
        ),
        (
            "/api/yield-curve?date=2020-03-02",
            vec!["yc", "--date", "2020-03-02"],
        ),
        (
            "/api/interest?maturities=TEN_YEAR,3M&start=2022-12-01",
            vec!["interest", "TEN_YEAR", "3M", "--start", "2022-12-01"],
        ),
        ("/api/capm-beta?tickers=AAPL", vec!["capm-beta", "AAPL"]),
        (
            "/api/correlations?first=AAPL&second=MSFT&start=2022-12-01",
            vec!["correlations", "AAPL", "MSFT", "--start", "2022-12-01"],
        ),
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.header("content-type"), "application/json", "{uri}");
        assert_eq!(answer.json(), cli_json(&args).await, "{uri}");
    }
    // POST with a JSON object is the same request.
    let post = send(
        &app,
        Request::post("/api/risk-profile")
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"tickers": ["AAPL", "MSFT"], "start": "2021-01-04", "end": "2021-12-31"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(
        post.json(),
        cli_json(&[
            "rp",
            "AAPL",
            "MSFT",
            "--start",
            "2021-01-04",
            "--end",
            "2021-12-31"
        ])
        .await
    );
}

#[tokio::test]
async fn dated_results_are_cacheable_and_moving_ones_are_not() {
    let app = app().await;
    let dated = get(&app, "/api/risk-profile?tickers=AAPL&end=2021-12-31").await;
    assert!(dated.header("cache-control").contains("max-age=86400"));
    let moving = get(&app, "/api/risk-profile?tickers=AAPL").await;
    assert_eq!(moving.header("cache-control"), "no-cache");
    let error = get(&app, "/api/risk-profile?tickers=NOPE&end=2021-12-31").await;
    assert_eq!(error.header("cache-control"), "no-store");
}

#[tokio::test]
async fn bad_input_gets_a_json_error_naming_the_field() {
    let app = app().await;
    let cases: &[(&str, StatusCode, Option<&str>, &str)] = &[
        (
            "/api/risk-profile?tickers=AAPL&start=2021-02-30",
            StatusCode::BAD_REQUEST,
            Some("start"),
            "YYYY-MM-DD",
        ),
        (
            "/api/risk-profile?start=2021-01-04",
            StatusCode::BAD_REQUEST,
            Some("tickers"),
            "required",
        ),
        (
            "/api/risk-profile?tickers=AAPL&colour=red",
            StatusCode::BAD_REQUEST,
            Some("colour"),
            "expected one of",
        ),
        (
            "/api/risk-profile?tickers=AAPL,NOPE",
            StatusCode::NOT_FOUND,
            Some("tickers"),
            "unknown ticker NOPE",
        ),
        (
            "/api/var?tickers=AAPL&prob=often",
            StatusCode::BAD_REQUEST,
            Some("prob"),
            "often",
        ),
        (
            "/api/risk-profile?tickers=AAPL&start=2030-01-02",
            StatusCode::BAD_REQUEST,
            None,
            "last date with data",
        ),
        (
            "/api/risk-profile?tickers=AAPL&start=2021-06-01&end=2021-01-04",
            StatusCode::BAD_REQUEST,
            None,
            "swap --start and --end",
        ),
        (
            "/api/opt?tickers=AAPL",
            StatusCode::BAD_REQUEST,
            Some("tickers"),
            "",
        ),
        (
            "/api/ef?tickers=AAPL,MSFT&steps=999999",
            StatusCode::BAD_REQUEST,
            Some("steps"),
            "at most",
        ),
        (
            "/api/import-csv?file=/etc/passwd",
            StatusCode::NOT_FOUND,
            None,
            "unknown function",
        ),
        (
            "/api/risk-profile?tickers=AAPL&home=/tmp",
            StatusCode::BAD_REQUEST,
            Some("home"),
            "unknown parameter",
        ),
        (
            "/api/no-such-verb",
            StatusCode::NOT_FOUND,
            None,
            "available: risk-profile",
        ),
        (
            "/api/risk-profile?tickers=%FF",
            StatusCode::BAD_REQUEST,
            Some("tickers"),
            "invalid ticker",
        ),
        (
            "/api/risk-profile?tickers=AAPL,aapl",
            StatusCode::BAD_REQUEST,
            Some("tickers"),
            "AAPL is listed twice",
        ),
        (
            "/api/var?tickers=AAPL&historical=true&expiry=1e308",
            StatusCode::BAD_REQUEST,
            Some("expiry"),
            "at most 100",
        ),
        (
            "/api/opt?tickers=AAPL,MSFT,KO&target=NaN",
            StatusCode::BAD_REQUEST,
            Some("target"),
            "finite",
        ),
        (
            "/api/opt-cvar?tickers=KO,PG&historical=true&expiry=1e308",
            StatusCode::BAD_REQUEST,
            Some("expiry"),
            "at most 100",
        ),
        (
            "/api/cvar?tickers=AAPL&expiry=inf",
            StatusCode::BAD_REQUEST,
            Some("expiry"),
            "at most 100",
        ),
        (
            "/tickers?limit=lots",
            StatusCode::BAD_REQUEST,
            Some("limit"),
            "whole number",
        ),
        (
            "/no/such/page",
            StatusCode::NOT_FOUND,
            None,
            "/openapi.json",
        ),
    ];
    for (uri, status, field, says) in cases {
        let answer = get(&app, uri).await;
        assert_eq!(
            answer.status,
            *status,
            "{uri}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let body = answer.json();
        assert_eq!(body["status"], status.as_u16(), "{uri}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(says), "{uri}: {message}");
        assert_eq!(body["field"].as_str(), *field, "{uri}: {body}");
    }
    let many: Vec<String> = (0..=stratus_verbs::request::MAX_LIST_ITEMS)
        .map(|i| format!("T{i}"))
        .collect();
    let answer = get(
        &app,
        &format!("/api/risk-profile?tickers={}", many.join(",")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json()["field"], "tickers");

    let post = |body: Vec<u8>| {
        Request::post("/api/risk-profile")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let huge = format!(r#"{{"tickers": ["{}"]}}"#, "A".repeat(100_000)).into_bytes();
    let answer = send(&app, post(huge)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.json()["error"].as_str().unwrap().contains("at most"));
    let answer = send(&app, post(b"{not json".to_vec())).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = send(&app, post(b"[1, 2]".to_vec())).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
    // Values of the wrong JSON type name the field (not "unknown ticker NULL").
    for body in [
        &br#"{"tickers": [null, null]}"#[..],
        br#"{"tickers": {"a": 1}}"#,
    ] {
        let answer = send(&app, post(body.to_vec())).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.json()["field"], "tickers");
        assert!(
            !answer.json()["error"]
                .as_str()
                .unwrap()
                .contains("unknown ticker"),
            "{:?}",
            answer.json()
        );
    }
}

#[tokio::test]
async fn odd_input_never_produces_a_server_error() {
    let app = app().await;
    let odd = [
        "",
        "-",
        "--",
        "%20",
        "NaN",
        "inf",
        "-1",
        "1e308",
        "0",
        "😀",
        "AAPL,,MSFT",
        "--home=/",
        "a=b",
    ];
    for verb in stratus_verbs::request::served_verbs() {
        for value in odd {
            for name in [
                "tickers",
                "start",
                "prob",
                "steps",
                "method",
                "date",
                "first",
                "maturities",
                "target",
                "expiry",
            ] {
                let encoded: String = value
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                let uri = format!("/api/{verb}?tickers=AAPL,MSFT&{name}={encoded}");
                let answer = get(&app, &uri).await;
                // The live-data verbs on an offline store answer 501 and say what to configure.
                let offline = answer.status == axum::http::StatusCode::NOT_IMPLEMENTED
                    && String::from_utf8_lossy(&answer.body).contains("need live data");
                assert!(
                    answer.status.is_success() || answer.status.is_client_error() || offline,
                    "{uri}: {} {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                );
            }
        }
    }
}

#[tokio::test]
async fn a_store_that_is_down_is_a_503() {
    let store = Arc::new(stratus_store::MemoryStore::new());
    store.set_unavailable(true);
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| h.clone())).unwrap();
    let app = router(
        stratus_app::analytics(store, &settings),
        &ServerOptions::default(),
    );
    for uri in ["/api/risk-profile?tickers=AAPL", "/health", "/tickers"] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(
            answer.json()["error"]
                .as_str()
                .unwrap()
                .contains("unavailable"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn discovery_endpoints_list_tickers_maturities_and_health() {
    let app = app().await;
    let page = get(&app, "/tickers?q=a&limit=2&page=1").await.json();
    assert_eq!(page["total"], 4); // AAPL, AMD, BAC, VLUE contain an A; limit 2, page 1
    assert_eq!(page["tickers"].as_array().unwrap().len(), 2);
    assert_eq!(page["tickers"][0]["ticker"], "BAC");
    assert_eq!(page["tickers"][0]["prices"], 8313);
    let all = get(&app, "/tickers").await.json();
    assert_eq!(all["total"], 26);
    let maturities = get(&app, "/maturities").await.json();
    assert_eq!(maturities["maturities"].as_array().unwrap().len(), 13);
    assert_eq!(maturities["maturities"][10]["maturity"], "TEN_YEAR");
    // Health is a cheap liveness check: the store's kind (for `stratus connect`), nothing about
    // where the store lives.
    let health = get(&app, "/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["store"], "ready");
    assert_eq!(health.json()["backend"], "sqlite");
    assert_eq!(health.json()["read_only"], false);
    let text = String::from_utf8_lossy(&health.body);
    assert!(
        !text.contains('/') && !text.contains("stratus.db") && !text.contains("tmp"),
        "{text}"
    );
}

#[tokio::test]
async fn wrong_methods_answer_json() {
    let app = app().await;
    let answer = send(
        &app,
        Request::delete("/api/risk-profile?tickers=AAPL")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), "GET, POST");
    assert_eq!(answer.json()["status"], 405);
    assert!(
        answer.json()["error"].as_str().unwrap().contains("DELETE"),
        "{:?}",
        answer.json()
    );
    let answer = send(&app, Request::post("/tickers").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.json()["status"], 405);
}

#[tokio::test]
async fn the_openapi_document_describes_every_verb_and_its_parameters() {
    let app = app().await;
    let doc = get(&app, "/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for verb in stratus_verbs::request::served_verbs() {
        assert!(
            doc["paths"][format!("/api/{verb}")]["get"].is_object(),
            "{verb}"
        );
    }
    let params = doc["paths"]["/api/var"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in [
        "tickers",
        "start",
        "end",
        "method",
        "prob",
        "expiry",
        "historical",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let prob = params.iter().find(|p| p["name"] == "prob").unwrap();
    assert_eq!(
        prob["schema"],
        json!({"type": "number", "exclusiveMinimum": 0.0, "exclusiveMaximum": 1.0, "default": 0.05})
    );
    let method = params.iter().find(|p| p["name"] == "method").unwrap();
    assert_eq!(
        method["schema"]["enum"],
        json!(["moments", "percentiles", "likelihood"])
    );
    let backtest = doc["paths"]["/api/backtest"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let schema_of = |name: &str| {
        backtest
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["schema"].clone())
            .unwrap_or_else(|| panic!("backtest has no {name}"))
    };
    // A number of sessions in the parsers' range, or the word.
    assert_eq!(
        schema_of("lookback"),
        json!({"anyOf": [{"type": "integer", "minimum": 20.0, "maximum": 10000.0},
                         {"type": "string", "enum": ["expanding"]}], "default": 756})
    );
    // A backtest's benchmark is a ticker, not covariance's benchmark return.
    assert_eq!(schema_of("benchmark")["type"], "string");
    assert!(schema_of("benchmark").get("exclusiveMinimum").is_none());
    let docs = get(&app, "/docs").await;
    assert!(String::from_utf8_lossy(&docs.body).contains("/openapi.json"));
    let page = get(&app, "/").await;
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(String::from_utf8_lossy(&page.body).contains("/app.js"));
    assert_eq!(get(&app, "/charts.js").await.status, StatusCode::OK);
}

#[tokio::test]
async fn charts_come_as_svg_or_png() {
    let app = app().await;
    let svg = get(&app, "/api/plot-risk-profile?tickers=AAPL,MSFT").await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert!(svg.body.starts_with(b"<svg"));
    let png = get(&app, "/api/plot-yield-curve?format=png&date=2021-06-01").await;
    assert_eq!(png.header("content-type"), "image/png");
    assert!(png.body.starts_with(b"\x89PNG"));
    let bad = get(&app, "/api/plot-yield-curve?format=gif").await;
    assert_eq!(bad.json()["field"], "format");
}

#[tokio::test]
async fn cors_is_off_by_default_and_configurable() {
    let request = || {
        Request::get("/health")
            .header("origin", "https://example.org")
            .body(Body::empty())
            .unwrap()
    };
    let plain = send(&app().await, request()).await;
    assert_eq!(plain.header("access-control-allow-origin"), "");
    let options = ServerOptions::from_env(&|k| {
        (k == "STRATUS_CORS_ORIGINS").then(|| "https://example.org, https://other.org".to_string())
    });
    let open = router(analytics_in(seeded_home()).await, &options);
    let answer = send(&open, request()).await;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        "https://example.org"
    );
}

#[tokio::test]
async fn the_server_answers_over_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(stratus_server::serve(listener, app().await));
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /api/risk-profile?tickers=KO&end=2021-12-31 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    server.abort();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let json: Value = serde_json::from_str(body).unwrap();
    assert_eq!(json, cli_json(&["rp", "KO", "--end", "2021-12-31"]).await);
}

/// What the server sends back on a raw socket for `request`, or what it did with the
/// connection: (status line, body).
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut response),
    )
    .await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[tokio::test]
async fn oversized_requests_get_json_and_idle_connections_are_closed() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = stratus_server::ConnectionLimits {
        max_connections: 3,
        header_timeout: std::time::Duration::from_millis(400),
    };
    let server = tokio::spawn(stratus_server::serve_with(listener, app().await, limits));

    let long = format!(
        "GET /api/risk-profile?tickers={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "A,".repeat(6000)
    );
    let (status, body) = raw_exchange(addr, long.as_bytes()).await;
    assert!(status.contains("414"), "{status}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], 414);

    // Bytes that are not an HTTP request (a TLS hello, garbage) get the JSON error too.
    for garbage in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"GARBAGE\r\n\r\n",
        b"get / HTTP/1.1\r\n\r\n",
    ] {
        let (status, body) = raw_exchange(addr, garbage).await;
        assert!(status.contains("400"), "{status}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], 400);
    }

    let mut many = String::from("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-Filler-{i}: {}\r\n", "y".repeat(10)));
    }
    many.push_str("\r\n");
    let (status, body) = raw_exchange(addr, many.as_bytes()).await;
    assert!(status.contains("431"), "{status}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], 431);

    // Idle and half-sent connections are closed once the header timeout passes, freeing their
    // places: with all 3 places taken by such clients, /health still answers soon after.
    let mut idle = Vec::new();
    for partial in [&b""[..], b"GET /hea", b"GET /health HTTP/1.1\r\nHost"] {
        use tokio::io::AsyncWriteExt;
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket.write_all(partial).await.unwrap();
        idle.push(socket);
    }
    let started = std::time::Instant::now();
    let (status, _) = raw_exchange(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status.contains("200"), "{status}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    for mut socket in idle {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            socket.read_to_end(&mut rest),
        )
        .await;
        assert!(closed.is_ok(), "the server closed the idle connection");
    }
    server.abort();
}
