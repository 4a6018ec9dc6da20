//! Risk models and allocation verbs end to end (bundled data through the store) against the
//! Python libraries' values in `core/tests/fixtures/models.json` (scikit-learn, PyPortfolioOpt,
//! skfolio; see tools/reference/make_models_reference.py). Tolerances: covariance entries 1e-10
//! relative to the matrix's largest entry (closed forms); HRP weights 1e-10; risk parity 1e-6 per
//! weight (the bar against skfolio's solver); inverse volatility 1e-12. Constraints and
//! whole shares are in `models_constrained.rs`.

#[path = "support/models_common.rs"]
mod common;

use std::process::ExitCode;

use common::*;
use serde_json::Value;
#[test]
fn covariance_estimators_equal_scikit_learn_and_pyportfolioopt() {
    let reference = fixture();
    let models = &reference["bundled"]["covariance"];
    for (flag, key, extra) in [
        ("sample", "sample", vec![]),
        ("ledoit-wolf", "ledoit-wolf", vec![]),
        ("oas", "oas", vec![]),
        ("ledoit-wolf-cc", "ledoit-wolf-cc", vec![]),
        ("ledoit-wolf-sf", "ledoit-wolf-sf", vec![]),
        ("exp", "exp", vec![]),
        ("exp", "exp-30", vec!["--span", "30"]),
        ("semi", "semi", vec![]),
        ("semi", "semi-0.001", vec!["--benchmark", "0.001"]),
    ] {
        let mut args = vec!["--cov", flag];
        args.extend(extra);
        let got = twenty("covariance", &args);
        let want = &models[key]["matrix"];
        let largest = want
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(f))
            .fold(0.0, |a: f64, b| a.max(b.abs()));
        for i in 0..20 {
            for j in 0..20 {
                let (g, w) = (f(&got["covariance_matrix"][i][j]), f(&want[i][j]));
                assert!(
                    (g - w).abs() <= 1e-10 * largest,
                    "{key} [{i},{j}]: {g} vs {w}"
                );
            }
        }
        match models[key]["shrinkage"].as_f64() {
            Some(s) => {
                let got_s = f(&got["estimator"]["shrinkage"]);
                assert!(
                    (got_s - s).abs() <= 1e-10 * s,
                    "{key} shrinkage {got_s} vs {s}"
                );
            }
            None if key == "sample" => assert!(got.get("estimator").is_none()),
            None => assert_eq!(got["estimator"]["model"], flag),
        }
    }
    // The correlation of a shrunk covariance is its normalisation.
    let corr = twenty("correlation", &["--cov", "ledoit-wolf"]);
    let cov = &models["ledoit-wolf"]["matrix"];
    let want = f(&cov[0][12]) / (f(&cov[0][0]) * f(&cov[12][12])).sqrt();
    assert!((f(&corr["correlation_matrix"][0][12]) - want).abs() < 1e-12);
}

#[test]
fn allocation_verbs_equal_pyportfolioopt_and_skfolio() {
    let reference = fixture();
    let alloc = &reference["bundled"]["allocation"];
    for linkage in ["single", "complete", "average", "ward"] {
        let got = weights(&twenty("hrp", &["--linkage", linkage]));
        for (i, (g, w)) in got
            .iter()
            .zip(alloc["hrp"][linkage].as_array().unwrap())
            .enumerate()
        {
            assert!(
                (g - f(w)).abs() <= 1e-10,
                "hrp {linkage} {}: {g} vs {w}",
                TWENTY[i]
            );
        }
    }
    let herc = weights(&twenty("herc", &[]));
    for (i, (g, w)) in herc
        .iter()
        .zip(alloc["herc"].as_array().unwrap())
        .enumerate()
    {
        assert!((g - f(w)).abs() <= 1e-10, "herc {}: {g} vs {w}", TWENTY[i]);
    }
    let parity = twenty("risk-parity", &[]);
    assert!(
        parity["solver"]
            .as_str()
            .unwrap()
            .contains("risk budgeting")
    );
    for (g, w) in weights(&parity)
        .iter()
        .zip(alloc["risk_parity"].as_array().unwrap())
    {
        assert!((g - f(w)).abs() <= 1e-6, "risk parity {g} vs {w}");
    }
    for (g, w) in weights(&twenty("inverse-volatility", &[]))
        .iter()
        .zip(alloc["inverse_volatility"].as_array().unwrap())
    {
        assert!((g - f(w)).abs() <= 1e-12);
    }
    for (g, w) in weights(&twenty("max-diversification", &[]))
        .iter()
        .zip(alloc["max_diversification"].as_array().unwrap())
    {
        assert!((g - f(w)).abs() <= 1e-4, "max diversification {g} vs {w}");
    }
    let equal = weights(&twenty("equal-weight", &["--invest", "100000"]));
    assert!(equal.iter().all(|w| (w - 0.05).abs() < 1e-15));
}

#[test]
fn risk_budgets_are_met_and_shrinkage_changes_the_optimum() {
    let mut args = vec!["risk-parity", "AAPL", "MSFT", "XOM", "--json"];
    args.extend(WINDOW);
    args.extend(["--returns", "simple", "--budgets", "aapl=2,MSFT=1,XOM=1"]);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let got: Value = serde_json::from_str(&out).unwrap();
    let cov = twenty("covariance", &[]);
    let idx = [0usize, 12, 19];
    let w: Vec<f64> = got["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| f(&h["allocation"]))
        .collect();
    let marginal: Vec<f64> = (0..3)
        .map(|a| {
            (0..3)
                .map(|b| f(&cov["covariance_matrix"][idx[a]][idx[b]]) * w[b])
                .sum()
        })
        .collect();
    let variance: f64 = (0..3).map(|a| w[a] * marginal[a]).sum();
    for (a, budget) in [0.5, 0.25, 0.25].iter().enumerate() {
        assert!((w[a] * marginal[a] / variance - budget).abs() < 1e-10);
    }
    let plain = twenty("optimize-portfolio", &[]);
    let shrunk = twenty("optimize-portfolio", &["--cov", "ledoit-wolf"]);
    assert_eq!(shrunk["covariance"]["model"], "ledoit-wolf");
    assert!(plain.get("covariance").is_none());
    assert_ne!(weights(&plain), weights(&shrunk));
}

#[test]
fn bad_model_options_are_refused_naming_the_flag() {
    refused(&[
        (
            vec![
                "covariance",
                "AAPL",
                "MSFT",
                "--cov",
                "exp",
                "--span",
                "0.5",
            ],
            "--span",
        ),
        (
            vec![
                "covariance",
                "AAPL",
                "MSFT",
                "--cov",
                "exp",
                "--span",
                "NaN",
            ],
            "--span",
        ),
        (
            vec![
                "covariance",
                "AAPL",
                "MSFT",
                "--cov",
                "semi",
                "--benchmark",
                "inf",
            ],
            "--benchmark",
        ),
        (
            vec!["covariance", "AAPL", "MSFT", "--cov", "shrunk"],
            "--cov",
        ),
        (
            vec!["hrp", "AAPL", "MSFT", "--linkage", "centroid"],
            "--linkage",
        ),
        (
            vec!["risk-parity", "AAPL", "MSFT", "--budgets", "AAPL=1,AAPL=2"],
            "--budgets",
        ),
        (
            vec!["risk-parity", "AAPL", "MSFT", "--budgets", "AAPL=-1,MSFT=1"],
            "--budgets",
        ),
        (
            vec![
                "risk-parity",
                "AAPL",
                "MSFT",
                "--budgets",
                "AAPL=NaN,MSFT=1",
            ],
            "--budgets",
        ),
        (
            vec!["risk-parity", "AAPL", "MSFT", "--budgets", "AAPL"],
            "--budgets",
        ),
        (
            vec!["risk-parity", "AAPL", "MSFT", "--budgets", "AAPL=1"],
            "MSFT",
        ),
        (
            vec![
                "risk-parity",
                "AAPL",
                "MSFT",
                "--budgets",
                "AAPL=1,MSFT=1,KO=1",
            ],
            "KO",
        ),
        (vec!["hrp", "AAPL"], "TICKER"),
        (vec!["equal-weight", "AAPL", "NOPE"], "NOPE"),
    ]);
}

#[test]
fn risk_report_equals_skfolio_measures() {
    let reference = fixture();
    let want = &reference["bundled"]["report"];
    let mut args = vec![
        "risk-report",
        "AAPL",
        "KO",
        "XOM",
        "--json",
        "--risk-free",
        "0",
    ];
    args.extend(WINDOW);
    args.extend(["--weights", "AAPL=0.5 KO=0.3\nXOM=0.2"]);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let got: Value = serde_json::from_str(&out).unwrap();
    let mut compared = 0;
    for (name, got_measures, want_measures) in [
        ("AAPL", &got["AAPL"], &want["assets"]["AAPL"]),
        ("KO", &got["KO"], &want["assets"]["KO"]),
        ("XOM", &got["XOM"], &want["assets"]["XOM"]),
        (
            "portfolio",
            &got["portfolio"]["measures"],
            &want["portfolio"],
        ),
    ] {
        for (key, w) in want_measures.as_object().unwrap() {
            let (g, w) = (f(&got_measures[key]), f(w));
            let tol = if key.ends_with("evar") || key == "edar" {
                1e-8
            } else {
                1e-10
            };
            assert!((g - w).abs() <= tol * w.abs(), "{name} {key}: {g} vs {w}");
            compared += 1;
        }
    }
    assert_eq!(compared, 4 * 19);
    for (key, field) in [
        ("volatility_contribution", "volatility_contribution"),
        ("cvar_contribution", "cvar_contribution"),
    ] {
        let shares = got["portfolio"][field].as_array().unwrap();
        for (g, w) in shares.iter().zip(want[key].as_array().unwrap()) {
            assert!((f(g) - f(w)).abs() < 1e-10, "{key}: {g} vs {w}");
        }
    }
    // Without weights there is no portfolio; a Sharpe ratio uses the stored risk-free rate.
    let mut args = vec!["risk-report", "AAPL", "--json"];
    args.extend(WINDOW);
    let (code, out, _) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS);
    let alone: Value = serde_json::from_str(&out).unwrap();
    assert!(alone.get("portfolio").is_none());
    assert!(f(&alone["AAPL"]["sharpe_ratio"]) < f(&want["assets"]["AAPL"]["sharpe_ratio"]));
}

#[test]
fn bad_weights_and_tail_probabilities_are_refused() {
    refused(&[
        (
            vec!["risk-report", "AAPL", "KO", "--weights", "AAPL=0.5,KO=0.6"],
            "sum to 1",
        ),
        (
            vec!["risk-report", "AAPL", "KO", "--weights", "AAPL=NaN,KO=1"],
            "--weights",
        ),
        (
            vec!["risk-report", "AAPL", "KO", "--weights", "AAPL=1e300,KO=1"],
            "--weights",
        ),
        (
            vec!["risk-report", "AAPL", "KO", "--weights", "AAPL=1"],
            "KO",
        ),
        (vec!["risk-report", "AAPL", "--prob", "0"], "--prob"),
        (vec!["risk-report", "AAPL", "--prob", "1"], "--prob"),
        (vec!["plot-rc", "AAPL"], "at least 2"),
        (
            vec![
                "risk-report",
                "AAPL",
                "--start",
                "2022-12-27",
                "--end",
                "2022-12-28",
            ],
            "AAPL",
        ),
    ]);
}

#[test]
fn expected_return_estimators_equal_pyportfolioopt() {
    let reference = fixture();
    let want = &reference["bundled"]["expected_returns"];
    for (extra, key) in [
        (vec!["--mu", "mean"], "mean"),
        (vec!["--mu", "ema"], "ema-180"),
        (vec!["--mu", "ema", "--span", "500"], "ema-500"),
        (vec!["--mu", "capm", "--risk-free", "0.02"], "capm-0.02"),
    ] {
        let got = twenty("optimize-portfolio", &extra);
        for (i, h) in got["holdings"].as_array().unwrap().iter().enumerate() {
            let (g, w) = (f(&h["annual_return"]), f(&want[key][i]));
            assert!(
                (g - w).abs() <= 1e-10 * w.abs().max(1e-3),
                "{key} {}: {g} vs {w}",
                TWENTY[i]
            );
        }
        if key == "mean" {
            assert!(got.get("expected_returns").is_none());
        } else {
            assert!(
                got["expected_returns"]
                    .as_str()
                    .unwrap()
                    .starts_with(&extra[1][..3])
            );
        }
    }
}

#[test]
fn black_litterman_equals_pyportfolioopt() {
    let reference = fixture();
    let want = &reference["bundled"]["black_litterman"];
    let caps: Vec<String> = want["caps"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, c)| format!("{t}={}", f(c)))
        .collect();
    let caps = caps.join(",");
    let mut args: Vec<&str> = vec![
        "black-litterman",
        "AAPL",
        "KO",
        "XOM",
        "JNJ",
        "MSFT",
        "--json",
    ];
    args.extend(WINDOW);
    args.extend([
        "--returns",
        "simple",
        "--views",
        want["views"].as_str().unwrap(),
        "--market-caps",
        &caps,
        "--delta",
        "2.5",
        "--tau",
        "0.05",
        "--risk-free",
        "0.02",
    ]);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let got: Value = serde_json::from_str(&out).unwrap();
    for i in 0..5 {
        for (key, field) in [("prior", "prior_returns"), ("returns", "posterior_returns")] {
            let (g, w) = (f(&got[field][i]), f(&want[key][i]));
            assert!((g - w).abs() <= 1e-10 * w.abs(), "{key} {i}: {g} vs {w}");
        }
        for j in 0..5 {
            let (g, w) = (
                f(&got["posterior_covariance"][i][j]),
                f(&want["covariance"][i][j]),
            );
            assert!(
                (g - w).abs() <= 1e-10 * w.abs(),
                "covariance {i},{j}: {g} vs {w}"
            );
        }
    }
    // The same views through an optimiser: its expected returns are the posterior.
    let mut args: Vec<&str> = vec!["opt", "AAPL", "KO", "XOM", "JNJ", "MSFT", "--json"];
    args.extend(WINDOW);
    let mu = format!("bl:{}", want["views"].as_str().unwrap());
    args.extend(["--returns", "simple", "--risk-free", "0.02", "--mu", &mu]);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let opt: Value = serde_json::from_str(&out).unwrap();
    assert!(
        opt["expected_returns"]
            .as_str()
            .unwrap()
            .contains("3 views")
    );
    // Equal-weight prior, δ implied by SP500 over the window: a different prior, same views.
    assert_ne!(
        opt["holdings"][0]["annual_return"],
        got["posterior_returns"][0]
    );
}

#[test]
fn bad_views_and_black_litterman_options_are_refused() {
    refused(&[
        (vec!["bl", "AAPL", "KO", "--views", "NOPE = 0.1"], "NOPE"),
        (
            vec!["bl", "AAPL", "KO", "--views", "AAPL = 0.1 @ 1.5"],
            "--views",
        ),
        (vec!["bl", "AAPL", "KO", "--views", "AAPL"], "--views"),
        (vec!["bl", "AAPL", "KO", "--views", ""], "--views"),
        (
            vec!["bl", "AAPL", "KO", "--views", "AAPL = 0.1", "--tau", "0"],
            "--tau",
        ),
        (
            vec!["bl", "AAPL", "KO", "--views", "AAPL = 0.1", "--delta=-1"],
            "--delta",
        ),
        (
            vec![
                "bl",
                "AAPL",
                "KO",
                "--views",
                "AAPL = 0.1",
                "--market-caps",
                "AAPL=1",
            ],
            "KO",
        ),
        (
            vec![
                "bl",
                "AAPL",
                "KO",
                "--views",
                "AAPL = 0.1 @ 1; 2*AAPL = 0.3 @ 1",
                "--delta",
                "2.5",
            ],
            "linearly dependent",
        ),
        // The default window (late 2022) saw the market fall: no implied risk aversion.
        (
            vec!["bl", "AAPL", "KO", "--views", "AAPL = 0.1"],
            "give --delta",
        ),
        (
            vec!["opt", "AAPL", "KO", "--mu", "bl:AAPL = 0.1"],
            "black-litterman",
        ),
        (vec!["opt", "AAPL", "KO", "--mu", "bl:"], "--mu"),
        (vec!["opt", "AAPL", "KO", "--mu", "median"], "--mu"),
        (vec!["opt", "AAPL", "KO", "--mu", "bl:XOM = 0.1"], "XOM"),
    ]);
}
