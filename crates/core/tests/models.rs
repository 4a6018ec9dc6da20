//! Risk models and allocation methods against the Python libraries users compare with.
//!
//! `fixtures/models.json` is written by `tools/reference/make_models_reference.py` (scikit-learn
//! 1.9.1, PyPortfolioOpt 1.6.0, skfolio 1.12.2; CI re-runs it with `--check`). Tolerances:
//! - covariance estimators (closed forms): 1e-10 relative to the matrix's largest entry, and the
//!   shrinkage intensity to 1e-10 relative;
//! - HRP (closed form once the dendrogram is fixed): 1e-10 per weight; HERC (skfolio's defaults)
//!   the same;
//! - risk parity: 1e-6 per weight against skfolio's Clarabel solution (the bar), and the
//!   risk contributions equal to 1e-10 (Stratus's own solution is exact);
//! - maximum diversification: skfolio's solver stops early, so its diversification ratio may not
//!   exceed Stratus's by more than 1e-9 relative and its weights lie within 1e-4;
//! - inverse volatility: 1e-12 per weight.

mod common;

use common::d;
use faer::Mat;
use serde_json::Value;
use stratus_core::PriceSeries;
use stratus_core::allocation::{
    diversification_ratio, hierarchical_equal_risk_contribution, hierarchical_risk_parity,
    inverse_volatility, max_diversification, risk_budgeting, risk_contributions,
};
use stratus_core::cluster::Linkage;
use stratus_core::covariance::Par;
use stratus_core::risk_models::{RiskModel, estimate_covariance};

fn fixture() -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn matrix_of(rows: &Value) -> Mat<f64> {
    let rows = rows.as_array().unwrap();
    let n = rows[0].as_array().unwrap().len();
    Mat::from_fn(rows.len(), n, |i, j| rows[i][j].as_f64().unwrap())
}

fn bundled_returns(universe: &Value) -> Mat<f64> {
    let tickers: Vec<String> = universe["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let (start, end) = (
        d(universe["start"].as_str().unwrap()),
        d(universe["end"].as_str().unwrap()),
    );
    let returns: Vec<Vec<f64>> = tickers
        .iter()
        .map(|t| common::series("sp500_dataset.csv.gz", t, start, end).simple_returns())
        .collect();
    assert_eq!(returns[0].len() as u64, universe["days"].as_u64().unwrap());
    let _ = PriceSeries::simple_returns;
    Mat::from_fn(returns[0].len(), tickers.len(), |t, j| returns[j][t])
}

fn universes() -> Vec<(&'static str, Mat<f64>, Value)> {
    let f = fixture();
    vec![
        (
            "bundled",
            bundled_returns(&f["bundled"]),
            f["bundled"].clone(),
        ),
        (
            "synthetic",
            matrix_of(&f["synthetic"]["returns"]),
            f["synthetic"].clone(),
        ),
        ("wide", matrix_of(&f["wide"]["returns"]), f["wide"].clone()),
    ]
}

fn model_named(name: &str) -> RiskModel {
    match name {
        "sample" => RiskModel::Sample,
        "ledoit-wolf" => RiskModel::LedoitWolf,
        "oas" => RiskModel::Oas,
        "ledoit-wolf-cc" => RiskModel::LedoitWolfConstantCorrelation,
        "ledoit-wolf-sf" => RiskModel::LedoitWolfSingleFactor,
        "exp" => RiskModel::Exponential { span: 180.0 },
        "exp-30" => RiskModel::Exponential { span: 30.0 },
        "semi" => RiskModel::Semi { benchmark: 0.0 },
        "semi-0.001" => RiskModel::Semi { benchmark: 0.001 },
        other => panic!("unknown model {other}"),
    }
}

#[test]
fn covariance_estimators_match_scikit_learn_and_pyportfolioopt_to_1e10() {
    let mut checked = 0;
    for (universe, returns, reference) in universes() {
        for (name, want) in reference["covariance"].as_object().unwrap() {
            let got =
                estimate_covariance(returns.as_ref(), model_named(name), 252.0, Par::Seq).unwrap();
            let want_matrix = matrix_of(&want["matrix"]);
            let n = want_matrix.nrows();
            let largest = (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| want_matrix[(i, j)].abs())
                .fold(0.0, f64::max);
            for i in 0..n {
                for j in 0..n {
                    let err = (got.matrix[(i, j)] - want_matrix[(i, j)]).abs() / largest;
                    assert!(
                        err <= 1e-10,
                        "{universe} {name} [{i},{j}]: got {}, want {}, rel err {err:e}",
                        got.matrix[(i, j)],
                        want_matrix[(i, j)]
                    );
                }
            }
            if let Some(s) = want["shrinkage"].as_f64() {
                let got_s = got.shrinkage.expect("a shrinkage intensity");
                assert!(
                    (got_s - s).abs() <= 1e-10 * s.abs(),
                    "{universe} {name} shrinkage {got_s} vs {s}"
                );
            }
            assert!(got.repair.is_none(), "{universe} {name} needed no repair");
            checked += 1;
        }
    }
    assert_eq!(checked, 9 + 9 + 4);
}

#[test]
fn allocations_match_pyportfolioopt_and_skfolio() {
    for (universe, returns, reference) in universes().into_iter().take(2) {
        let cov = estimate_covariance(returns.as_ref(), RiskModel::Sample, 1.0, Par::Seq)
            .unwrap()
            .matrix;
        let alloc = &reference["allocation"];
        let vector = |v: &Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        for (name, linkage) in [
            ("single", Linkage::Single),
            ("complete", Linkage::Complete),
            ("average", Linkage::Average),
            ("ward", Linkage::Ward),
        ] {
            let (got, _) = hierarchical_risk_parity(cov.as_ref(), linkage).unwrap();
            for (i, (g, w)) in got.iter().zip(vector(&alloc["hrp"][name])).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-10,
                    "{universe} hrp {name} weight {i}: {g} vs {w}"
                );
            }
        }
        let (herc, clusters) =
            hierarchical_equal_risk_contribution(cov.as_ref(), Linkage::Ward).unwrap();
        assert!(clusters >= 2);
        for (i, (g, w)) in herc.iter().zip(vector(&alloc["herc"])).enumerate() {
            assert!(
                (g - w).abs() <= 1e-10,
                "{universe} herc weight {i}: {g} vs {w} ({clusters} clusters)"
            );
        }
        let parity = risk_budgeting(cov.as_ref(), None).unwrap();
        for (i, (g, w)) in parity.iter().zip(vector(&alloc["risk_parity"])).enumerate() {
            assert!(
                (g - w).abs() <= 1e-6,
                "{universe} risk parity {i}: {g} vs {w}"
            );
        }
        let n = parity.len() as f64;
        for c in risk_contributions(cov.as_ref(), &parity) {
            assert!((c - 1.0 / n).abs() <= 1e-10, "{universe} contribution {c}");
        }
        let inverse = inverse_volatility(cov.as_ref()).unwrap();
        for (g, w) in inverse.iter().zip(vector(&alloc["inverse_volatility"])) {
            assert!((g - w).abs() <= 1e-12, "{universe} inverse volatility");
        }
        let diversified = max_diversification(cov.as_ref()).unwrap();
        let theirs = vector(&alloc["max_diversification"]);
        let (ours_ratio, their_ratio) = (
            diversification_ratio(cov.as_ref(), &diversified),
            diversification_ratio(cov.as_ref(), &theirs),
        );
        assert!(
            their_ratio <= ours_ratio * (1.0 + 1e-9),
            "{universe}: skfolio's ratio {their_ratio} beats ours {ours_ratio}"
        );
        for (g, w) in diversified.iter().zip(&theirs) {
            assert!(
                (g - w).abs() <= 1e-4,
                "{universe} max diversification {g} vs {w}"
            );
        }
    }
}

/// Measures: 1e-10 relative, except EVaR/EDaR (skfolio finds the optimal t with brentq, so its
/// value is flat-optimal to about 1e-9) and the shares of risk, 1e-10 absolute.
#[test]
fn risk_reports_match_skfolio() {
    use stratus_core::measures::{cvar_contributions, risk_report};
    for (universe, returns, reference) in universes().into_iter().take(2) {
        let report = &reference["report"];
        let columns: Vec<usize> = if universe == "bundled" {
            vec![0, 9, 19]
        } else {
            vec![0, 1, 2, 3]
        };
        let series: Vec<Vec<f64>> = columns
            .iter()
            .map(|&j| returns.col(j).iter().copied().collect())
            .collect();
        let weights: Vec<f64> = report["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_f64().unwrap())
            .collect();
        let portfolio: Vec<f64> = (0..series[0].len())
            .map(|t| weights.iter().zip(&series).map(|(w, s)| w * s[t]).sum())
            .collect();
        let names: Vec<&String> = report["assets"].as_object().unwrap().keys().collect();
        let mut cases: Vec<(String, &Vec<f64>, &Value)> = names
            .iter()
            .zip(&series)
            .map(|(n, s)| (n.to_string(), s, &report["assets"][n.as_str()]))
            .collect();
        cases.push(("portfolio".into(), &portfolio, &report["portfolio"]));
        for (name, r, want) in cases {
            let got = serde_json::to_value(risk_report(r, 0.0, 0.05).unwrap()).unwrap();
            let kappa = 0.05 * r.len() as f64;
            for (key, w) in want.as_object().unwrap() {
                let (g, w) = (got[key].as_f64().unwrap(), w.as_f64().unwrap());
                if key == "historical_var" && kappa.fract() == 0.0 {
                    // With α·T a whole number skfolio 1.12 takes the next order statistic (the
                    // upper quantile); Stratus keeps the k = ⌈α·T⌉-th largest loss of
                    // reference-values.md (the lower quantile, whose tail mean is the CVaR).
                    let mut losses: Vec<f64> = r.iter().map(|x| -x).collect();
                    losses.sort_by(|a, b| b.total_cmp(a));
                    assert_eq!(g, losses[kappa as usize - 1], "{universe} {name} VaR");
                    assert_eq!(w, losses[kappa as usize], "skfolio's rule changed");
                    continue;
                }
                let tol = if key.ends_with("evar") || key == "edar" {
                    1e-8
                } else {
                    1e-10
                };
                assert!(
                    (g - w).abs() <= tol * w.abs().max(1e-300),
                    "{universe} {name} {key}: {g} vs {w}"
                );
            }
        }
        let shares = cvar_contributions(&series, &weights, 0.05);
        for (g, w) in shares
            .iter()
            .zip(report["cvar_contribution"].as_array().unwrap())
        {
            assert!(
                (g - w.as_f64().unwrap()).abs() < 1e-10,
                "{universe} cvar share"
            );
        }
    }
}

/// Whole shares: greedy equal to PyPortfolioOpt's `greedy_portfolio` share for share; the exact
/// lp rounding at least as good as HiGHS on PyPortfolioOpt's `lp_portfolio` (objective to 1e-6).
#[test]
fn discrete_allocation_matches_pyportfolioopt() {
    use stratus_core::discrete::{Rounding, allocate, lp_objective};
    let f = fixture();
    let d = &f["bundled"]["discrete"];
    let vector = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (weights, prices) = (vector(&d["weights"]), vector(&d["prices"]));
    for total in ["10000", "100000"] {
        let amount: f64 = total.parse().unwrap();
        let want = &d[total];
        let greedy = allocate(&weights, &prices, amount, Rounding::Greedy).unwrap();
        let want_greedy: Vec<u64> = want["greedy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(greedy.shares, want_greedy, "greedy at {total}");
        assert!((greedy.leftover - want["greedy_leftover"].as_f64().unwrap()).abs() < 1e-6);
        let lp = allocate(&weights, &prices, amount, Rounding::Lp).unwrap();
        assert!(lp.proven_optimal);
        let ours = lp_objective(&weights, &prices, amount, &lp.shares);
        let theirs = want["lp_objective"].as_f64().unwrap();
        assert!(
            ours <= theirs + 1e-6,
            "lp at {total}: ours {ours}, HiGHS {theirs}"
        );
    }
}
