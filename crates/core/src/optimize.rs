//! Mean–variance portfolio optimisation.
//!
//! scrilla ran SLSQP once per question (minimum variance, maximum Sharpe, each frontier point)
//! and never checked whether it converged. Stratus computes the whole efficient frontier once,
//! exactly, with Markowitz's **critical line algorithm** ([`CriticalLine`]), for a fully invested
//! portfolio (Σw = 1) with per-asset bounds l ≤ w ≤ u:
//!
//! minimise ½·wᵀΣw − λ·μᵀw for every λ ≥ 0.
//!
//! Between consecutive *turning points* (values of λ where an asset enters or leaves its bound)
//! the optimal weights are affine in λ, hence in the target return. So once the turning points
//! are known, every question is closed-form:
//!
//! * maximum return — the first turning point (λ → ∞);
//! * minimum variance — the last (λ = 0);
//! * a target return — linear interpolation between the two turning points around it (a target
//!   below the minimum-variance return is answered on the lower branch, the frontier of −μ);
//! * maximum Sharpe ratio — on each segment the Sharpe ratio of an affine path has one stationary
//!   point, found in closed form;
//! * an N-point frontier — N interpolations.
//!
//! Each step factors only the covariance of the free assets (faer Cholesky), so the cost grows with
//! the number of assets held, not the universe: long-only portfolios of a large universe hold few.
//!
//! "No answer" (a target above every asset's return, bounds that cannot sum to 1, a singular
//! covariance among the assets held) is an [`OptimizeError`] that names the constraint, never a
//! silently wrong portfolio.

use faer::linalg::solvers::SolveCore;
use faer::{Conj, Mat, MatRef, Side};
use serde::Serialize;

/// Why no portfolio could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizeError {
    /// The bounds cannot add up to a fully invested portfolio.
    #[error(
        "infeasible bounds: the minimum weights sum to {lower_sum:.6} and the maximum weights to {upper_sum:.6}, but the weights must sum to 1; {hint}"
    )]
    InfeasibleBounds {
        /// Σ lower bounds.
        lower_sum: f64,
        /// Σ upper bounds.
        upper_sum: f64,
        /// How to fix it.
        hint: &'static str,
    },
    /// A lower bound above its upper bound, or a bound outside [0, 1] for long-only.
    #[error("invalid bounds for asset {index}: minimum {lower} > maximum {upper}")]
    InvalidBounds {
        /// Asset position.
        index: usize,
        /// Lower bound.
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// A return target outside the attainable range.
    #[error(
        "infeasible target return {target:.6}: attainable returns under these bounds lie between {lowest:.6} and {highest:.6}"
    )]
    InfeasibleTarget {
        /// The target.
        target: f64,
        /// Lowest attainable portfolio return.
        lowest: f64,
        /// Highest attainable portfolio return.
        highest: f64,
    },
    /// The covariance of the assets held is not positive definite.
    #[error(
        "singular covariance: the assets held ({assets}) are perfectly correlated or one does not move; drop one of them or widen the window"
    )]
    SingularCovariance {
        /// Positions of the free assets at the failure, comma separated.
        assets: String,
    },
    /// Inputs of inconsistent sizes or non-finite numbers.
    #[error("invalid optimisation input: {0}")]
    InvalidInput(String),
    /// The iteration limit was reached (a degenerate problem).
    #[error("the critical line algorithm did not finish within {0} turning points")]
    NotConverged(usize),
    /// A computed portfolio broke the budget or a bound: a defect, reported rather than
    /// answered (the answer would be wrong).
    #[error(
        "internal error: the optimiser produced a portfolio that {0}; please report it with the request"
    )]
    Inconsistent(String),
}

/// Expected returns, covariance and bounds of a universe.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Expected annual returns μ.
    pub mean: Vec<f64>,
    /// Annual covariance Σ (symmetric positive definite on any subset that can be held).
    pub covariance: Mat<f64>,
    /// Minimum weight per asset.
    pub lower: Vec<f64>,
    /// Maximum weight per asset.
    pub upper: Vec<f64>,
}

impl Problem {
    /// A long-only problem (0 ≤ w ≤ 1).
    pub fn long_only(mean: Vec<f64>, covariance: Mat<f64>) -> Self {
        let n = mean.len();
        Problem {
            mean,
            covariance,
            lower: vec![0.0; n],
            upper: vec![1.0; n],
        }
    }

    /// Number of assets.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// Whether there are no assets.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    fn validate(&self) -> Result<(), OptimizeError> {
        let n = self.len();
        if n == 0 {
            return Err(OptimizeError::InvalidInput("no assets".into()));
        }
        if self.covariance.nrows() != n
            || self.covariance.ncols() != n
            || self.lower.len() != n
            || self.upper.len() != n
        {
            return Err(OptimizeError::InvalidInput(
                "mean, covariance and bounds differ in size".into(),
            ));
        }
        let finite = self
            .mean
            .iter()
            .chain(&self.lower)
            .chain(&self.upper)
            .all(|v| v.is_finite())
            && (0..n).all(|j| (0..n).all(|i| self.covariance[(i, j)].is_finite()));
        if !finite {
            return Err(OptimizeError::InvalidInput(
                "a mean, covariance or bound is not a finite number".into(),
            ));
        }
        for i in 0..n {
            if self.lower[i] > self.upper[i] {
                return Err(OptimizeError::InvalidBounds {
                    index: i,
                    lower: self.lower[i],
                    upper: self.upper[i],
                });
            }
        }
        let (lower_sum, upper_sum) = (
            self.lower.iter().sum::<f64>(),
            self.upper.iter().sum::<f64>(),
        );
        if lower_sum > 1.0 + 1e-12 {
            return Err(OptimizeError::InfeasibleBounds {
                lower_sum,
                upper_sum,
                hint: "lower --min-weight",
            });
        }
        if upper_sum < 1.0 - 1e-12 {
            return Err(OptimizeError::InfeasibleBounds {
                lower_sum,
                upper_sum,
                hint: "raise --max-weight or add assets",
            });
        }
        Ok(())
    }

    /// Portfolio return w·μ.
    pub fn portfolio_return(&self, weights: &[f64]) -> f64 {
        weights.iter().zip(&self.mean).map(|(w, m)| w * m).sum()
    }

    /// Portfolio variance wᵀΣw.
    pub fn portfolio_variance(&self, weights: &[f64]) -> f64 {
        let n = self.len();
        let mut total = 0.0;
        for j in 0..n {
            if weights[j] == 0.0 {
                continue;
            }
            let column: f64 = (0..n).map(|i| self.covariance[(i, j)] * weights[i]).sum();
            total += weights[j] * column;
        }
        total.max(0.0)
    }

    /// A portfolio with its return and volatility.
    pub fn portfolio(&self, weights: Vec<f64>) -> Portfolio {
        let expected_return = self.portfolio_return(&weights);
        let volatility = self.portfolio_variance(&weights).sqrt();
        Portfolio {
            weights,
            expected_return,
            volatility,
        }
    }
}

/// Weights with their expected return and volatility.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Portfolio {
    /// Weights, in the problem's asset order.
    pub weights: Vec<f64>,
    /// w·μ.
    pub expected_return: f64,
    /// √(wᵀΣw).
    pub volatility: f64,
}

impl Portfolio {
    /// (return − r_f)/volatility.
    pub fn sharpe_ratio(&self, risk_free: f64) -> f64 {
        (self.expected_return - risk_free) / self.volatility
    }
}

/// A solver that produces the efficient frontier of a [`Problem`].
pub trait FrontierSolver {
    /// The solver's name, reported with results.
    fn name(&self) -> &'static str;
    /// The efficient frontier (maximum return to minimum variance).
    fn frontier(&self, problem: &Problem) -> Result<Frontier, OptimizeError>;
}

/// Markowitz's critical line algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct CriticalLine;

/// The efficient frontier as turning points, from maximum return to minimum variance, and the
/// lower branch (minimum variance down to minimum return) for targets below the former.
#[derive(Debug, Clone)]
pub struct Frontier {
    problem: Problem,
    /// Turning-point weights, ordered by decreasing return (first = maximum return, last =
    /// minimum variance).
    upper_branch: Vec<Vec<f64>>,
    lower_branch: Option<Vec<Vec<f64>>>,
}

const MAX_TURNING_POINTS: usize = 100_000;
const TOLERANCE: f64 = 1e-12;

impl FrontierSolver for CriticalLine {
    fn name(&self) -> &'static str {
        "critical-line"
    }

    fn frontier(&self, problem: &Problem) -> Result<Frontier, OptimizeError> {
        problem.validate()?;
        let upper_branch = turning_points(problem, &problem.mean)?;
        Ok(Frontier {
            problem: problem.clone(),
            upper_branch,
            lower_branch: None,
        })
    }
}

impl Frontier {
    /// The problem solved.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Turning points, maximum return first.
    pub fn turning_points(&self) -> &[Vec<f64>] {
        &self.upper_branch
    }

    /// The maximum-return portfolio.
    pub fn max_return(&self) -> Portfolio {
        self.problem.portfolio(self.upper_branch[0].clone())
    }

    /// The minimum-variance portfolio.
    pub fn min_variance(&self) -> Portfolio {
        self.problem
            .portfolio(self.upper_branch[self.upper_branch.len() - 1].clone())
    }

    /// The minimum-variance portfolio with return exactly `target`.
    pub fn at_return(&mut self, target: f64) -> Result<Portfolio, OptimizeError> {
        let highest = self.max_return().expected_return;
        let pivot = self.min_variance().expected_return;
        if target > highest + TOLERANCE * highest.abs().max(1.0) {
            let lowest = self.lowest_return()?;
            return Err(OptimizeError::InfeasibleTarget {
                target,
                lowest,
                highest,
            });
        }
        if target >= pivot {
            return Ok(interpolate(&self.problem, &self.upper_branch, target));
        }
        let lowest = self.lowest_return()?;
        if target < lowest - TOLERANCE * lowest.abs().max(1.0) {
            return Err(OptimizeError::InfeasibleTarget {
                target,
                lowest,
                highest,
            });
        }
        let branch = self
            .lower_branch
            .as_ref()
            .expect("computed by lowest_return");
        Ok(interpolate(&self.problem, branch, target))
    }

    fn lowest_return(&mut self) -> Result<f64, OptimizeError> {
        if self.lower_branch.is_none() {
            let negated: Vec<f64> = self.problem.mean.iter().map(|m| -m).collect();
            self.lower_branch = Some(turning_points(&self.problem, &negated)?);
        }
        let branch = self.lower_branch.as_ref().expect("just computed");
        Ok(self.problem.portfolio_return(&branch[0]))
    }

    /// `count` portfolios evenly spaced in return from the minimum-variance to the maximum-return
    /// portfolio, both included.
    pub fn points(&self, count: usize) -> Vec<Portfolio> {
        let low = self.min_variance().expected_return;
        let high = self.max_return().expected_return;
        if count <= 1 {
            return vec![self.min_variance()];
        }
        (0..count)
            .map(|i| {
                if i + 1 == count {
                    return self.max_return();
                }
                let target = low + (high - low) * i as f64 / (count - 1) as f64;
                interpolate(&self.problem, &self.upper_branch, target)
            })
            .collect()
    }

    /// The portfolio on the frontier with the highest Sharpe ratio at `risk_free`.
    pub fn max_sharpe(&self, risk_free: f64) -> Portfolio {
        let mut best = self.min_variance();
        let mut best_sharpe = f64::NEG_INFINITY;
        let mut consider = |portfolio: Portfolio| {
            let sharpe = portfolio.sharpe_ratio(risk_free);
            if sharpe > best_sharpe {
                best_sharpe = sharpe;
                best = portfolio;
            }
        };
        for pair in self.upper_branch.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            consider(self.problem.portfolio(a.clone()));
            // w(t) = a + t·d on t ∈ [0, 1]; Sharpe(t) = (R0 + R1 t − r_f)/√(v0 + 2 v1 t + v2 t²).
            let d: Vec<f64> = b.iter().zip(a).map(|(x, y)| x - y).collect();
            let excess = self.problem.portfolio_return(a) - risk_free;
            let slope = self.problem.portfolio_return(&d);
            let v0 = self.problem.portfolio_variance(a);
            let v2 = self.problem.portfolio_variance(&d);
            let v1 = (self.problem.portfolio_variance(b) - v0 - v2) / 2.0;
            let denominator = slope * v1 - excess * v2;
            if denominator.abs() > f64::MIN_POSITIVE {
                let t = (excess * v1 - slope * v0) / denominator;
                if t > 0.0 && t < 1.0 {
                    consider(
                        self.problem
                            .portfolio(a.iter().zip(&d).map(|(x, y)| x + t * y).collect()),
                    );
                }
            }
        }
        consider(self.min_variance());
        best
    }
}

/// Weights at return `target` on a branch whose turning points are ordered by decreasing return
/// along the branch's own objective (the returns are monotone along it).
fn interpolate(problem: &Problem, branch: &[Vec<f64>], target: f64) -> Portfolio {
    let returns: Vec<f64> = branch.iter().map(|w| problem.portfolio_return(w)).collect();
    for k in 0..branch.len().saturating_sub(1) {
        let (r0, r1) = (returns[k], returns[k + 1]);
        let (high, low) = if r0 >= r1 { (r0, r1) } else { (r1, r0) };
        if target <= high + 1e-15 && target >= low - 1e-15 {
            let t = if (r0 - r1).abs() > 0.0 {
                ((target - r0) / (r1 - r0)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let weights = branch[k]
                .iter()
                .zip(&branch[k + 1])
                .map(|(a, b)| a + t * (b - a))
                .collect();
            return problem.portfolio(weights);
        }
    }
    // Outside the branch (only by rounding): the nearest end.
    let nearest = if (target - returns[0]).abs() < (target - returns[returns.len() - 1]).abs() {
        &branch[0]
    } else {
        &branch[branch.len() - 1]
    };
    problem.portfolio(nearest.clone())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Free,
    AtLower,
    AtUpper,
}

/// The critical line from λ = ∞ (maximum return under `mean`) to λ = 0 (minimum variance).
fn turning_points(problem: &Problem, mean: &[f64]) -> Result<Vec<Vec<f64>>, OptimizeError> {
    let n = problem.len();
    let sigma = problem.covariance.as_ref();
    let (lower, upper) = (&problem.lower, &problem.upper);

    // Maximum return: everything at its lower bound, then the remaining budget to the highest
    // means first. The asset that takes the last partial amount is free.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    let mut weights = lower.clone();
    let mut state = vec![State::AtLower; n];
    let mut budget = 1.0 - lower.iter().sum::<f64>();
    let mut first_free = order[0];
    for &i in &order {
        let room = upper[i] - lower[i];
        first_free = i;
        if room >= budget {
            weights[i] += budget;
            break;
        }
        weights[i] = upper[i];
        state[i] = State::AtUpper;
        budget -= room;
    }
    state[first_free] = State::Free;
    let mut points = vec![weights.clone()];
    let mut lambda = f64::INFINITY;
    let mut freed: Option<usize> = None;

    for _ in 0..MAX_TURNING_POINTS {
        let free: Vec<usize> = (0..n).filter(|&i| state[i] == State::Free).collect();
        let k = free.len();
        // Σ_FF and the right-hand sides 1, μ_F, Σ_FB·w_B.
        let sigma_ff = Mat::from_fn(k, k, |a, b| sigma[(free[a], free[b])]);
        let bounded_mass: Vec<(usize, f64)> = (0..n)
            .filter(|&i| state[i] != State::Free && weights[i] != 0.0)
            .map(|i| (i, weights[i]))
            .collect();
        let mut rhs = Mat::from_fn(k, 3, |a, c| match c {
            0 => 1.0,
            1 => mean[free[a]],
            _ => bounded_mass
                .iter()
                .map(|&(j, w)| sigma[(free[a], j)] * w)
                .sum(),
        });
        let llt = sigma_ff
            .llt(Side::Lower)
            .map_err(|_| OptimizeError::SingularCovariance {
                assets: free
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        llt.solve_in_place_with_conj(Conj::No, rhs.as_mut());
        let (c1, cmu, q) = (rhs.col(0), rhs.col(1), rhs.col(2));
        let a11: f64 = c1.iter().sum();
        let a1mu: f64 = cmu.iter().sum();
        let a1q: f64 = q.iter().sum();
        let fixed_sum: f64 = (0..n)
            .filter(|&i| state[i] != State::Free)
            .map(|i| weights[i])
            .sum();
        let s = 1.0 - fixed_sum;
        // w_F(λ) = α + βλ; γ(λ) = γ0 + γ1·λ.
        let gamma0 = (s + a1q) / a11;
        let gamma1 = -a1mu / a11;
        let alpha: Vec<f64> = (0..k).map(|a| gamma0 * c1[a] - q[a]).collect();
        let beta: Vec<f64> = (0..k).map(|a| cmu[a] + gamma1 * c1[a]).collect();

        // Events must happen strictly below the current λ (a tolerance guards against the event
        // that produced this turning point being found again).
        let below = if lambda.is_finite() {
            lambda - TOLERANCE * lambda.abs().max(1.0)
        } else {
            f64::INFINITY
        };
        // Candidate 1: a free asset reaches a bound as λ decreases.
        let mut next = 0.0f64;
        let mut event: Option<(usize, State)> = None;
        for (a, &i) in free.iter().enumerate() {
            let (bound, to) = if beta[a] > TOLERANCE {
                (lower[i], State::AtLower)
            } else if beta[a] < -TOLERANCE {
                (upper[i], State::AtUpper)
            } else {
                continue;
            };
            let mut at = (bound - alpha[a]) / beta[a];
            // At the current λ or above it means the asset already sits on that bound and
            // moves past it as λ decreases (a degenerate turning point, e.g. when the bounds
            // leave a single feasible portfolio): it reaches the bound now.
            // (Not for the asset that has just left a bound here: rounding must not put it back.)
            if lambda.is_finite() && at >= below && freed != Some(i) {
                at = lambda;
            }
            if (at < below || at == lambda) && at > next {
                next = at;
                event = Some((i, to));
            }
        }
        // Candidate 2: a bounded asset's multiplier crosses zero, so it leaves its bound.
        // g_j(λ) = Σ_jF w_F(λ) + Σ_jB w_B − λμ_j − γ(λ) = g0 + g1·λ.
        let mut sigma_alpha = vec![0.0; n];
        let mut sigma_beta = vec![0.0; n];
        for (a, &i) in free.iter().enumerate() {
            let column = sigma.col(i);
            for j in 0..n {
                let value = column[j];
                sigma_alpha[j] += value * alpha[a];
                sigma_beta[j] += value * beta[a];
            }
        }
        for j in 0..n {
            if state[j] == State::Free {
                continue;
            }
            let fixed: f64 = bounded_mass.iter().map(|&(b, w)| sigma[(j, b)] * w).sum();
            let g0 = sigma_alpha[j] + fixed - gamma0;
            let g1 = sigma_beta[j] - mean[j] - gamma1;
            let crosses = match state[j] {
                State::AtLower => g1 > TOLERANCE,
                State::AtUpper => g1 < -TOLERANCE,
                State::Free => false,
            };
            if !crosses {
                continue;
            }
            let at = -g0 / g1;
            if at < below && at > next {
                next = at;
                event = Some((j, State::Free));
            }
        }

        // Weights at the next turning point (or at λ = 0).
        let mut at_next = weights.clone();
        for (a, &i) in free.iter().enumerate() {
            at_next[i] = alpha[a] + beta[a] * next;
        }
        match event {
            None => {
                points.push(at_next);
                return checked_points(clean(points, problem));
            }
            Some((asset, to)) => {
                if to != State::Free {
                    at_next[asset] = if to == State::AtLower {
                        lower[asset]
                    } else {
                        upper[asset]
                    };
                }
                state[asset] = to;
                freed = (to == State::Free).then_some(asset);
                weights = at_next;
                points.push(weights.clone());
                lambda = next;
            }
        }
    }
    Err(OptimizeError::NotConverged(MAX_TURNING_POINTS))
}

/// Refuses turning points that are not fully invested (clamping into the bounds would otherwise
/// hide a solver defect as a plausible-looking answer).
fn checked_points(points: Vec<Vec<f64>>) -> Result<Vec<Vec<f64>>, OptimizeError> {
    for w in &points {
        let total: f64 = w.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(OptimizeError::Inconsistent(format!(
                "is not fully invested (weights sum to {total})"
            )));
        }
    }
    Ok(points)
}

/// Clamps rounding noise into the bounds and drops consecutive duplicate points.
fn clean(points: Vec<Vec<f64>>, problem: &Problem) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(points.len());
    for mut w in points {
        for (i, v) in w.iter_mut().enumerate() {
            *v = v.clamp(problem.lower[i], problem.upper[i]);
        }
        let same = out
            .last()
            .is_some_and(|last| last.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-14));
        if !same {
            out.push(w);
        }
    }
    out
}

/// Convenience: the frontier of `problem` with the default solver.
pub fn efficient_frontier(problem: &Problem) -> Result<Frontier, OptimizeError> {
    CriticalLine.frontier(problem)
}

/// Σ as a faer matrix from nested rows (for callers holding `Vec<Vec<f64>>`).
pub fn matrix_from_rows(rows: &[Vec<f64>]) -> Mat<f64> {
    let n = rows.len();
    Mat::from_fn(n, n, |i, j| rows[i][j])
}

/// Σ restricted to a subset of assets.
pub fn sub_covariance(covariance: MatRef<'_, f64>, assets: &[usize]) -> Mat<f64> {
    Mat::from_fn(assets.len(), assets.len(), |a, b| {
        covariance[(assets[a], assets[b])]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_assets() -> Problem {
        // σ1 = 0.2, σ2 = 0.3, ρ = 0.1.
        let cov = matrix_from_rows(&[vec![0.04, 0.006], vec![0.006, 0.09]]);
        Problem::long_only(vec![0.05, 0.10], cov)
    }

    #[test]
    fn two_asset_minimum_variance_has_the_closed_form() {
        let frontier = efficient_frontier(&two_assets()).unwrap();
        let w1 = (0.09 - 0.006) / (0.04 + 0.09 - 2.0 * 0.006);
        let mv = frontier.min_variance();
        assert!((mv.weights[0] - w1).abs() < 1e-14, "{:?}", mv.weights);
        assert_eq!(frontier.max_return().weights, vec![0.0, 1.0]);
        let mid = frontier.points(3)[1].clone();
        assert!((mid.expected_return - (mv.expected_return + 0.10) / 2.0).abs() < 1e-14);
    }

    #[test]
    fn max_sharpe_of_two_assets_is_the_tangency_portfolio() {
        let mut frontier = efficient_frontier(&two_assets()).unwrap();
        // Unconstrained tangency w ∝ Σ⁻¹(μ − r_f), here interior so the bounds do not bind.
        let (rf, m1, m2) = (0.01, 0.04, 0.09);
        let det = 0.04 * 0.09 - 0.006 * 0.006;
        let z1 = (0.09 * m1 - 0.006 * m2) / det;
        let z2 = (-0.006 * m1 + 0.04 * m2) / det;
        let best = frontier.max_sharpe(rf);
        assert!(
            (best.weights[0] - z1 / (z1 + z2)).abs() < 1e-12,
            "{:?}",
            best.weights
        );
        let target = frontier.at_return(0.07).unwrap();
        assert!((target.expected_return - 0.07).abs() < 1e-15);
        let err = frontier.at_return(0.2).unwrap_err().to_string();
        assert!(
            err.contains("0.200000") && err.contains("0.100000"),
            "{err}"
        );
        // Below the minimum-variance return: the lower branch, down to the lowest mean.
        let low = frontier.at_return(0.05).unwrap();
        assert!((low.weights[0] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_feasible_set_of_one_point_gives_that_point_everywhere() {
        // KO and BAC 2019-2022 with --max-weight 0.5: the only fully invested portfolio is
        // (0.5, 0.5); the solver once left the budget and answered (0.5, 0.064).
        let (s1, s2, rho) = (
            0.230_947_201_211_660_8,
            0.376_406_022_625_258_1,
            0.539_206_256_948_204_7,
        );
        let cov = matrix_from_rows(&[vec![s1 * s1, rho * s1 * s2], vec![rho * s1 * s2, s2 * s2]]);
        for upper in [0.5, 0.5 + 1e-13, 0.5 - 1e-17] {
            let mut p = Problem::long_only(
                vec![0.134_118_376_061_839, 0.161_930_145_575_211_5],
                cov.clone(),
            );
            p.upper = vec![upper, upper];
            let f = efficient_frontier(&p).unwrap();
            for portfolio in [f.min_variance(), f.max_return(), f.max_sharpe(0.02)] {
                let total: f64 = portfolio.weights.iter().sum();
                assert!(
                    (total - 1.0).abs() < 1e-12,
                    "{upper}: {:?}",
                    portfolio.weights
                );
            }
        }
    }

    #[test]
    fn bounds_are_validated_and_respected() {
        let mut p = two_assets();
        p.upper = vec![0.4, 0.4];
        let err = efficient_frontier(&p).unwrap_err();
        assert!(
            matches!(err, OptimizeError::InfeasibleBounds { .. }),
            "{err}"
        );
        p.upper = vec![0.6, 0.6];
        let f = efficient_frontier(&p).unwrap();
        assert_eq!(f.max_return().weights, vec![0.4, 0.6]);
        assert!(
            f.min_variance()
                .weights
                .iter()
                .all(|w| (0.4..=0.6).contains(w))
        );
        p.lower = vec![0.7, 0.0];
        assert!(matches!(
            efficient_frontier(&p).unwrap_err(),
            OptimizeError::InvalidBounds { index: 0, .. }
        ));
    }

    #[test]
    fn large_long_only_minimum_variance_satisfies_the_kkt_conditions() {
        use crate::covariance::{Par, column_means, covariance_matrix};
        let u = crate::synthetic::universe(7, 300, 1000, 3);
        let mean: Vec<f64> = column_means(u.log_returns.as_ref())
            .iter()
            .map(|m| m * 252.0)
            .collect();
        let problem = Problem::long_only(
            mean,
            covariance_matrix(u.log_returns.as_ref(), 252.0, Par::Seq),
        );
        let w = efficient_frontier(&problem).unwrap().min_variance().weights;
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12 && w.iter().all(|x| *x >= 0.0));
        // ∇(½wᵀΣw) = Σw equals the budget multiplier γ on held assets and is ≥ γ elsewhere.
        let gradient: Vec<f64> = (0..300)
            .map(|i| (0..300).map(|j| problem.covariance[(i, j)] * w[j]).sum())
            .collect();
        let held: Vec<usize> = (0..300).filter(|&i| w[i] > 0.0).collect();
        let gamma = gradient[held[0]];
        assert!(held.len() > 10 && held.len() < 300);
        for i in 0..300 {
            if w[i] > 0.0 {
                assert!((gradient[i] - gamma).abs() <= 1e-10 * gamma, "held {i}");
            } else {
                assert!(
                    gradient[i] >= gamma * (1.0 - 1e-10),
                    "excluded {i} would lower the variance"
                );
            }
        }
    }

    #[test]
    fn singular_covariance_is_reported() {
        // The highest-return asset does not move: its variance is zero.
        let cov = matrix_from_rows(&[vec![0.0, 0.0], vec![0.0, 0.04]]);
        let err = efficient_frontier(&Problem::long_only(vec![0.10, 0.05], cov)).unwrap_err();
        assert!(
            matches!(err, OptimizeError::SingularCovariance { .. }),
            "{err}"
        );
    }
}
