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

use faer::{Mat, MatRef};
use serde::Serialize;

mod critical_line;
use critical_line::turning_points;

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
mod tests;
