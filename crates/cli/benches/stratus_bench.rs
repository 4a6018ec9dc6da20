//! `cargo bench -p stratus-cli`: prints the benchmark table for the analytics core and the CLI.
//!
//! Each figure is the minimum and median wall time over repeated runs after a warm-up, on one
//! thread (the targets in shared/spec/reference-values.md are for one thread too). The CLI rows
//! spawn the release binary with a fresh data folder: the first run loads the bundled data, the
//! warm runs measure a cached `risk-profile` of four tickers end to end.

#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use faer::Mat;
use stratus_core::covariance::{
    Par, betas, column_means, column_volatilities, correlation_from_covariance, covariance_matrix,
};
use stratus_core::optimize::{Problem, efficient_frontier};
use stratus_core::risk::{historical_cvar, historical_var};
use stratus_core::{NaiveDate, PriceSeries};

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> (Duration, Duration) {
    black_box(work());
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(work());
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[0], samples[samples.len() / 2])
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 1.0 {
        format!("{v:.4}")
    } else {
        format!("{v:.1}")
    }
}

struct Table(Vec<[String; 5]>);

impl Table {
    fn row(&mut self, name: &str, size: &str, (min, median): (Duration, Duration), target_ms: f64) {
        let verdict = if min.as_secs_f64() * 1e3 <= target_ms {
            "yes"
        } else {
            "NO"
        };
        self.0.push([
            name.into(),
            size.into(),
            ms(min),
            ms(median),
            if target_ms.is_nan() {
                "— (for comparison)".into()
            } else {
                format!("≤ {target_ms} ({verdict})")
            },
        ]);
    }

    fn print(&self) {
        println!("| benchmark | size | min ms | median ms | target ms (met) |");
        println!("|---|---|---|---|---|");
        for r in &self.0 {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}

fn twenty_stocks() -> (Mat<f64>, Vec<f64>) {
    let prices = stratus_providers::bundled::prices().expect("bundled data");
    let from: NaiveDate = "2015-01-02".parse().unwrap();
    let to: NaiveDate = "2022-12-28".parse().unwrap();
    let tickers = [
        "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO", "LLY", "MRK", "MSFT",
        "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
    ];
    let series = |t: &str| {
        PriceSeries::new(
            t,
            prices
                .iter()
                .filter(|p| p.ticker == t && p.date >= from && p.date <= to)
                .map(|p| (p.date, p.close)),
        )
        .unwrap()
        .simple_returns()
    };
    let returns: Vec<Vec<f64>> = tickers.iter().map(|t| series(t)).collect();
    let market = series("SP500");
    (
        Mat::from_fn(returns[0].len(), tickers.len(), |t, j| returns[j][t]),
        market,
    )
}

fn main() {
    let mut table = Table(Vec::new());
    let (returns, market) = twenty_stocks();
    let size = format!("{} × {}", returns.ncols(), returns.nrows());
    table.row(
        "μ (annualised means)",
        &size,
        time(2000, || column_means(returns.as_ref())),
        0.08,
    );
    table.row(
        "σ (volatilities)",
        &size,
        time(2000, || column_volatilities(returns.as_ref(), 252.0)),
        0.08,
    );
    table.row(
        "Σ (covariance)",
        &size,
        time(2000, || {
            covariance_matrix(returns.as_ref(), 252.0, Par::Seq)
        }),
        0.08,
    );
    table.row(
        "ρ (correlation)",
        &size,
        time(2000, || {
            correlation_from_covariance(
                covariance_matrix(returns.as_ref(), 252.0, Par::Seq).as_ref(),
            )
        }),
        0.08,
    );
    table.row(
        "β against SP500 (all 20)",
        &size,
        time(2000, || betas(returns.as_ref(), &market)),
        0.08,
    );
    let portfolio: Vec<f64> = (0..returns.nrows())
        .map(|t| (0..20).map(|j| returns[(t, j)]).sum::<f64>() / 20.0)
        .collect();
    table.row(
        "historical VaR + CVaR 95 %",
        "2011 returns",
        time(2000, || {
            (
                historical_var(&portfolio, 0.05).unwrap(),
                historical_cvar(&portfolio, 0.05).unwrap(),
            )
        }),
        0.05,
    );
    // Portfolio optimisation on the 20 stocks (simple-return convention, as the references).
    let mu: Vec<f64> = column_means(returns.as_ref())
        .iter()
        .map(|m| 252.0 * m)
        .collect();
    let problem = Problem::long_only(mu, covariance_matrix(returns.as_ref(), 252.0, Par::Seq));
    table.row(
        "min variance (critical line)",
        "20 assets",
        time(2000, || {
            efficient_frontier(&problem).unwrap().min_variance()
        }),
        0.5,
    );
    table.row(
        "max Sharpe (critical line)",
        "20 assets",
        time(2000, || {
            efficient_frontier(&problem).unwrap().max_sharpe(0.02)
        }),
        0.5,
    );
    table.row(
        "efficient frontier, 50 points",
        "20 assets",
        time(1000, || efficient_frontier(&problem).unwrap().points(50)),
        5.0,
    );
    for (assets, cov_target, opt_target) in [(500usize, 13.0, 30.0), (2000, 170.0, 1000.0)] {
        let universe = stratus_core::synthetic::universe(7, assets, 2520, 3);
        let runs = if assets == 500 { 30 } else { 7 };
        table.row(
            "Σ synthetic (faer lower-triangle, 1 thread)",
            &format!("{assets} × 2520"),
            time(runs, || {
                covariance_matrix(universe.log_returns.as_ref(), 252.0, Par::Seq)
            }),
            cov_target,
        );
        let mean: Vec<f64> = column_means(universe.log_returns.as_ref())
            .iter()
            .map(|m| 252.0 * m)
            .collect();
        let big = Problem::long_only(
            mean,
            covariance_matrix(universe.log_returns.as_ref(), 252.0, Par::Seq),
        );
        let held = efficient_frontier(&big)
            .unwrap()
            .min_variance()
            .weights
            .iter()
            .filter(|w| **w > 0.0)
            .count();
        table.row(
            &format!("long-only min variance ({held} held)"),
            &format!("{assets} × 2520"),
            time(if assets == 500 { 10 } else { 3 }, || {
                efficient_frontier(&big).unwrap().min_variance()
            }),
            opt_target,
        );
    }

    let home = tempfile::tempdir().expect("temporary folder");
    let bin = env!("CARGO_BIN_EXE_stratus");
    let run = || {
        let status = std::process::Command::new(bin)
            .args(["--quiet", "risk-profile", "AAPL", "MSFT", "JPM", "KO"])
            .env("STRATUS_HOME", home.path())
            .status()
            .expect("run stratus");
        assert!(status.success());
    };
    let start = Instant::now();
    run();
    let first = start.elapsed();
    table.row(
        "CLI first run (loads bundled data)",
        "190k prices + 95k yields",
        (first, first),
        2000.0,
    );
    table.row(
        "CLI risk-profile, warm cache (SQLite)",
        "4 tickers",
        time(30, run),
        50.0,
    );

    // The same on DynamoDB Local, when one is running (STRATUS_TEST_DYNAMODB, as for the tests).
    if let Ok(url) = std::env::var("STRATUS_TEST_DYNAMODB") {
        let stratus = |args: &[&str]| {
            let output = std::process::Command::new(bin)
                .args(args)
                .env("STRATUS_HOME", home.path())
                .env(
                    "STRATUS_TABLE_PREFIX",
                    format!("bench{}_", std::process::id()),
                )
                .env("AWS_ENDPOINT_URL", &url)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "local")
                .env("AWS_SECRET_ACCESS_KEY", "local")
                .env("CACHE_MODE", "dynamodb")
                .output()
                .expect("run stratus");
            assert!(
                output.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        stratus(&["--quiet", "cache", "provision"]);
        stratus(&[
            "--quiet", "cache", "migrate", "--from", "sqlite", "--to", "dynamodb",
        ]);
        let run = || stratus(&["--quiet", "risk-profile", "AAPL", "MSFT", "JPM", "KO"]);
        table.row(
            "CLI risk-profile, warm cache (DynamoDB Local)",
            "4 tickers",
            time(30, run),
            f64::NAN,
        );
    }
    table.print();
}
