//! Stratus's numbers against independent reference values.
//!
//! `fixtures/reference.json` is written by `tools/reference/make_reference.py` (numpy and scipy,
//! straight from the bundled CSV files, following the written definitions). Tolerances:
//! statistics 1e-12 relative (reference-values.md §1.6); historical VaR/CVaR exact up to summation
//! order (1e-15 absolute); scrilla-definition estimators 1e-12 relative; the copula correlation
//! 1e-4 absolute, because scipy's bivariate normal CDF is itself a numerical integration with
//! about 1e-6 absolute error.

mod common;

use common::d;
use serde_json::Value;
use stratus_core::correlation::{AlignedReturns, correlation, correlation_matrix};
use stratus_core::covariance::{Par, column_means, correlation_from_covariance, covariance_matrix};
use stratus_core::moving_average::moving_averages;
use stratus_core::risk::{
    beta_of_samples, capm_beta, cost_of_equity, gaussian_cvar, gaussian_var,
    gbm_conditional_value_at_risk, gbm_value_at_risk, historical_cvar, historical_var,
    sharpe_ratio,
};
use stratus_core::{CalendarKind, Method, PriceSeries, TradingCalendar, estimate};

fn reference() -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    let scale = want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tol * scale,
        "{what}: got {got}, want {want}, rel err {}",
        (got - want).abs() / scale
    );
}

const SP500: &str = "sp500_dataset.csv.gz";
const INDEX: &str = "sp500_index.csv.gz";

fn universe(tickers: &[String], from: &str, to: &str) -> Vec<PriceSeries> {
    tickers
        .iter()
        .map(|t| common::series(SP500, t, d(from), d(to)))
        .collect()
}

#[test]
fn portfolio_statistics_match_numpy_to_1e12() {
    let r = reference();
    let p = &r["portfolio"];
    let tickers: Vec<String> = p["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let series = universe(&tickers, "2015-01-02", "2022-12-28");
    let returns: Vec<Vec<f64>> = series.iter().map(PriceSeries::simple_returns).collect();
    let days = returns[0].len();
    assert_eq!(days, 2011);
    let matrix = faer::Mat::from_fn(days, tickers.len(), |t, j| returns[j][t]);
    let mu: Vec<f64> = column_means(matrix.as_ref())
        .iter()
        .map(|m| 252.0 * m)
        .collect();
    let cov = covariance_matrix(matrix.as_ref(), 252.0, Par::Seq);
    let corr = correlation_from_covariance(cov.as_ref());
    for i in 0..tickers.len() {
        assert_rel(mu[i], f(&p["mu"][i]), 1e-12, &format!("mu {}", tickers[i]));
        assert_rel(
            cov[(i, i)].sqrt(),
            f(&p["volatility"][i]),
            1e-12,
            "volatility",
        );
        for j in 0..tickers.len() {
            assert_rel(
                cov[(i, j)],
                f(&p["cov"][i][j]),
                1e-12,
                &format!("cov {i},{j}"),
            );
            assert_rel(
                corr[(i, j)],
                f(&p["corr"][i][j]),
                1e-12,
                &format!("corr {i},{j}"),
            );
        }
    }
    let market = common::series(INDEX, "SP500", d("2015-01-02"), d("2022-12-28")).simple_returns();
    assert_rel(
        252.0 * stratus_core::stats::mean(&market),
        f(&p["market_mean"]),
        1e-12,
        "market mean",
    );
    for (i, t) in tickers.iter().enumerate() {
        assert_rel(
            beta_of_samples(&returns[i], &market),
            f(&p["beta"][i]),
            1e-12,
            &format!("beta {t}"),
        );
    }
    // The published rounded anchors (reference-values.md §1.4).
    let aapl = tickers.iter().position(|t| t == "AAPL").unwrap();
    assert!((beta_of_samples(&returns[aapl], &market) - 1.210036).abs() < 5e-7);
}

#[test]
fn equal_weight_var_and_cvar_match_the_order_statistic_rules() {
    let r = reference();
    let p = &r["portfolio"];
    let tickers: Vec<String> = p["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let series = universe(&tickers, "2015-01-02", "2022-12-28");
    let returns: Vec<Vec<f64>> = series.iter().map(PriceSeries::simple_returns).collect();
    let portfolio: Vec<f64> = (0..returns[0].len())
        .map(|t| returns.iter().map(|r| r[t]).sum::<f64>() / 20.0)
        .collect();
    let e = &p["equal_weight"];
    assert_eq!(historical_var(&portfolio, 0.05).unwrap(), f(&e["hist_var"]));
    assert!((historical_cvar(&portfolio, 0.05).unwrap() - f(&e["hist_cvar"])).abs() < 1e-15);
    assert_rel(
        gaussian_var(&portfolio, 0.05).unwrap(),
        f(&e["gauss_var"]),
        1e-12,
        "gaussian var",
    );
    assert_rel(
        gaussian_cvar(&portfolio, 0.05).unwrap(),
        f(&e["gauss_cvar"]),
        1e-12,
        "gaussian cvar",
    );
    // Published anchors, 6 decimals.
    assert!((historical_var(&portfolio, 0.05).unwrap() - 0.016670).abs() < 5e-7);
    assert!((historical_cvar(&portfolio, 0.05).unwrap() - 0.027748).abs() < 5e-7);
}

fn scrilla_series(name: &str, window: &Value) -> PriceSeries {
    let (file, column) = if name == "SP500" {
        (INDEX, "SP500")
    } else {
        (SP500, name)
    };
    common::series(
        file,
        column,
        d(window["start"].as_str().unwrap()),
        d(window["end"].as_str().unwrap()),
    )
}

#[test]
fn scrilla_estimators_match_their_definitions() {
    let r = reference();
    let s = &r["scrilla"];
    let nyse = TradingCalendar::get(CalendarKind::Nyse);
    for name in ["AAPL", "MSFT", "JPM", "KO", "SP500"] {
        let series = scrilla_series(name, &s["window"]);
        assert_eq!(series.len(), 101);
        let returns = series.log_returns(nyse);
        for method in Method::ALL {
            let want = &s["profiles"][name][method.as_str()];
            let got = estimate(&returns, method, 252.0).unwrap();
            assert_rel(
                got.annual_return,
                f(&want[0]),
                1e-12,
                &format!("{name} {method} return"),
            );
            assert_rel(
                got.annual_volatility,
                f(&want[1]),
                1e-12,
                &format!("{name} {method} volatility"),
            );
        }
    }
}

#[test]
fn correlations_sharpe_capm_and_var_match() {
    let r = reference();
    let s = &r["scrilla"];
    let nyse = TradingCalendar::get(CalendarKind::Nyse);
    let names = ["AAPL", "MSFT", "JPM", "KO"];
    let series: Vec<PriceSeries> = names
        .iter()
        .map(|n| scrilla_series(n, &s["window"]))
        .collect();
    let moments = correlation_matrix(&series, Method::Moments, nyse, 252.0).unwrap();
    let likelihood = correlation_matrix(&series, Method::Likelihood, nyse, 252.0).unwrap();
    let percentiles = correlation_matrix(&series, Method::Percentiles, nyse, 252.0).unwrap();
    for i in 0..4 {
        for j in 0..4 {
            let want = f(&s["correlation"]["moments"][i][j]);
            assert_rel(moments[i][j], want, 1e-12, "moments correlation");
            // Without gaps the likelihood correlation is the same Pearson correlation.
            assert_rel(likelihood[i][j], want, 1e-12, "likelihood correlation");
            let want_copula = f(&s["correlation"]["percentiles"][i][j]);
            assert!(
                (percentiles[i][j] - want_copula).abs() < 1e-4,
                "copula {i},{j}: {} vs {want_copula}",
                percentiles[i][j]
            );
        }
    }
    let market = scrilla_series("SP500", &s["window"]);
    let market_profile = estimate(&market.log_returns(nyse), Method::Moments, 252.0).unwrap();
    let risk_free = f(&s["risk_free"]);
    for (i, name) in names.iter().enumerate() {
        let profile = estimate(&series[i].log_returns(nyse), Method::Moments, 252.0).unwrap();
        let rho = correlation(
            &AlignedReturns::new(&series[i], &market, nyse).unwrap(),
            Method::Moments,
            252.0,
        )
        .unwrap();
        let beta = capm_beta(&profile, &market_profile, rho);
        let want = &s["capm"][name];
        assert_rel(
            sharpe_ratio(&profile, risk_free),
            f(&want["sharpe_ratio"]),
            1e-12,
            "sharpe",
        );
        assert_rel(beta, f(&want["asset_beta"]), 1e-12, "beta");
        assert_rel(
            cost_of_equity(beta, &market_profile, risk_free),
            f(&want["equity_cost"]),
            1e-12,
            "equity cost",
        );
    }
    let v = &s["var_aapl"];
    let aapl = estimate(&series[0].log_returns(nyse), Method::Moments, 252.0).unwrap();
    let spot = series[0].last().unwrap().1;
    assert_eq!(spot, f(&v["spot"]));
    let var = gbm_value_at_risk(spot, &aapl, f(&v["expiry"]), f(&v["prob"])).unwrap();
    let cvar = gbm_conditional_value_at_risk(spot, &aapl, f(&v["expiry"]), f(&v["prob"])).unwrap();
    assert_rel(var, f(&v["value_at_risk"]), 1e-12, "var");
    assert_rel(cvar, f(&v["conditional_value_at_risk"]), 1e-10, "cvar");
}

#[test]
fn moving_averages_match() {
    let r = reference();
    let want = &r["scrilla"]["moving_averages_aapl_2022_12_28"];
    let nyse = TradingCalendar::get(CalendarKind::Nyse);
    let series = common::series(SP500, "AAPL", d("2022-01-01"), d("2022-12-28"));
    let ma = moving_averages(
        &series,
        nyse,
        &[20, 60, 100],
        d("2022-12-28"),
        Method::Moments,
        252.0,
    )
    .unwrap();
    assert_eq!(ma.rows.len(), 1);
    for (k, p) in [20, 60, 100].iter().enumerate() {
        assert_rel(
            ma.rows[0].1[k].unwrap(),
            f(&want[format!("MA_{p}")]),
            1e-12,
            "moving average",
        );
    }
}

fn simple_problem(r: &Value) -> (Vec<String>, stratus_core::optimize::Problem) {
    let p = &r["portfolio"];
    let tickers: Vec<String> = p["tickers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let series = universe(&tickers, "2015-01-02", "2022-12-28");
    let returns: Vec<Vec<f64>> = series.iter().map(PriceSeries::simple_returns).collect();
    let matrix = faer::Mat::from_fn(returns[0].len(), tickers.len(), |t, j| returns[j][t]);
    let mu: Vec<f64> = column_means(matrix.as_ref())
        .iter()
        .map(|m| 252.0 * m)
        .collect();
    let cov = covariance_matrix(matrix.as_ref(), 252.0, Par::Seq);
    (tickers, stratus_core::optimize::Problem::long_only(mu, cov))
}

fn assert_weights(got: &[f64], want: &Value, tol: f64, what: &str) {
    for (i, g) in got.iter().enumerate() {
        let w = f(&want[i]);
        assert!((g - w).abs() <= tol, "{what} weight {i}: got {g}, want {w}");
    }
}

#[test]
fn critical_line_matches_the_exact_kkt_optima() {
    let r = reference();
    let o = &r["portfolio"]["optimal"];
    let (tickers, problem) = simple_problem(&r);
    let mut frontier = stratus_core::optimize::efficient_frontier(&problem).unwrap();
    let mv = frontier.min_variance();
    assert_weights(
        &mv.weights,
        &o["min_variance"]["weights"],
        1e-9,
        "min variance",
    );
    assert_rel(
        mv.volatility,
        f(&o["min_variance"]["volatility"]),
        1e-10,
        "min variance volatility",
    );
    // The published anchors (reference-values.md §1.2), rounded to 6 decimals.
    assert!(
        (mv.volatility - 0.150066).abs() < 5e-7 && (mv.expected_return - 0.113771).abs() < 5e-7
    );
    let ko = tickers.iter().position(|t| t == "KO").unwrap();
    assert!((mv.weights[ko] - 0.229925).abs() < 5e-7);

    let ms = frontier.max_sharpe(0.02);
    assert_weights(&ms.weights, &o["max_sharpe"]["weights"], 1e-9, "max sharpe");
    assert_rel(
        ms.sharpe_ratio(0.02),
        f(&o["max_sharpe"]["sharpe"]),
        1e-10,
        "sharpe",
    );
    assert!((ms.sharpe_ratio(0.02) - 1.247657).abs() < 5e-7);

    let target = frontier.at_return(0.20).unwrap();
    assert_weights(
        &target.weights,
        &o["target"]["weights"],
        1e-9,
        "target 20 %",
    );
    assert_rel(
        target.volatility,
        f(&o["target"]["volatility"]),
        1e-10,
        "target volatility",
    );

    // Every frontier point is fully invested, long only, and on the efficient side.
    let points = frontier.points(50);
    assert_eq!(points.len(), 50);
    assert_eq!(points[0].weights, mv.weights);
    assert_eq!(points[49].weights, frontier.max_return().weights);
    for pair in points.windows(2) {
        assert!(
            pair[1].expected_return > pair[0].expected_return
                && pair[1].volatility >= pair[0].volatility
        );
        assert!((pair[1].weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(pair[1].weights.iter().all(|w| *w >= 0.0));
    }
}

#[test]
fn historical_cvar_programme_matches_highs() {
    let r = reference();
    let want = &r["portfolio"]["optimal"]["min_historical_cvar"];
    let (tickers, _) = simple_problem(&r);
    let series = universe(&tickers, "2015-01-02", "2022-12-28");
    let returns: Vec<Vec<f64>> = series.iter().map(PriceSeries::simple_returns).collect();
    let scenarios = faer::Mat::from_fn(returns[0].len(), tickers.len(), |t, j| returns[j][t]);
    let n = tickers.len();
    let solution = stratus_core::portfolio_cvar::min_historical_cvar(
        scenarios.as_ref(),
        &vec![0.0; n],
        &vec![1.0; n],
        0.05,
    )
    .unwrap();
    assert_rel(solution.cvar, f(&want["cvar"]), 1e-7, "minimal CVaR");
    let portfolio: Vec<f64> = (0..scenarios.nrows())
        .map(|t| {
            (0..n)
                .map(|i| solution.weights[i] * scenarios[(t, i)])
                .sum()
        })
        .collect();
    assert_rel(
        historical_cvar(&portfolio, 0.05).unwrap(),
        f(&want["cvar"]),
        1e-7,
        "CVaR of the LP portfolio",
    );
}
