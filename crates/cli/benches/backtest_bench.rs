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
    let cli = stratus_cli::args::Cli::try_parse_from(full).unwrap();
    let code = stratus_cli::run(cli, &lookup, &mut out, &mut err);
    assert_eq!(code, ExitCode::SUCCESS, "{}", String::from_utf8_lossy(&err));
    String::from_utf8(out).unwrap()
}

fn python_peer(spec: &serde_json::Value) -> Option<serde_json::Value> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench/backtest_peer.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(spec.to_string())
        .output()
        .ok()?;
    if !output.status.success() {
        println!(
            "(Python peer unavailable: {})",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
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
    let peer = python_peer(&serde_json::json!({
        "tickers": TWENTY, "runs": 3, "rebalances": rebalances,
    }));
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
    if let Some(p) = &peer {
        println!();
        println!(
            "skfolio folds: {}; largest weight difference on the same 756-return windows (skfolio's MeanRisk via cvxpy vs Stratus's critical line): {:.2e}",
            p["folds"],
            p["max-weight-difference"].as_f64().unwrap_or(f64::NAN)
        );
    }
}
