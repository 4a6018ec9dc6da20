//! Portfolios that minimise conditional value at risk.
//!
//! * **Historical** — Rockafellar and Uryasev's linear programme over the window's scenarios:
//!   minimise a + 1/(αT)·Σ max(L_t(w) − a, 0) with L_t(w) = −r_tᵀw, fully invested within the
//!   bounds. At the optimum, a is the VaR and the objective the CVaR of the chosen portfolio (the
//!   same order-statistic definition as [`crate::risk::historical_cvar`]). Solved with Clarabel.
//! * **Parametric** — under the GBM model, the expected shortfall of the portfolio's value at the
//!   horizon, 1 − E[S_T/S_0 | S_T < VaR]. It falls with the portfolio's return and rises with its
//!   volatility, so its minimum lies on the efficient frontier: a scan of the frontier followed by
//!   golden-section refinement. The horizon is applied once (scrilla applied it twice, defect D9).

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT,
};
use faer::MatRef;

use crate::estimators::RiskProfile;
use crate::optimize::{Frontier, OptimizeError, Portfolio};
use crate::risk::gbm_conditional_value_at_risk;

/// A CVaR-minimising portfolio.
#[derive(Debug, Clone)]
pub struct CvarSolution {
    /// Weights.
    pub weights: Vec<f64>,
    /// Minimal CVaR, as a loss fraction (positive = loss).
    pub cvar: f64,
    /// The VaR of the solution (the LP's threshold a), as a loss fraction.
    pub var: f64,
    /// The solver's status.
    pub status: String,
}

/// Minimises historical CVaR at tail probability `alpha` over `scenarios` (T × N simple
/// returns), with Σw = 1 and `lower` ≤ w ≤ `upper`.
pub fn min_historical_cvar(
    scenarios: MatRef<'_, f64>,
    lower: &[f64],
    upper: &[f64],
    alpha: f64,
) -> Result<CvarSolution, OptimizeError> {
    let (t, n) = (scenarios.nrows(), scenarios.ncols());
    if t == 0 || n == 0 || lower.len() != n || upper.len() != n {
        return Err(OptimizeError::InvalidInput(
            "scenario matrix and bounds disagree in size".into(),
        ));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(OptimizeError::InvalidInput(format!(
            "tail probability {alpha} must lie strictly between 0 and 1"
        )));
    }
    // Variables x = [w (n), a, u (t)]. Rows: budget; t scenario rows; t rows u ≥ 0; n lower; n upper.
    let rows = 1 + 2 * t + 2 * n;
    let columns = n + 1 + t;
    let (lower_row, upper_row) = (1 + 2 * t, 1 + 2 * t + n);
    let mut colptr = Vec::with_capacity(columns + 1);
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    colptr.push(0);
    for i in 0..n {
        rowval.push(0);
        nzval.push(1.0);
        for s in 0..t {
            rowval.push(1 + s);
            nzval.push(-scenarios[(s, i)]);
        }
        rowval.push(lower_row + i);
        nzval.push(-1.0);
        rowval.push(upper_row + i);
        nzval.push(1.0);
        colptr.push(rowval.len());
    }
    for s in 0..t {
        rowval.push(1 + s);
        nzval.push(-1.0);
    }
    colptr.push(rowval.len());
    for s in 0..t {
        rowval.push(1 + s);
        nzval.push(-1.0);
        rowval.push(1 + t + s);
        nzval.push(-1.0);
        colptr.push(rowval.len());
    }
    let a = CscMatrix::new(rows, columns, colptr, rowval, nzval);
    let mut b = vec![0.0; rows];
    b[0] = 1.0;
    for i in 0..n {
        b[lower_row + i] = -lower[i];
        b[upper_row + i] = upper[i];
    }
    let mut q = vec![0.0; columns];
    q[n] = 1.0;
    let tail_weight = 1.0 / (alpha * t as f64);
    q[n + 1..].iter_mut().for_each(|v| *v = tail_weight);
    let p = CscMatrix::zeros((columns, columns));
    let cones = [ZeroConeT(1), NonnegativeConeT(rows - 1)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-10)
        .tol_gap_rel(1e-10)
        .tol_feas(1e-10)
        .build()
        .map_err(|e| OptimizeError::InvalidInput(format!("solver settings: {e:?}")))?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
        .map_err(|e| OptimizeError::InvalidInput(format!("solver set-up: {e:?}")))?;
    solver.solve();
    let status = solver.solution.status;
    match status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {}
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            let (lower_sum, upper_sum) = (lower.iter().sum(), upper.iter().sum());
            return Err(OptimizeError::InfeasibleBounds {
                lower_sum,
                upper_sum,
                hint: "check --min-weight and --max-weight",
            });
        }
        other => {
            return Err(OptimizeError::InvalidInput(format!(
                "the CVaR programme ended with status {other:?}"
            )));
        }
    }
    let x = &solver.solution.x;
    let weights: Vec<f64> = (0..n).map(|i| x[i].clamp(lower[i], upper[i])).collect();
    Ok(CvarSolution {
        weights,
        cvar: solver.solution.obj_val,
        var: x[n],
        status: format!("{status:?}"),
    })
}

/// The GBM expected shortfall 1 − E[S_T/S_0 | S_T < VaR] of a portfolio.
pub fn parametric_cvar(
    portfolio: &Portfolio,
    prob: f64,
    expiry: f64,
) -> Result<f64, crate::AnalyticsError> {
    let profile = RiskProfile {
        annual_return: portfolio.expected_return,
        annual_volatility: portfolio.volatility,
    };
    Ok(1.0 - gbm_conditional_value_at_risk(1.0, &profile, expiry, prob)?)
}

/// The frontier portfolio with the least parametric CVaR.
pub fn min_parametric_cvar(
    frontier: &Frontier,
    prob: f64,
    expiry: f64,
) -> Result<Portfolio, crate::AnalyticsError> {
    let low = frontier.min_variance().expected_return;
    let high = frontier.max_return().expected_return;
    let mut scratch = frontier.clone();
    let mut at = |r: f64| -> Result<(Portfolio, f64), crate::AnalyticsError> {
        let portfolio = scratch
            .at_return(r)
            .unwrap_or_else(|_| scratch.min_variance());
        let loss = parametric_cvar(&portfolio, prob, expiry)?;
        Ok((portfolio, loss))
    };
    let steps = 200;
    let grid = |i: usize| low + (high - low) * i as f64 / steps as f64;
    let mut best = (0, f64::INFINITY);
    for i in 0..=steps {
        let (_, loss) = at(grid(i))?;
        if loss < best.1 {
            best = (i, loss);
        }
    }
    let (mut a, mut b) = (
        grid(best.0.saturating_sub(1)),
        grid((best.0 + 1).min(steps)),
    );
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    while b - a > 1e-12 * (1.0 + high.abs()) {
        let c = b - ratio * (b - a);
        let d = a + ratio * (b - a);
        if at(c)?.1 < at(d)?.1 {
            b = d;
        } else {
            a = c;
        }
    }
    Ok(at((a + b) / 2.0)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::historical_cvar;
    use faer::Mat;

    #[test]
    fn parametric_minimum_beats_the_frontier_and_random_portfolios() {
        use crate::covariance::{Par, column_means, covariance_matrix};
        use crate::optimize::{Problem, efficient_frontier};
        let u = crate::synthetic::universe(9, 6, 750, 3);
        let mean: Vec<f64> = column_means(u.log_returns.as_ref())
            .iter()
            .map(|m| m * 252.0)
            .collect();
        let problem = Problem::long_only(
            mean,
            covariance_matrix(u.log_returns.as_ref(), 252.0, Par::Seq),
        );
        let frontier = efficient_frontier(&problem).unwrap();
        let best = min_parametric_cvar(&frontier, 0.05, 0.5).unwrap();
        let best_loss = parametric_cvar(&best, 0.05, 0.5).unwrap();
        for p in frontier.points(2000) {
            assert!(parametric_cvar(&p, 0.05, 0.5).unwrap() >= best_loss - 1e-12);
        }
        let mut stream = crate::synthetic::SplitMix64::new(17);
        for _ in 0..2000 {
            let raw: Vec<f64> = (0..6).map(|_| -stream.next_uniform().ln()).collect();
            let total: f64 = raw.iter().sum();
            let random = problem.portfolio(raw.iter().map(|v| v / total).collect());
            assert!(parametric_cvar(&random, 0.05, 0.5).unwrap() >= best_loss - 1e-12);
        }
    }

    #[test]
    fn lp_optimum_is_the_historical_cvar_of_its_portfolio_and_beats_alternatives() {
        let normals = crate::synthetic::standard_normals(5, 3 * 400);
        let vols = [0.010, 0.015, 0.030];
        let drift = [0.0002, 0.0004, 0.0008];
        let scenarios = Mat::from_fn(400, 3, |t, i| drift[i] + vols[i] * normals[t * 3 + i]);
        let solution = min_historical_cvar(scenarios.as_ref(), &[0.0; 3], &[1.0; 3], 0.05).unwrap();
        assert_eq!(solution.status, "Solved");
        let returns = |w: &[f64]| -> Vec<f64> {
            (0..400)
                .map(|t| (0..3).map(|i| w[i] * scenarios[(t, i)]).sum())
                .collect()
        };
        let own = historical_cvar(&returns(&solution.weights), 0.05).unwrap();
        assert!(
            (own - solution.cvar).abs() < 1e-7,
            "{own} vs {}",
            solution.cvar
        );
        for w in [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0 / 3.0; 3],
            [0.5, 0.5, 0.0],
            [0.6, 0.3, 0.1],
        ] {
            assert!(historical_cvar(&returns(&w), 0.05).unwrap() >= solution.cvar - 1e-9);
        }
        let err = min_historical_cvar(scenarios.as_ref(), &[0.0; 3], &[0.2; 3], 0.05).unwrap_err();
        assert!(
            matches!(err, OptimizeError::InfeasibleBounds { .. }),
            "{err}"
        );
    }
}
