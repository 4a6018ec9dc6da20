//! Portfolios holding at most K assets.
//!
//! A cardinality limit makes the problem combinatorial (mixed-integer). Stratus solves it
//! **exactly by enumeration** when the number of K-asset subsets is small (at most
//! [`EXHAUSTIVE_LIMIT`], e.g. every 5-of-20 universe): every subset gets its exact
//! critical-line optimum and the best is returned. Larger universes use a **heuristic** — greedy
//! elimination of the smallest weight, then swap local search — and report the optimality gap
//! against the convex relaxation (the same problem without the limit), which bounds the true gap
//! from above.

use crate::optimize::{OptimizeError, Portfolio, Problem, efficient_frontier};

/// Subsets enumerated at most before switching to the heuristic.
pub const EXHAUSTIVE_LIMIT: u64 = 20_000;

/// What the portfolio optimises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Least variance.
    MinVariance,
    /// Highest Sharpe ratio at this risk-free rate.
    MaxSharpe(f64),
    /// Least variance at exactly this return.
    TargetReturn(f64),
    /// Highest return.
    MaxReturn,
}

impl Objective {
    /// A score to minimise.
    pub fn score(&self, portfolio: &Portfolio) -> f64 {
        match *self {
            Objective::MinVariance | Objective::TargetReturn(_) => portfolio.volatility,
            Objective::MaxSharpe(rf) => -portfolio.sharpe_ratio(rf),
            Objective::MaxReturn => -portfolio.expected_return,
        }
    }

    /// The optimum of `problem` without a cardinality limit.
    pub fn solve(&self, problem: &Problem) -> Result<Portfolio, OptimizeError> {
        let mut frontier = efficient_frontier(problem)?;
        match *self {
            Objective::MinVariance => Ok(frontier.min_variance()),
            Objective::MaxSharpe(rf) => Ok(frontier.max_sharpe(rf)),
            Objective::TargetReturn(r) => frontier.at_return(r),
            Objective::MaxReturn => Ok(frontier.max_return()),
        }
    }
}

/// A cardinality-limited result.
#[derive(Debug, Clone)]
pub struct Limited {
    /// The portfolio (weights over the whole universe).
    pub portfolio: Portfolio,
    /// `exhaustive` or `greedy-elimination+swap`.
    pub method: &'static str,
    /// Relative gap to the convex relaxation's optimum (0 when exhaustive or when the relaxation
    /// already holds at most K assets).
    pub gap: f64,
    /// Whether the result is proven optimal.
    pub proven_optimal: bool,
}

fn binomial(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut value: u64 = 1;
    for i in 0..k {
        value = value.saturating_mul(n - i) / (i + 1);
        if value > u64::MAX / 2 {
            return u64::MAX;
        }
    }
    value
}

fn restricted(problem: &Problem, subset: &[usize]) -> Problem {
    Problem {
        mean: subset.iter().map(|&i| problem.mean[i]).collect(),
        covariance: crate::optimize::sub_covariance(problem.covariance.as_ref(), subset),
        lower: subset.iter().map(|&i| problem.lower[i]).collect(),
        upper: subset.iter().map(|&i| problem.upper[i]).collect(),
    }
}

fn solve_subset(problem: &Problem, subset: &[usize], objective: Objective) -> Option<Portfolio> {
    let sub = objective.solve(&restricted(problem, subset)).ok()?;
    let mut weights = vec![0.0; problem.len()];
    for (a, &i) in subset.iter().enumerate() {
        weights[i] = sub.weights[a];
    }
    Some(problem.portfolio(weights))
}

/// `portfolio` with the weights within rounding of 0 (and not held up by a positive lower bound)
/// set to 0 and the rest rescaled to sum to 1.
fn without_dust(problem: &Problem, portfolio: Portfolio) -> Portfolio {
    let dust = |(w, lower): (&f64, &f64)| *w <= 1e-12 && *lower <= 0.0 && *w != 0.0;
    if !portfolio.weights.iter().zip(&problem.lower).any(dust) {
        return portfolio;
    }
    let mut weights: Vec<f64> = portfolio
        .weights
        .iter()
        .zip(&problem.lower)
        .map(|(w, lower)| if dust((w, lower)) { 0.0 } else { *w })
        .collect();
    let total: f64 = weights.iter().sum();
    if total > 0.0 {
        weights.iter_mut().for_each(|w| *w /= total);
    }
    problem.portfolio(weights)
}

/// Solves `objective` holding at most `max_assets` assets.
pub fn solve_limited(
    problem: &Problem,
    objective: Objective,
    max_assets: usize,
) -> Result<Limited, OptimizeError> {
    let n = problem.len();
    if max_assets == 0 {
        return Err(OptimizeError::InvalidInput(
            "--max-assets must be at least 1".into(),
        ));
    }
    let relaxed = objective.solve(problem)?;
    // An asset at a positive lower bound is held however small the bound (a minimum weight of
    // 1e-300 is still a position); otherwise weights within rounding of 0 are not.
    let held = relaxed
        .weights
        .iter()
        .zip(&problem.lower)
        .filter(|(w, lower)| **w > 1e-12 || **lower > 0.0)
        .count();
    if max_assets >= n || held <= max_assets {
        // Weights within rounding of 0 are not held: they are shown as 0, not as 3e-17 of an
        // asset a limit of `max_assets` leaves out.
        let portfolio = if max_assets < n {
            without_dust(problem, relaxed)
        } else {
            relaxed
        };
        return Ok(Limited {
            portfolio,
            method: "exact (limit not binding)",
            gap: 0.0,
            proven_optimal: true,
        });
    }
    let relaxed_score = objective.score(&relaxed);
    let gap_of = |p: &Portfolio| {
        (objective.score(p) - relaxed_score) / relaxed_score.abs().max(f64::MIN_POSITIVE)
    };
    if binomial(n as u64, max_assets as u64) <= EXHAUSTIVE_LIMIT {
        let mut best: Option<Portfolio> = None;
        let mut subset: Vec<usize> = (0..max_assets).collect();
        loop {
            if let Some(candidate) = solve_subset(problem, &subset, objective)
                && best
                    .as_ref()
                    .is_none_or(|b| objective.score(&candidate) < objective.score(b))
            {
                best = Some(candidate);
            }
            // Next combination in lexicographic order.
            let mut i = max_assets;
            while i > 0 && subset[i - 1] == n - max_assets + i - 1 {
                i -= 1;
            }
            if i == 0 {
                break;
            }
            subset[i - 1] += 1;
            for j in i..max_assets {
                subset[j] = subset[j - 1] + 1;
            }
        }
        let portfolio = best.ok_or_else(|| {
            OptimizeError::InvalidInput(format!(
                "no {max_assets}-asset subset satisfies the constraints"
            ))
        })?;
        let gap = gap_of(&portfolio);
        return Ok(Limited {
            portfolio,
            method: "exhaustive",
            gap,
            proven_optimal: true,
        });
    }
    // Greedy elimination from the relaxed support.
    let mut subset: Vec<usize> = (0..n).filter(|&i| relaxed.weights[i] > 1e-12).collect();
    let mut current = relaxed.clone();
    while subset.len() > max_assets {
        let smallest = *subset
            .iter()
            .min_by(|&&a, &&b| current.weights[a].total_cmp(&current.weights[b]))
            .expect("non-empty support");
        subset.retain(|&i| i != smallest);
        current = solve_subset(problem, &subset, objective).ok_or_else(|| {
            OptimizeError::InvalidInput("the constraints cannot be met with fewer assets".into())
        })?;
    }
    // Swap local search: exchange one held asset for one outside while it helps.
    for _pass in 0..5 {
        let mut improved = false;
        for position in 0..subset.len() {
            for candidate in 0..n {
                if subset.contains(&candidate) {
                    continue;
                }
                let mut trial = subset.clone();
                trial[position] = candidate;
                if let Some(p) = solve_subset(problem, &trial, objective)
                    && objective.score(&p) < objective.score(&current) - 1e-15
                {
                    current = p;
                    subset = trial;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    let gap = gap_of(&current);
    Ok(Limited {
        portfolio: current,
        method: "greedy-elimination+swap",
        gap,
        proven_optimal: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::{Par, column_means, covariance_matrix};
    use crate::optimize::matrix_from_rows;

    fn universe(n: usize) -> Problem {
        let u = crate::synthetic::universe(3, n, 500, 3);
        let mean: Vec<f64> = column_means(u.log_returns.as_ref())
            .iter()
            .map(|m| m * 252.0)
            .collect();
        Problem::long_only(
            mean,
            covariance_matrix(u.log_returns.as_ref(), 252.0, Par::Seq),
        )
    }

    #[test]
    fn a_tiny_minimum_weight_still_counts_as_holding_the_asset() {
        let mut problem = universe(4);
        problem.lower = vec![1e-300; 4];
        let limited = solve_limited(&problem, Objective::MaxReturn, 1).unwrap();
        let held = limited
            .portfolio
            .weights
            .iter()
            .filter(|w| **w != 0.0)
            .count();
        assert_eq!(held, 1, "{:?}", limited.portfolio.weights);
        assert!((limited.portfolio.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn exhaustive_search_is_optimal_and_the_heuristic_reports_its_gap() {
        let problem = universe(12);
        let relaxed = Objective::MinVariance.solve(&problem).unwrap();
        assert!(relaxed.weights.iter().filter(|w| **w > 1e-12).count() > 3);
        let exact = solve_limited(&problem, Objective::MinVariance, 3).unwrap();
        assert_eq!(exact.method, "exhaustive");
        assert!(exact.portfolio.weights.iter().filter(|w| **w > 0.0).count() <= 3);
        assert!(exact.gap >= 0.0 && exact.portfolio.volatility >= relaxed.volatility);
        // Brute force over all 3-subsets agrees (independently, through single solves).
        let mut best = f64::INFINITY;
        for a in 0..12 {
            for b in a + 1..12 {
                for c in b + 1..12 {
                    if let Some(p) = solve_subset(&problem, &[a, b, c], Objective::MinVariance) {
                        best = best.min(p.volatility);
                    }
                }
            }
        }
        assert!((exact.portfolio.volatility - best).abs() < 1e-15);

        let big = universe(60);
        let heuristic = solve_limited(&big, Objective::MinVariance, 5).unwrap();
        assert_eq!(heuristic.method, "greedy-elimination+swap");
        assert!(!heuristic.proven_optimal && heuristic.gap >= 0.0);
        assert!(
            heuristic
                .portfolio
                .weights
                .iter()
                .filter(|w| **w > 0.0)
                .count()
                <= 5
        );
        assert!(solve_limited(&big, Objective::MinVariance, 0).is_err());
    }

    #[test]
    fn weights_within_rounding_of_zero_are_not_held() {
        let problem = Problem::long_only(
            vec![0.4, 0.13],
            matrix_from_rows(&[vec![0.079, 0.02], vec![0.02, 0.034]]),
        );
        let dusty = problem.portfolio(vec![2.7755575615628914e-17, 1.0]);
        let clean = without_dust(&problem, dusty);
        assert_eq!(clean.weights, vec![0.0, 1.0]);
        assert!((clean.volatility - 0.034f64.sqrt()).abs() < 1e-15);
        // A positive lower bound holds an asset however small its weight.
        let mut bounded = problem.clone();
        bounded.lower = vec![1e-300, 0.0];
        let kept = without_dust(&bounded, bounded.portfolio(vec![1e-300, 1.0]));
        assert_eq!(kept.weights, vec![1e-300, 1.0]);
    }
}
