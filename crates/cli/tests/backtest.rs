//! `stratus backtest` end to end on the bundled data:
//!
//! - against an independent numpy walk-forward (`tools/reference/make_backtest_reference.py`,
//!   fixture `core/tests/fixtures/backtest.json`): minimum variance, equal weight and risk parity,
//!   20 stocks, 2012–2022, monthly from 756-session lookbacks, 10 bp costs, drifting weights —
//!   every daily return to 1e-10, every rebalance's date, weights, turnover and cost to 1e-10;
//! - no look-ahead: prices from a date on are changed in a second store; every rebalance before
//!   that date keeps its weights bit for bit, and the first one after it moves (so the test can
//!   fail);
//! - the bookkeeping identities (equity = ∏(1 + r) after the first cost, costs = bp × turnover ×
//!   equity, the turnover limit, cash from whole shares, schedules) and the named refusals.

#[path = "support/models_common.rs"]
mod common;

use std::path::Path;
use std::process::ExitCode;

use common::*;
use serde_json::Value;

fn backtest(extra: &[&str]) -> Value {
    backtest_in(home(), extra)
}

fn backtest_in(home: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["backtest", "--json", "--tickers"];
    args.extend(TWENTY);
    args.extend(extra);
    let (code, out, err) = run_in(home, &args);
    assert_eq!(code, ExitCode::SUCCESS, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn values(map: &Value) -> Vec<f64> {
    map.as_object().unwrap().values().map(f).collect()
}

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/backtest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn walk_forward_equals_the_numpy_reference() {
    let want = reference();
    let got = backtest(&[
        "--start",
        "2012-01-03",
        "--end",
        "2022-12-28",
        "--lookback",
        "756",
        "--rebalance",
        "monthly",
        "--cost",
        "10",
        "--strategy",
        "min-variance",
        "--compare",
        "equal-weight",
        "risk-parity",
    ]);
    let strategies = got["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 3);
    for run in strategies {
        let name = run["name"].as_str().unwrap();
        let reference = &want["strategies"][name];
        let (mine, theirs) = (
            values(&run["returns"]),
            reference["returns"].as_array().unwrap(),
        );
        assert_eq!(mine.len(), theirs.len(), "{name}: number of daily returns");
        assert_eq!(
            run["returns"].as_object().unwrap().keys().next().unwrap(),
            "2012-01-04"
        );
        for (k, (a, b)) in mine.iter().zip(theirs).enumerate() {
            assert!((a - f(b)).abs() <= 1e-10, "{name} return {k}: {a} vs {b}");
        }
        let (mine, theirs) = (
            run["rebalances"].as_array().unwrap(),
            reference["rebalances"].as_array().unwrap(),
        );
        assert_eq!(mine.len(), theirs.len(), "{name}: rebalances");
        for (a, b) in mine.iter().zip(theirs) {
            assert_eq!(a["date"], b["date"]);
            for key in ["turnover", "cost"] {
                assert!(
                    (f(&a[key]) - f(&b[key])).abs() <= 1e-10,
                    "{name} {key} {a} {b}"
                );
            }
            let weights = values(&a["weights"]);
            for (w, v) in weights.iter().zip(b["weights"].as_array().unwrap()) {
                assert!((w - f(v)).abs() <= 1e-10, "{name} weights on {}", a["date"]);
            }
        }
        let last = *values(&run["equity_curve"]).last().unwrap();
        assert!((last - f(&reference["final_equity"])).abs() <= 1e-9 * last);
    }
}

#[test]
fn the_bookkeeping_adds_up() {
    let got = backtest(&[
        "--start",
        "2019-01-02",
        "--end",
        "2021-12-31",
        "--lookback",
        "252",
        "--cost",
        "25",
        "--turnover",
        "0.3",
        "--strategy",
        "max-sharpe --cov ledoit-wolf",
        "--compare",
        "hrp --linkage ward",
        "inverse-volatility --cov oas",
        "min-variance --turnover 0.2 --cost 10",
    ]);
    for run in got["strategies"].as_array().unwrap() {
        let name = run["name"].as_str().unwrap();
        let equity = values(&run["equity_curve"]);
        let returns = values(&run["returns"]);
        let rebalances = run["rebalances"].as_array().unwrap();
        assert_eq!(returns.len() + 1, equity.len());
        // The first allocation is bought from cash: turnover 1, cost 25 bp of equity 1.
        assert!(
            (f(&rebalances[0]["turnover"]) - 1.0).abs() < 1e-12,
            "{name}"
        );
        assert!((equity[0] - (1.0 - 0.0025)).abs() < 1e-12, "{name}");
        let compounded = returns.iter().fold(equity[0], |e, r| e * (1.0 + r));
        assert!(
            (compounded - equity.last().unwrap()).abs() < 1e-10,
            "{name}"
        );
        let dates: Vec<&String> = run["equity_curve"].as_object().unwrap().keys().collect();
        for (i, r) in rebalances.iter().enumerate() {
            let turnover = f(&r["turnover"]);
            if i > 0 {
                assert!(
                    turnover <= 0.3 + 1e-12,
                    "{name}: turnover {turnover} over the limit"
                );
            }
            // Cost = 25 bp × turnover × the equity before it was paid.
            let k = dates.iter().position(|d| **d == r["date"]).unwrap();
            let before = equity[k] + f(&r["cost"]);
            assert!(
                (f(&r["cost"]) - 0.0025 * turnover * before).abs() < 1e-14,
                "{name}"
            );
            let total: f64 = values(&r["weights"]).iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{name}: weights sum to {total}");
        }
        // Monthly: the first session of each month from 2019-02 to 2021-12, and the first.
        assert_eq!(rebalances.len(), 36, "{name}");
        assert_eq!(rebalances[1]["date"], "2019-02-01");
        let report = &run["risk_report"];
        assert_eq!(
            report["observations"].as_u64().unwrap() as usize,
            returns.len()
        );
        assert!(f(&report["max_drawdown"]) > 0.0);
    }
    let benchmark = &got["benchmark"];
    assert_eq!(benchmark["name"], "SP500");
    assert!(benchmark["rebalances"].as_array().unwrap().is_empty());
    assert_eq!(values(&benchmark["equity_curve"])[0], 1.0);
}

#[test]
fn schedules_whole_shares_and_expanding_windows() {
    let base = [
        "--start",
        "2021-01-04",
        "--end",
        "2021-12-31",
        "--lookback",
        "expanding",
    ];
    let count = |schedule: &str| {
        let mut args = base.to_vec();
        args.extend(["--rebalance", schedule, "--strategy", "equal-weight"]);
        backtest(&args)["strategies"][0]["rebalances"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("monthly"), 12);
    assert_eq!(count("quarterly"), 4);
    assert_eq!(count("weekly"), 52);
    assert_eq!(count("21"), 12);
    assert_eq!(count("daily"), 252);
    assert_eq!(count("dates:2021-03-06,2021-07-01"), 3);
    let mut args = base.to_vec();
    args.extend(["--invest", "10000", "--strategy", "equal-weight"]);
    let invested = backtest(&args);
    for r in invested["strategies"][0]["rebalances"].as_array().unwrap() {
        let total: f64 = values(&r["weights"]).iter().sum();
        assert!(
            total < 1.0 && total > 0.8,
            "whole shares leave some cash: {total}"
        );
    }
}

/// Prices of five tickers from 2019-06-14 on are scaled by a factor that changes daily, in a
/// second store; rebalances up to that date must not notice.
#[test]
fn no_rebalance_sees_a_later_price() {
    let tickers = ["AAPL", "MSFT", "KO", "PG", "JNJ"];
    let mut args = vec![
        "prices",
        "--json",
        "--start",
        "2010-01-04",
        "--end",
        "2022-12-28",
    ];
    args.extend(tickers);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let prices: Value = serde_json::from_str(&out).unwrap();
    let cut = "2019-06-14";
    let dates: Vec<&String> = prices["AAPL"].as_object().unwrap().keys().collect();
    let mut csv = format!("Date,{}\n", tickers.join(","));
    for (k, date) in dates.iter().enumerate() {
        csv.push_str(date);
        for (j, t) in tickers.iter().enumerate() {
            let mut p = f(&prices[*t][*date]);
            if date.as_str() >= cut {
                p *= 1.0 + 0.2 * (((k * 7 + j * 13) % 11) as f64 / 11.0 - 0.5);
            }
            csv.push_str(&format!(",{p}"));
        }
        csv.push('\n');
    }
    let other = tempfile::tempdir().unwrap();
    let file = other.path().join("changed.csv");
    std::fs::write(&file, csv).unwrap();
    let (code, _, err) = run_in(
        other.path(),
        &["import-csv", file.to_str().unwrap(), "--replace"],
    );
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let run_on = |home: &Path| {
        let mut args = vec!["backtest", "--json", "--tickers"];
        args.extend(tickers);
        args.extend([
            "--start",
            "2016-01-04",
            "--end",
            "2020-12-31",
            "--lookback",
            "252",
            "--strategy",
            "min-variance",
            "--compare",
            "risk-parity",
            "hrp",
            "max-sharpe --risk-free 0.01",
        ]);
        let (code, out, err) = run_in(home, &args);
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let (before, after) = (run_on(home()), run_on(other.path()));
    for (a, b) in before["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .zip(after["strategies"].as_array().unwrap())
    {
        let name = a["name"].as_str().unwrap();
        let (ra, rb) = (
            a["rebalances"].as_array().unwrap(),
            b["rebalances"].as_array().unwrap(),
        );
        let mut checked = 0;
        for (x, y) in ra.iter().zip(rb) {
            assert_eq!(x["date"], y["date"]);
            if x["date"].as_str().unwrap() <= cut {
                assert_eq!(
                    x["weights"], y["weights"],
                    "{name} on {} saw a later price",
                    x["date"]
                );
                checked += 1;
            } else {
                assert_ne!(
                    x["weights"], y["weights"],
                    "{name} on {}: the change did not reach it",
                    x["date"]
                );
                break;
            }
        }
        assert_eq!(checked, 42, "{name}: rebalances from 2016-01 to 2019-06");
    }
}

#[test]
fn bad_backtests_are_refused_with_the_fix() {
    let tickers = ["backtest", "--tickers", "AAPL", "MSFT", "KO"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = tickers.to_vec();
        args.extend(extra);
        args
    };
    refused(&[
        (with(&["--lookback", "5"]), "from 20 to"),
        (with(&["--lookback", "NaN"]), "expanding"),
        (with(&["--lookback", "1e308"]), "lookback"),
        (with(&["--rebalance", "yearly"]), "rebalance schedule"),
        (with(&["--rebalance", "0"]), "rebalance schedule"),
        (with(&["--rebalance", "dates:2021-02-30"]), "bad date"),
        (with(&["--rebalance", "dates:"]), "1 to"),
        (with(&["--cost", "NaN"]), "basis points"),
        (with(&["--cost=-1"]), "basis points"),
        (with(&["--cost", "1e300"]), "basis points"),
        (with(&["--turnover", "inf"]), "turnover"),
        (with(&["--turnover=-0.1"]), "turnover"),
        (with(&["--prob", "0"]), "prob"),
        (
            with(&["--strategy", "backtest"]),
            "not an allocation method",
        ),
        (
            with(&["--strategy", "covariance"]),
            "not an allocation method",
        ),
        (with(&["--strategy", ""]), "empty strategy"),
        (
            with(&["--strategy", "min-variance \"--cov"]),
            "unclosed quote",
        ),
        (with(&["--strategy", "hrp AAPL"]), "tickers of its own"),
        (
            with(&["--strategy", "min-variance --start 2020-01-02"]),
            "--start cannot be part",
        ),
        (
            with(&["--strategy", "equal-weight --returns log"]),
            "simple returns",
        ),
        (
            with(&["--strategy", "min-variance --current AAPL=1"]),
            "drifted weights",
        ),
        (with(&["--strategy", "target-return"]), "needs --target"),
        (
            with(&["--strategy", "min-variance --cov bogus"]),
            "strategy \"min-variance --cov bogus\"",
        ),
        (
            with(&["--strategy", "risk-parity --budgets NOPE=1"]),
            "budgets",
        ),
        (
            with(&["--strategy", "hrp", "--compare", "hrp"]),
            "listed twice",
        ),
        (vec!["backtest", "--tickers", "AAPL"], "at least 2"),
        (vec!["backtest", "--tickers", "AAPL,AAPL"], "listed twice"),
        (vec!["backtest", "--tickers", "AAPL", "NOPE"], "NOPE"),
        (vec!["backtest"], "--tickers"),
        (with(&["--benchmark", "NOPE"]), "NOPE"),
        (with(&["--start", "2030-01-02"]), "--start"),
        (with(&["--start", "1990-03-01"]), "lookback"),
        (with(&["--start", "2022-12-27"]), "at least four"),
        (with(&["--invest", "NaN"]), "invest"),
        (with(&["--allocation", "lp"]), "--invest"),
        (
            with(&[
                "--strategy",
                "max-sharpe --risk-free 0.9",
                "--start",
                "2020-01-02",
            ]),
            "rebalance of 2020-01-02",
        ),
    ]);
}

#[test]
fn the_figure_and_the_tear_sheet_are_written_even_for_a_short_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("bt.png");
    let html = dir.path().join("bt.html");
    let short = [
        "--tickers",
        "AAPL,KO,PG",
        "--start",
        "2022-10-03",
        "--end",
        "2022-12-28",
        "--lookback",
        "60",
        "--strategy",
        "equal-weight",
        "--compare",
        "min-variance",
    ];
    let save = format!("--save={}", png.display());
    let mut args = vec!["plot-backtest", save.as_str()];
    args.extend(short);
    let (code, _, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let report = format!("--report={}", html.display());
    let mut args = vec!["backtest", report.as_str()];
    args.extend(short);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("wrote the tear sheet"), "{out}");
    let text = std::fs::read_to_string(&html).unwrap();
    // Fewer than 126 returns: the rolling measures use the whole backtest instead of nothing.
    assert!(text.starts_with("<!DOCTYPE html>") && text.contains("Rolling volatility ("));
    assert!(!text.contains("(126 sessions)"));
}
