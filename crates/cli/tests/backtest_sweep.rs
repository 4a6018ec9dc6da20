//! `backtest --sweep GRID.toml` over the job system and `--report FILE.html`: every point of the
//! grid runs as a task and returns the same measures as the same backtest run alone; the ranking
//! follows the measure's direction; running the sweep again resumes the same job; the reports of
//! the best points are written; bad grids and misplaced flags are refused before any work.

#[path = "support/models_common.rs"]
mod common;

use std::process::ExitCode;

use common::*;
use serde_json::Value;

const FIVE: &str = "AAPL,MSFT,KO,PG,XOM";
const WINDOW5: [&str; 4] = ["--start", "2017-01-03", "--end", "2020-12-31"];

fn sweep(grid: &str, extra: &[&str]) -> (ExitCode, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grid.toml");
    std::fs::write(&file, grid).unwrap();
    let file = file.display().to_string();
    let mut args = vec!["backtest", "--json", "--tickers", FIVE, "--sweep", &file];
    args.extend(WINDOW5);
    args.extend(extra);
    run(&args)
}

fn f64_at(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn every_point_is_the_backtest_it_names_ranked_and_resumable() {
    let grid = r#"
strategies = ["min-variance", "hrp", "equal-weight"]
risk_models = ["ledoit-wolf"]
lookbacks = [252, 504]
rebalances = ["quarterly"]
workers = 2
"#;
    let (code, out, err) = sweep(grid, &["--cost", "10"]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    let points = result["points"].as_array().unwrap();
    // Equal weight ignores the covariance: one point per lookback, not one per risk model.
    assert_eq!(points.len(), 6);
    let values: Vec<f64> = points.iter().map(|p| f64_at(&p["value"])).collect();
    assert!(
        values.windows(2).all(|w| w[0] >= w[1]),
        "ranked highest first: {values:?}"
    );
    for point in points {
        let strategy = point["strategy"].as_str().unwrap();
        let lookback = point["lookback"].as_str().unwrap();
        let mut args = vec![
            "backtest",
            "--json",
            "--tickers",
            FIVE,
            "--cost",
            "10",
            "--rebalance",
            "quarterly",
            "--lookback",
            lookback,
            "--strategy",
            strategy,
        ];
        args.extend(WINDOW5);
        let (code, alone, err) = run(&args);
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        let alone: Value = serde_json::from_str(&alone).unwrap();
        assert_eq!(
            point["result"]["risk_report"], alone["strategies"][0]["risk_report"],
            "{strategy} / {lookback}: the task's measures differ from the same backtest alone"
        );
        assert_eq!(
            point["value"],
            alone["strategies"][0]["risk_report"]["sharpe_ratio"]
        );
    }
    // The same grid again is the same job: it resumes (nothing left to run) with the same ranking.
    let (code, again, err) = sweep(grid, &["--cost", "10"]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["job"], result["job"]);
    assert_eq!(again["points"], result["points"]);
}

#[test]
fn drawdowns_rank_lowest_first_and_the_best_get_reports() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("best.html");
    let report_arg = format!("--report={}", report.display());
    let grid = r#"
strategies = ["risk-parity", "inverse-volatility"]
lookbacks = [252]
rebalances = ["monthly", "quarterly"]
rank_by = "max_drawdown"
best = 2
"#;
    let (code, out, err) = sweep(grid, &[&report_arg]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    let values: Vec<f64> = result["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| f64_at(&p["value"]))
        .collect();
    assert_eq!(values.len(), 4);
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "lowest drawdown first: {values:?}"
    );
    for k in 1..=2 {
        let file = dir.path().join(format!("best-{k}.html"));
        let html = std::fs::read_to_string(&file).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 5);
    }
    assert!(!report.exists(), "with best = 2 the reports are numbered");
}

#[test]
fn bad_grids_and_misplaced_flags_are_refused_before_any_work() {
    for (grid, says) in [
        ("strategys = [\"hrp\"]", "unknown field"),
        ("strategies = []", "strategies is empty"),
        ("lookbacks = [1.5]", "not a lookback"),
        ("lookbacks = [5]", "from 20 to"),
        ("rebalances = [\"yearly\"]", "rebalance schedule"),
        ("strategies = [\"hrp --cov bogus\"]", "hrp --cov bogus"),
        ("strategies = [\"covariance\"]", "not an allocation method"),
        ("strategies = [\"hrp\"]\nrank_by = \"colour\"", "rank_by"),
        ("lookbacks = [\"expanding\"", "grid.toml"),
    ] {
        let (code, out, err) = sweep(grid, &[]);
        assert_eq!(code, ExitCode::from(2), "{grid}: {out} {err}");
        assert!(err.contains(says), "{grid} should say {says}: {err}");
    }
    let html = "--report=/tmp/stratus-report-test.txt";
    refused(&[
        (
            vec!["risk-profile", "AAPL", "--sweep", "grid.toml"],
            "--sweep",
        ),
        (
            vec![
                "backtest",
                "--tickers",
                FIVE,
                "--sweep",
                "/nonexistent/grid.toml",
            ],
            "cannot read",
        ),
        (vec!["backtest", "--tickers", FIVE, html], ".html"),
        (vec!["risk-profile", "AAPL", "--report=r.html"], "--report"),
    ]);
}

mod any_grid {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("strategies = [\"equal-weight\"]".to_string()),
            Just("strategies = [\"hrp\", \"risk-parity\"]".to_string()),
            Just("strategies = [\"min-variance --cov nope\"]".to_string()),
            Just("strategies = []".to_string()),
            Just("strategies = \"hrp\"".to_string()),
            Just("risk_models = [\"oas\"]".to_string()),
            Just("risk_models = [\"\"]".to_string()),
            Just("lookbacks = [60]".to_string()),
            Just("lookbacks = [\"expanding\", 60]".to_string()),
            Just("lookbacks = [-1, 1e308]".to_string()),
            Just("lookbacks = [99999999999999999999]".to_string()),
            Just("rebalances = [\"quarterly\"]".to_string()),
            Just("rebalances = [\"0\", \"dates:\"]".to_string()),
            Just("rank_by = \"max_drawdown\"".to_string()),
            Just("rank_by = \"\"".to_string()),
            Just("best = 0".to_string()),
            Just("best = -3".to_string()),
            Just("workers = 0".to_string()),
            Just("workers = 70000".to_string()),
            Just("colour = \"red\"".to_string()),
            Just("[[[".to_string()),
            Just("\u{0}".to_string()),
            "[a-z_ =\"\\[\\]0-9,]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever a grid file holds, the sweep ranks its points (exit 0, JSON) or refuses it
        /// (exit 2 with a message) — no panic, no other failure.
        #[test]
        fn any_grid_file_is_ranked_or_refused(lines in prop::collection::vec(line(), 0..5)) {
            let grid = lines.join("\n");
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("grid.toml");
            std::fs::write(&file, &grid).unwrap();
            let file = file.display().to_string();
            let (code, out, err) = run(&[
                "backtest", "--json", "--tickers", "AAPL,KO", "--start", "2022-06-01", "--end",
                "2022-12-28", "--lookback", "60", "--sweep", &file,
            ]);
            if code == ExitCode::SUCCESS {
                let result: Value = serde_json::from_str(&out).unwrap();
                prop_assert!(!result["points"].as_array().unwrap().is_empty());
            } else {
                prop_assert_eq!(code, ExitCode::from(2), "{}: {}", grid, err);
                prop_assert!(err.starts_with("error: "), "{}", err);
            }
        }
    }
}
