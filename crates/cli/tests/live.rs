//! The live-data commands, `ingest` and `schedule` through the real `stratus` binary, against
//! the mock provider on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use serde_json::Value;
use stratus_core::{CalendarKind, TradingCalendar};
use stratus_providers::mock::{MockData, MockServer};
use stratus_providers::{Dividend, Observation, PricePoint};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn mock_data() -> MockData {
    let mut prices = BTreeMap::new();
    for (ticker, base) in [("AAA", 50.0), ("SPY", 400.0)] {
        let points = TradingCalendar::get(CalendarKind::Nyse)
            .sessions(date("2023-06-01"), date("2024-06-07"))
            .into_iter()
            .enumerate()
            .map(|(i, d)| PricePoint {
                ticker: ticker.into(),
                date: d,
                open: None,
                close: base * (1.0 + 0.0005 * i as f64 + 0.02 * (i as f64 / 3.0).sin()),
            })
            .collect();
        prices.insert(ticker.to_string(), points);
    }
    let mut dividends = BTreeMap::new();
    dividends.insert(
        "AAA".to_string(),
        (0..6)
            .map(|k| Dividend {
                ticker: "AAA".into(),
                date: date("2023-01-15") + chrono::Duration::days(91 * k),
                amount: 0.6,
            })
            .collect(),
    );
    let mut series = BTreeMap::new();
    series.insert(
        "UNRATE".to_string(),
        vec![Observation {
            series: "UNRATE".into(),
            date: date("2024-05-01"),
            value: 4.0,
        }],
    );
    MockData {
        prices,
        dividends,
        yields: Vec::new(),
        series,
    }
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

async fn stratus(home: &Path, mock: Option<&MockServer>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stratus"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRATUS_HOME", home)
        .current_dir(home);
    if let Some(mock) = mock {
        command
            .env("STRATUS_PROVIDER", "alphavantage")
            .env("ALPHA_VANTAGE_KEY", "cli-test-key")
            .env("STRATUS_ALPHA_VANTAGE_URL", mock.alphavantage_url())
            .env("STRATUS_ALPHA_VANTAGE_RATE", "0")
            .env("STRATUS_TREASURY_URL", mock.treasury_url())
            .env("STRATUS_FRED_URL", mock.fred_url())
            .env("FRED_KEY", "fred")
            .env("STRATUS_HTTP_RETRIES", "0")
            .env("STRATUS_TODAY", "2024-06-10");
    }
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn json(run: &Run) -> Value {
    assert_eq!(run.code, 0, "stderr: {}", run.err);
    serde_json::from_str(&run.out).unwrap_or_else(|e| panic!("{e}: {}", run.out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_commands_need_a_live_provider_and_say_so() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["dividends", "AAPL"][..],
        &["ddm", "AAPL", "--discount", "0.08"],
        &["stat", "UNRATE"],
        &["plot-dividends", "AAPL"],
    ] {
        let run = stratus(home.path(), None, args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.err);
        assert!(run.out.is_empty());
        assert!(
            run.err.contains("need live data") && run.err.contains("STRATUS_PROVIDER=alphavantage"),
            "{}",
            run.err
        );
    }
    let run = stratus(home.path(), None, &["screen"]).await;
    assert_eq!(run.code, 2);
    assert!(run.err.contains("watchlist is empty"), "{}", run.err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dividends_ddm_watchlist_screen_and_stats_with_live_data() {
    let mock = MockServer::start(mock_data()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let divs = json(&stratus(h, Some(&mock), &["dividends", "aaa", "--json"]).await);
    assert_eq!(divs["AAA"].as_object().unwrap().len(), 6);
    let ddm = json(
        &stratus(
            h,
            Some(&mock),
            &["ddm", "AAA", "--discount", "0.08", "--json"],
        )
        .await,
    );
    // Flat quarterly 0.60 payments (91-day steps): a geometric series, checked in closed form.
    let next = date("2023-01-15") + chrono::Duration::days(91 * 6);
    let t0 = (next - date("2024-06-10")).num_days() as f64 / 365.0;
    let v: f64 = 1.0 / 1.08;
    let closed_form = 0.6 * v.powf(t0) / (1.0 - v.powf(0.25));
    let value = ddm["AAA"]["discount_dividend"].as_f64().unwrap();
    assert!(
        (value - closed_form).abs() < 1e-5,
        "{value} vs {closed_form}"
    );

    let watched = json(&stratus(h, Some(&mock), &["watch", "AAA", "spy", "--json"]).await);
    assert_eq!(watched, serde_json::json!(["AAA", "SPY"]));
    let listed = json(&stratus(h, Some(&mock), &["watchlist", "--json"]).await);
    assert_eq!(listed, watched);
    // A ticker the provider does not know: exit 2, the list untouched.
    let before = std::fs::read(h.join("watchlist.json")).unwrap();
    let bad = stratus(h, Some(&mock), &["watch", "AAA", "NOPE"]).await;
    assert_eq!(bad.code, 2, "{}", bad.err);
    assert!(
        bad.out.is_empty() && bad.err.contains("NOPE"),
        "{}",
        bad.err
    );
    assert_eq!(std::fs::read(h.join("watchlist.json")).unwrap(), before);
    let screen = json(&stratus(h, Some(&mock), &["screen", "--discount", "0.08", "--json"]).await);
    assert_eq!(screen["valued"][0]["ticker"], "AAA");
    assert_eq!(screen["skipped"][0]["ticker"], "SPY");
    let passing = screen["valued"][0]["discount"].as_f64().unwrap() > 0.0;
    assert_eq!(
        screen["passing"].as_array().unwrap().len(),
        usize::from(passing)
    );

    let plot = stratus(
        h,
        Some(&mock),
        &[
            "plot-dividends",
            "AAA",
            "--discount",
            "0.08",
            "--save",
            "divs.svg",
        ],
    )
    .await;
    assert_eq!(plot.code, 0, "{}", plot.err);
    let svg = std::fs::read_to_string(h.join("divs.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains(&format!("model value ${value:.2}")),
        "{}",
        &svg[..200.min(svg.len())]
    );

    let stat = json(&stratus(h, Some(&mock), &["stat", "UNRATE", "--json"]).await);
    assert_eq!(stat["UNRATE"], 4.0);
    let stats = json(
        &stratus(
            h,
            Some(&mock),
            &["stats", "UNRATE", "--start", "2024-01-01", "--json"],
        )
        .await,
    );
    assert_eq!(stats["UNRATE"]["2024-05-01"], 4.0);
    // Four dividend calls (dividends, ddm, screen, plot) and one price fetch: `watch` fetched
    // AAA's prices, and `screen` found them in the store.
    assert_eq!(mock.calls("AAA"), 4 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_exits_3_when_a_source_fails_and_0_when_all_succeed() {
    let mock = MockServer::start(mock_data()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("ingest.toml"),
        "destination = \"out\"\n\
         [[source]]\nname = \"eq\"\nprovider = \"alphavantage\"\nsymbols = [\"AAA\", \"SPY\"]\n\
         [[source]]\nname = \"gone\"\nprovider = \"alphavantage\"\nsymbols = [\"NOPE\"]\n",
    )
    .unwrap();
    let run = stratus(h, Some(&mock), &["ingest"]).await;
    assert_eq!(run.code, 3, "{}", run.err);
    assert!(
        run.out.contains("Operational") && run.out.contains("Broken"),
        "{}",
        run.out
    );
    assert!(!run.out.contains("cli-test-key") && !run.err.contains("cli-test-key"));
    assert!(h.join("out/prices/prices-2024-06-10.csv").is_file());
    assert!(
        h.join("out/reports/ingest-report-2024-06-10.json")
            .is_file()
    );

    std::fs::write(
        h.join("ok.toml"),
        "destination = \"out2\"\n[[source]]\nname = \"eq\"\nprovider = \"alphavantage\"\nsymbols = [\"AAA\"]\n",
    )
    .unwrap();
    let run = stratus(h, Some(&mock), &["ingest", "--config", "ok.toml", "--json"]).await;
    let report = json(&run);
    assert_eq!(report["sources"][0]["status"], "Operational");

    let run = stratus(h, Some(&mock), &["ingest", "--config", "missing.toml"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.err.contains("missing.toml") && run.err.contains("--config"),
        "{}",
        run.err
    );
    let run = stratus(
        h,
        Some(&mock),
        &["ingest", "--config", "ok.toml", "--destination", "ftp://x"],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.err);
    assert!(run.err.contains("s3://bucket/prefix"), "{}", run.err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_lists_next_runs_and_runs_jobs_on_time() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("schedule.toml"),
        "[[job]]\nname = \"tick\"\ncron = \"*/2 * * * * *\"\ncommand = [\"version\"]\n\
         [[job]]\nname = \"nightly\"\ncron = \"30 22 * * MON-FRI\"\ncommand = [\"ingest\"]\n",
    )
    .unwrap();
    let listed = json(&stratus(h, None, &["schedule", "--list", "--json"]).await);
    assert_eq!(listed[0]["next_runs"].as_array().unwrap().len(), 3);
    assert!(
        listed[1]["next_runs"][0]
            .as_str()
            .unwrap()
            .ends_with("T22:30:00Z")
    );

    let started = std::time::Instant::now();
    let run = stratus(h, None, &["schedule", "--max-runs", "2"]).await;
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        run.out.matches(env!("CARGO_PKG_VERSION")).count(),
        2,
        "{}",
        run.out
    );
    assert_eq!(run.err.matches("finished").count(), 2, "{}", run.err);
    assert!(started.elapsed() < std::time::Duration::from_secs(8));

    // Two jobs due at the same instant both run, one after the other, every time.
    std::fs::write(
        h.join("pair.toml"),
        "[[job]]\nname = \"first\"\ncron = \"*/2 * * * * *\"\ncommand = [\"version\"]\n\
         [[job]]\nname = \"second\"\ncron = \"*/2 * * * * *\"\ncommand = [\"version\"]\n",
    )
    .unwrap();
    let run = stratus(
        h,
        None,
        &["schedule", "--config", "pair.toml", "--max-runs", "4"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.err);
    assert_eq!(
        run.err.matches("job \"first\" finished").count(),
        2,
        "{}",
        run.err
    );
    assert_eq!(
        run.err.matches("job \"second\" finished").count(),
        2,
        "{}",
        run.err
    );

    std::fs::write(
        h.join("bad.toml"),
        "[[job]]\nname = \"x\"\ncron = \"* * * * *\"\ncommand = [\"no-such-verb\"]\n",
    )
    .unwrap();
    let run = stratus(h, None, &["schedule", "--config", "bad.toml"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.err.contains("job \"x\"") && run.err.contains("does not parse"),
        "{}",
        run.err
    );
}
