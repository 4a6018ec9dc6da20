//! Constrained portfolios and whole-share roundings end to end against PyPortfolioOpt (cvxpy +
//! Clarabel at 1e-12) from `core/tests/fixtures/models.json`: weights to 1e-6; with L2 and costs,
//! the objective PyPortfolioOpt minimised to 1e-9 relative. Also turnover, leverage, conflicting
//! constraints named, and the roundings against PyPortfolioOpt's `DiscreteAllocation`.

#[path = "support/models_common.rs"]
mod common;

use common::*;
use serde_json::Value;

fn sector_args(want: &Value) -> Vec<String> {
    let sectors: Vec<String> = want["sectors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, s)| format!("{t}={}", s.as_str().unwrap()))
        .collect();
    let limits = |key: &str| -> String {
        want[key]
            .as_object()
            .unwrap()
            .iter()
            .map(|(s, w)| format!("{s}={}", f(w)))
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        "--sectors".into(),
        sectors.join(","),
        "--sector-max".into(),
        limits("sector_max"),
        "--sector-min".into(),
        limits("sector_min"),
    ]
}

fn close_weights(got: &Value, want: &Value, what: &str) {
    for (i, (g, w)) in weights(got)
        .iter()
        .zip(want.as_array().unwrap())
        .enumerate()
    {
        assert!((g - f(w)).abs() <= 1e-6, "{what} {}: {g} vs {w}", TWENTY[i]);
    }
}

/// Clarabel (ours, 1e-10) against PyPortfolioOpt on cvxpy + Clarabel (1e-12): weights to 1e-6;
/// with L2 and costs, the objective PyPortfolioOpt minimised to 1e-9 relative.
#[test]
fn constrained_portfolios_equal_pyportfolioopt() {
    let reference = fixture();
    let want = &reference["bundled"]["constrained"];
    let sectors = sector_args(want);
    let with = |extra: &[&str]| -> Value {
        let mut args: Vec<&str> = sectors.iter().map(String::as_str).collect();
        args.extend(extra);
        twenty("optimize-portfolio", &args)
    };
    let got = with(&[]);
    assert_eq!(got["solver"], "interior point (dense QP)");
    close_weights(&got, &want["min_variance_sectors"], "min variance");
    let got = with(&["--target", "0.15", "--constraint", "AAPL + MSFT <= 0.08"]);
    close_weights(&got, &want["target_0.15_sectors_aapl_msft_0.08"], "target");
    let got = with(&["--sharpe", "--risk-free", "0.02"]);
    close_weights(&got, &want["max_sharpe_0.02_sectors"], "max Sharpe");
    // L2 + 10 bps costs from an equal-weight book.
    let current: Vec<String> = TWENTY.iter().map(|t| format!("{t}=0.05")).collect();
    let current = current.join(",");
    let got = twenty(
        "optimize-portfolio",
        &["--l2", "0.1", "--cost", "10", "--current", &current],
    );
    let cov = twenty("covariance", &[]);
    let w = weights(&got);
    let objective = |w: &[f64]| -> f64 {
        let mut v = 0.0;
        for i in 0..20 {
            for j in 0..20 {
                v += w[i] * f(&cov["covariance_matrix"][i][j]) * w[j];
            }
        }
        v + 0.1 * w.iter().map(|x| x * x).sum::<f64>()
            + 0.001 * w.iter().map(|x| (x - 0.05).abs()).sum::<f64>()
    };
    let theirs = f(&want["min_variance_l2_0.1_cost_10bps"]["objective"]);
    assert!(
        objective(&w) <= theirs * (1.0 + 1e-9),
        "ours {} vs PyPortfolioOpt {theirs}",
        objective(&w)
    );
    close_weights(
        &got,
        &want["min_variance_l2_0.1_cost_10bps"]["weights"],
        "L2 + costs",
    );
    assert!((f(&got["turnover"]) - w.iter().map(|x| (x - 0.05).abs()).sum::<f64>()).abs() < 1e-12);
}

#[test]
fn turnover_leverage_and_conflicts() {
    let current: Vec<String> = TWENTY.iter().map(|t| format!("{t}=0.05")).collect();
    let current = current.join(",");
    let got = twenty(
        "optimize-portfolio",
        &["--current", &current, "--turnover", "0.2"],
    );
    assert!(f(&got["turnover"]) <= 0.2 + 1e-8);
    let long_short = twenty(
        "max-return",
        &[
            "--min-weight=-0.2",
            "--max-weight",
            "0.5",
            "--leverage",
            "1.6",
        ],
    );
    let w = weights(&long_short);
    assert!(w.iter().map(|x| x.abs()).sum::<f64>() <= 1.6 + 1e-8);
    assert!(w.iter().any(|x| *x < -0.1) && (w.iter().sum::<f64>() - 1.0).abs() < 1e-8);
    let frontier = twenty(
        "efficient-frontier",
        &["--constraint", "AAPL + MSFT <= 0.1", "--steps", "4"],
    );
    for point in frontier.as_array().unwrap() {
        let w = weights(point);
        assert!(w[0] + w[12] <= 0.1 + 1e-8);
    }
    refused(&[
        (
            vec![
                "opt",
                "KO",
                "PG",
                "JNJ",
                "--constraint",
                "KO + PG >= 0.9",
                "--constraint",
                "JNJ >= 0.2",
            ],
            "\"KO + PG >= 0.9\" (--constraint); \"JNJ >= 0.2\" (--constraint)",
        ),
        (
            vec![
                "opt",
                "KO",
                "PG",
                "--sharpe",
                "--risk-free",
                "0.9",
                "--l2",
                "0",
            ],
            "risk-free rate",
        ),
        (
            vec![
                "opt",
                "KO",
                "PG",
                "--sharpe",
                "--cost",
                "5",
                "--current",
                "KO=1",
            ],
            "--sharpe",
        ),
        (vec!["opt", "KO", "PG", "--turnover", "0.1"], "--current"),
        (
            vec!["opt", "KO", "PG", "--sector-max", "A=0.5"],
            "--sectors",
        ),
        (
            vec![
                "opt",
                "KO",
                "PG",
                "--sectors",
                "KO=A,PG=B",
                "--sector-max",
                "C=0.5",
            ],
            "\"C\"",
        ),
        (vec!["opt", "KO", "PG", "--constraint", "XOM <= 0.1"], "XOM"),
        (
            vec!["opt", "KO", "PG", "--constraint", "KO < 0.1"],
            "--constraint",
        ),
        (vec!["opt", "KO", "PG", "--leverage", "0.5"], "--leverage"),
        (vec!["opt", "KO", "PG", "--min-weight=-2"], "--min-weight"),
        (
            vec!["opt", "KO", "PG", "--l2", "1", "--max-assets", "1"],
            "--max-assets",
        ),
        (vec!["opt-cvar", "KO", "PG", "--l2", "1"], "optimize-cvar"),
    ]);
}

#[test]
fn whole_share_roundings() {
    let cash = |rounding: &str| -> (f64, Value) {
        let got = twenty(
            "optimize-portfolio",
            &["--invest", "10000", "--allocation", rounding],
        );
        (f(&got["cash"]), got)
    };
    let (floor, _) = cash("floor");
    let (greedy, g) = cash("greedy");
    let (lp, l) = cash("lp");
    assert!(greedy <= floor && lp <= floor, "{floor} {greedy} {lp}");
    assert_eq!(g["rounding"], "greedy");
    assert_eq!(l["rounding"], "lp");
    assert_eq!(l["rounding_proven"], true);
    let achieved: f64 = l["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| f(&h["achieved_weight"]))
        .sum();
    assert!((achieved + lp / 10000.0 - 1.0).abs() < 1e-9);
    refused(&[
        (vec!["opt", "KO", "PG", "--allocation", "lp"], "--invest"),
        (
            vec![
                "opt",
                "KO",
                "PG",
                "--invest",
                "1000",
                "--allocation",
                "round",
            ],
            "--allocation",
        ),
        (
            vec![
                "max-return",
                "KO",
                "PG",
                "JNJ",
                "--min-weight=-0.5",
                "--leverage",
                "2",
                "--invest",
                "1000",
            ],
            "long-only",
        ),
    ]);
}
