//! `cargo bench -p stratus-cli --bench backtest_bench`: issue 17's benchmark. Twenty stocks of
//! the bundled data, 2010–2022, minimum variance with Ledoit–Wolf rebalanced monthly from a
//! 756-session lookback — the whole `stratus backtest` command (store reads included) against
//! skfolio's `WalkForward` + `cross_val_predict` in the same run (`tools/bench/backtest_peer.py`,
//! one thread), with the largest weight difference between the two on the same windows.

#![allow(missing_docs, clippy::print_stdout)]

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

#[path = "support/peer.rs"]
mod peer;

const TWENTY: [&str; 20] = [
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO", "LLY", "MRK", "MSFT",
    "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
];

fn run(home: &std::path::Path, args: &[String]) -> String {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home.display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut full = vec!["stratus".to_string()];
    full.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut cli = stratus_cli::args::Cli::try_parse_from(&full).unwrap();
    cli.argv = full.iter().map(std::ffi::OsString::from).collect();
    let code = stratus_cli::run(cli, &lookup, &mut out, &mut err);
    assert_eq!(code, ExitCode::SUCCESS, "{}", String::from_utf8_lossy(&err));
    String::from_utf8(out).unwrap()
}

fn main() {
    let home = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["backtest", "--json", "--tickers"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(TWENTY.iter().map(|s| s.to_string()));
    args.extend(
        [
            "--start",
            "2010-01-04",
            "--end",
            "2022-12-28",
            "--lookback",
            "756",
            "--rebalance",
            "monthly",
            "--strategy",
            "min-variance --cov ledoit-wolf",
        ]
        .map(String::from),
    );
    // The first run seeds the store from the bundled data; it is not timed.
    let first: serde_json::Value = serde_json::from_str(&run(home.path(), &args)).unwrap();
    let mut samples: Vec<Duration> = (0..10)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run(home.path(), &args));
            start.elapsed()
        })
        .collect();
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (best, median) = (ms(samples[0]), ms(samples[samples.len() / 2]));
    let rebalances: Vec<serde_json::Value> = first["strategies"][0]["rebalances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let weights: Vec<f64> = TWENTY
                .iter()
                .map(|t| r["weights"][t].as_f64().unwrap())
                .collect();
            serde_json::json!([r["date"], weights])
        })
        .collect();
    println!("timing skfolio …");
    let peer = peer::python_peer(
        "backtest_peer.py",
        &serde_json::json!({
            "tickers": TWENTY, "runs": 3, "rebalances": rebalances,
        }),
    );
    println!();
    println!(
        "| task | Stratus ms (min / median) | skfolio ms (min / median) | speed-up | target |"
    );
    println!("|---|---|---|---|---|");
    let (peer_text, speedup) = match &peer {
        Some(p) => {
            let t = &p["walk-forward"];
            let (pmin, pmed) = (t[0].as_f64().unwrap(), t[1].as_f64().unwrap());
            (
                format!("{pmin:.0} / {pmed:.0}"),
                format!("{:.0}×", pmin / best),
            )
        }
        None => ("-".into(), "-".into()),
    };
    println!(
        "| backtest: 20 assets, 2010–2022, monthly min variance (Ledoit–Wolf), 756-session lookback, {} rebalances | {best:.1} / {median:.1} | {peer_text} | {speedup} | ≥ 50× |",
        rebalances.len()
    );
    let sweeps = sweep_times(home.path());
    for (workers, seconds, points) in &sweeps {
        println!(
            "| sweep: {points} backtests (5 strategies × 2 risk models × 2 lookbacks × 2 schedules, 20 assets, 2010–2022) over the job system, {workers} local worker(s) | {:.0} | - | - | runs |",
            seconds * 1e3
        );
    }
    if let [(_, one, _), (_, two, _)] = sweeps.as_slice() {
        println!();
        println!("sweep: 2 workers {:.2}× faster than 1", one / two);
    }
    if let Some(p) = &peer {
        println!();
        println!(
            "skfolio folds: {}; on the same 756-return windows the largest weight difference (skfolio's MeanRisk via cvxpy vs Stratus's critical line) is {:.2e}, and Stratus's variance exceeds skfolio's by at most {:.2e} relative (negative: Stratus's minimum is lower on every window)",
            p["folds"],
            p["max-weight-difference"].as_f64().unwrap_or(f64::NAN),
            p["max-variance-excess"].as_f64().unwrap_or(f64::NAN)
        );
    }
}

/// A 40-point sweep on 1 and then 2 local workers, each from a copy of the seeded data folder (a
/// sweep's job id follows its grid, so a second run in the same folder would only resume).
fn sweep_times(seeded: &std::path::Path) -> Vec<(u16, f64, usize)> {
    let mut out = Vec::new();
    for workers in [1u16, 2] {
        let home = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(seeded).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, home.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        let grid = home.path().join("grid.toml");
        std::fs::write(
            &grid,
            format!(
                "strategies = [\"min-variance\", \"max-sharpe\", \"risk-parity\", \"hrp\", \"inverse-volatility\"]\n\
                 risk_models = [\"sample\", \"ledoit-wolf\"]\nlookbacks = [504, 756]\n\
                 rebalances = [\"monthly\", \"quarterly\"]\nworkers = {workers}\n"
            ),
        )
        .unwrap();
        let mut args: Vec<String> = ["backtest", "--json", "--tickers"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(TWENTY.iter().map(|s| s.to_string()));
        args.extend(["--start", "2010-01-04", "--end", "2022-12-28", "--sweep"].map(String::from));
        args.push(grid.display().to_string());
        println!("timing a sweep on {workers} worker(s) …");
        let start = Instant::now();
        let result: serde_json::Value = serde_json::from_str(&run(home.path(), &args)).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        out.push((
            workers,
            seconds,
            result["points"].as_array().map_or(0, Vec::len),
        ));
    }
    out
}
