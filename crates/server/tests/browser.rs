//! The web page end to end in headless Chromium (Debian's `chromium`; `.ci/run` installs it):
//! load the page with a query that runs an optimisation, let its scripts call the API and draw,
//! then compare the weights it shows with the API's answer, and save a screenshot.
//!
//! Skipped (announced) without a Chromium, except under `CI=true`, where that fails.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stratus_app::Settings;
use stratus_server::{ServerOptions, router};

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("STRATUS_CHROMIUM").unwrap_or_default(),
        "chromium".into(),
        "chromium-browser".into(),
        "google-chrome".into(),
    ];
    let found = candidates.iter().filter(|c| !c.is_empty()).find_map(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| PathBuf::from(c))
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no chromium: install Debian's chromium package (see .ci/run)"
        );
        eprintln!("SKIPPED: the browser test needs chromium (or STRATUS_CHROMIUM=/path/to/chrome)");
    }
    found
}

/// Runs headless Chromium on `url` with `mode` (`--dump-dom` or `--screenshot=FILE`).
fn headless(browser: &Path, profile: &Path, mode: &str, url: &str) -> String {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1400,1500",
            // Virtual time waits for the page's fetches and drawing before dumping.
            "--virtual-time-budget=30000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// `(ticker, weight)` of each `<tr data-ticker=… data-weight=…>` the page drew.
fn weights_shown(dom: &str) -> Vec<(String, f64)> {
    dom.split("<tr data-ticker=\"")
        .skip(1)
        .map(|rest| {
            let ticker = rest.split('"').next().unwrap().to_string();
            let weight = rest
                .split("data-weight=\"")
                .nth(1)
                .and_then(|w| w.split('"').next())
                .unwrap()
                .parse()
                .unwrap();
            (ticker, weight)
        })
        .collect()
}

/// The services over a fresh data folder, seeded from the bundled data.
async fn seeded(home: &Path) -> stratus_analytics::Analytics {
    let h = home.display().to_string();
    let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| h.clone())).unwrap();
    let store = stratus_app::open_store(&settings).await.unwrap();
    let analytics = stratus_app::analytics(store, &settings);
    analytics.ensure_seeded(&|_| {}).await.unwrap();
    analytics
}

/// A server over a freshly seeded data folder, on a free port.
async fn serve_seeded(
    home: &Path,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let analytics = seeded(home).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(stratus_server::serve(
        listener,
        router(analytics, &ServerOptions::default()),
    ));
    (addr, server)
}

/// The API's answer to one request, over a plain socket.
async fn api(addr: std::net::SocketAddr, method: &str, url: &str, body: &str) -> Value {
    let (method, url, body) = (method.to_string(), url.to_string(), body.to_string());
    let text = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        write!(
            socket,
            "{method} {url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        socket.read_to_string(&mut text).unwrap();
        text.split("\r\n\r\n").nth(1).unwrap().to_string()
    })
    .await
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_page_runs_an_optimisation_and_shows_the_apis_weights() {
    let Some(browser) = chromium() else { return };
    let home = tempfile::tempdir().unwrap();
    let (addr, server) = serve_seeded(home.path()).await;

    let query = "tickers=AAPL,MSFT,JPM,KO,XOM&start=2021-01-04&end=2021-12-31&objective=sharpe";
    let page = format!("http://{addr}/?{query}&run=1");
    let profile = tempfile::tempdir().unwrap();
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stratus-web-page.png");
    let (browser2, profile2, page2, shot) = (
        browser.clone(),
        profile.path().to_path_buf(),
        page.clone(),
        screenshot.clone(),
    );
    // Chromium blocks; the server keeps answering on the runtime meanwhile.
    let dom = tokio::task::spawn_blocking(move || {
        let dom = headless(&browser2, &profile2, "--dump-dom", &page2);
        headless(
            &browser2,
            &profile2,
            &format!("--screenshot={}", shot.display()),
            &page2,
        );
        dom
    })
    .await
    .unwrap();

    assert!(
        dom.contains("data-state=\"done\""),
        "the page did not finish: {dom}"
    );
    let shown = weights_shown(&dom);
    let api = api(
        addr,
        "GET",
        "/api/optimize-portfolio?tickers=AAPL,MSFT,JPM,KO,XOM&start=2021-01-04&end=2021-12-31&sharpe=true",
        "",
    )
    .await;
    let expected: Vec<(String, f64)> = api["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["ticker"].as_str().unwrap().to_string(),
                h["allocation"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown, expected, "weights on the page vs the API");
    assert!((shown.iter().map(|(_, w)| w).sum::<f64>() - 1.0).abs() < 1e-9);
    // Every chart was drawn: a 5×5 heat map, five scatter points, the frontier and the curve.
    assert!(dom.matches("<rect x=").count() >= 25, "heat map cells");
    for id in [
        "scatter", "heatmap", "frontier", "weights", "prices", "curve",
    ] {
        let section = dom.split(&format!("id=\"{id}\"")).nth(1).unwrap();
        assert!(
            section.trim_start().starts_with("><svg"),
            "{id} has no chart"
        );
    }
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "screenshot {}",
        screenshot.display()
    );
    eprintln!("screenshot: {}", screenshot.display());
    server.abort();
}

/// `(measure, cells)` of each `<tr data-measure=…>` the backtest tab drew.
fn measures_shown(dom: &str) -> Vec<(String, Vec<String>)> {
    dom.split("<tr data-measure=\"")
        .skip(1)
        .map(|rest| {
            let name = rest.split('"').next().unwrap().to_string();
            let row = rest.split("</tr>").next().unwrap();
            let cells = row
                .split("<td>")
                .skip(2)
                .map(|c| c.split("</td>").next().unwrap().to_string())
                .collect();
            (name, cells)
        })
        .collect()
}

#[tokio::test]
async fn the_backtest_tab_posts_and_shows_the_apis_numbers() {
    let Some(browser) = chromium() else { return };
    let home = tempfile::tempdir().unwrap();
    let (addr, server) = serve_seeded(home.path()).await;
    let page = format!(
        "http://{addr}/?tab=backtest&tickers=AAPL,MSFT,KO,PG,XOM&start=2018-01-02&end=2021-12-31&strategies=min-variance,equal-weight&lookback=252&rebalance=monthly&cost=10&run=1"
    );
    let profile = tempfile::tempdir().unwrap();
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stratus-backtest-tab.png");
    let (browser2, profile2, shot) = (
        browser.clone(),
        profile.path().to_path_buf(),
        screenshot.clone(),
    );
    let dom = tokio::task::spawn_blocking(move || {
        let dom = headless(&browser2, &profile2, "--dump-dom", &page);
        headless(
            &browser2,
            &profile2,
            &format!("--screenshot={}", shot.display()),
            &page,
        );
        dom
    })
    .await
    .unwrap();
    assert!(
        dom.contains("data-state=\"done\""),
        "the tab did not finish: {dom}"
    );
    let answer = api(
        addr,
        "POST",
        "/api/backtest",
        r#"{"tickers": ["AAPL", "MSFT", "KO", "PG", "XOM"], "strategy": ["min-variance", "equal-weight"], "start": "2018-01-02", "end": "2021-12-31", "lookback": "252", "rebalance": "monthly", "cost": "10"}"#,
    )
    .await;
    let runs: Vec<&Value> = answer["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&answer["benchmark"]])
        .collect();
    let shown = measures_shown(&dom);
    let sharpe = &shown.iter().find(|(m, _)| m == "Sharpe ratio").unwrap().1;
    let want: Vec<String> = runs
        .iter()
        .map(|r| format!("{:.3}", r["risk_report"]["sharpe_ratio"].as_f64().unwrap()))
        .collect();
    assert_eq!(sharpe, &want, "Sharpe ratios on the tab vs the API");
    assert_eq!(shown.len(), 11, "every measure row");
    for id in ["bt-equity", "bt-drawdown", "bt-weights"] {
        let section = dom.split(&format!("id=\"{id}\"")).nth(1).unwrap();
        assert!(
            section.trim_start().starts_with("><svg"),
            "{id} has no chart"
        );
    }
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000);
    eprintln!("screenshot: {}", screenshot.display());
    server.abort();
}

#[tokio::test]
async fn the_backtest_report_is_one_self_contained_file_chromium_renders() {
    let Some(browser) = chromium() else { return };
    let home = tempfile::tempdir().unwrap();
    let analytics = seeded(home.path()).await;
    let params = serde_json::json!({
        "tickers": ["AAPL", "MSFT", "KO", "PG", "XOM", "JNJ"],
        "strategy": ["min-variance --cov ledoit-wolf", "risk-parity", "hrp"],
        "start": "2016-01-04", "end": "2022-12-28", "lookback": "504", "cost": "10",
    });
    let stratus_verbs::args::Verb::Backtest(args) =
        stratus_verbs::request::command_from_json("backtest", &params).unwrap()
    else {
        unreachable!("a backtest")
    };
    let (output, html) = stratus_verbs::commands::backtest_with_report(&analytics, &args)
        .await
        .unwrap();
    // Nothing is fetched: no script, stylesheet, image or font from anywhere.
    for outside in ["<script", "<link", " src=", "url(", "@import", "<iframe"] {
        assert!(
            !html.contains(outside),
            "the report refers outside itself: {outside}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, &html).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", file.display());
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stratus-backtest-report.png");
    let (profile2, shot) = (profile.path().to_path_buf(), screenshot.clone());
    let dom = tokio::task::spawn_blocking(move || {
        let dom = headless(&browser, &profile2, "--dump-dom", &url);
        headless(
            &browser,
            &profile2,
            &format!("--screenshot={}", shot.display()),
            &url,
        );
        dom
    })
    .await
    .unwrap();
    // Four line charts, turnover, and one weights chart per strategy.
    assert_eq!(dom.matches("<svg").count(), 8, "charts in the report");
    let json = &output.json;
    for run in json["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&json["benchmark"]])
    {
        let name = run["name"].as_str().unwrap();
        assert!(
            dom.contains(&format!("<th>{name}</th>")),
            "{name} has a column"
        );
        let sharpe = format!(
            "<td>{:.3}</td>",
            run["risk_report"]["sharpe_ratio"].as_f64().unwrap()
        );
        assert!(
            dom.contains(&sharpe),
            "{name}'s Sharpe ratio {sharpe} is in the table"
        );
    }
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000);
    eprintln!("screenshot: {}", screenshot.display());
}
