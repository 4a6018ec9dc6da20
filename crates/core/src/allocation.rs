//! Allocation methods that do not need expected returns: equal weight, inverse volatility, risk
//! parity (risk budgeting), maximum diversification and hierarchical risk parity.
//!
//! Expected returns are the noisiest input of mean–variance optimisation; these methods use the
//! covariance alone, which is why practitioners reach for them. Each result is exact rather than
//! a solver's approximation:
//!
//! - risk budgeting solves the strictly convex problem min ½yᵀΣy − Σ bᵢ ln yᵢ (y > 0) by Newton's
//!   method with a backtracking line search, then normalises w = y/Σy; at the optimum
//!   wᵢ(Σw)ᵢ = bᵢ·wᵀΣw exactly (Spinu 2013), which is unique for long-only weights;
//! - maximum diversification (Choueifaty) maximises wᵀσ/√(wᵀΣw), a maximum-Sharpe problem with
//!   σ in place of μ and no risk-free rate, solved by the critical line algorithm;
//! - HRP (López de Prado 2016) follows PyPortfolioOpt's `HRPOpt`: correlation distance
//!   √((1 − ρ)/2), the dendrogram's leaf order, and recursive bisection of that order in halves,
//!   splitting by the inverse-variance portfolio's variance of each half.

use faer::linalg::solvers::SolveCore;
use faer::{Mat, MatRef, Side};

use crate::AnalyticsError;
use crate::cardinality::Objective;
use crate::cluster::{Linkage, linkage};
use crate::optimize::{OptimizeError, Problem};

fn undefined(what: &'static str, asset: usize, reason: &'static str) -> AnalyticsError {
    AnalyticsError::Undefined {
        what,
        ticker: format!("asset {}", asset + 1),
        reason,
    }
}

/// Checks a covariance matrix: square, finite, symmetric, positive variances.
fn check(cov: MatRef<'_, f64>, what: &'static str) -> Result<Vec<f64>, AnalyticsError> {
    let n = cov.nrows();
    if n == 0 || cov.ncols() != n {
        return Err(AnalyticsError::InvalidParameter {
            name: "covariance",
            value: format!("{} × {}", cov.nrows(), cov.ncols()),
            reason: "a square matrix of at least one asset is needed",
        });
    }
    for j in 0..n {
        for i in 0..n {
            if !cov[(i, j)].is_finite() {
                return Err(undefined(what, i, "the covariance has a non-finite entry"));
            }
        }
        if cov[(j, j)] <= 0.0 {
            return Err(undefined(
                what,
                j,
                "its variance is zero (constant prices); remove it",
            ));
        }
    }
    Ok((0..n).map(|i| cov[(i, i)].sqrt()).collect())
}

/// 1/N each.
pub fn equal_weight(assets: usize) -> Vec<f64> {
    vec![1.0 / assets as f64; assets]
}

/// Weights proportional to 1/σᵢ.
pub fn inverse_volatility(cov: MatRef<'_, f64>) -> Result<Vec<f64>, AnalyticsError> {
    let sd = check(cov, "inverse volatility")?;
    let total: f64 = sd.iter().map(|s| 1.0 / s).sum();
    Ok(sd.iter().map(|s| 1.0 / s / total).collect())
}

/// Each asset's share of the portfolio variance: wᵢ(Σw)ᵢ / wᵀΣw (they sum to 1).
pub fn risk_contributions(cov: MatRef<'_, f64>, weights: &[f64]) -> Vec<f64> {
    let n = weights.len();
    let marginal: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| cov[(i, j)] * weights[j]).sum())
        .collect();
    let variance: f64 = (0..n).map(|i| weights[i] * marginal[i]).sum();
    (0..n)
        .map(|i| weights[i] * marginal[i] / variance)
        .collect()
}

/// Long-only weights whose risk contributions equal `budgets` (normalised to sum to 1); equal
/// budgets when `None`.
pub fn risk_budgeting(
    cov: MatRef<'_, f64>,
    budgets: Option<&[f64]>,
) -> Result<Vec<f64>, AnalyticsError> {
    let sd = check(cov, "risk parity")?;
    let n = sd.len();
    let b: Vec<f64> = match budgets {
        None => equal_weight(n),
        Some(given) => {
            if given.len() != n {
                return Err(AnalyticsError::InvalidParameter {
                    name: "--budgets",
                    value: format!("{} budgets for {n} assets", given.len()),
                    reason: "give one budget per ticker",
                });
            }
            if given.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(AnalyticsError::InvalidParameter {
                    name: "--budgets",
                    value: format!("{given:?}"),
                    reason: "every risk budget must be a positive number",
                });
            }
            let total: f64 = given.iter().sum();
            given.iter().map(|v| v / total).collect()
        }
    };
    // Work on the correlation-scaled problem (y = x/σ) so the Hessian is well conditioned.
    let corr = Mat::from_fn(n, n, |i, j| cov[(i, j)] / (sd[i] * sd[j]));
    let objective = |y: &[f64]| -> f64 {
        let quad: f64 = (0..n)
            .map(|i| y[i] * (0..n).map(|j| corr[(i, j)] * y[j]).sum::<f64>())
            .sum();
        0.5 * quad - (0..n).map(|i| b[i] * y[i].ln()).sum::<f64>()
    };
    // Start from the inverse-volatility point scaled so that yᵀCy = Σb = 1 (true at the optimum).
    let ones_quad: f64 = (0..n)
        .map(|i| (0..n).map(|j| corr[(i, j)]).sum::<f64>())
        .sum();
    let mut y = vec![1.0 / ones_quad.sqrt(); n];
    let mut value = objective(&y);
    for _ in 0..200 {
        let cy: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| corr[(i, j)] * y[j]).sum())
            .collect();
        let gradient: Vec<f64> = (0..n).map(|i| cy[i] - b[i] / y[i]).collect();
        let scale: f64 = (0..n).map(|i| (b[i] / y[i]).abs()).fold(0.0, f64::max);
        if gradient.iter().all(|g| g.abs() <= 1e-15 * scale.max(1.0)) {
            break;
        }
        let hessian = Mat::from_fn(n, n, |i, j| {
            corr[(i, j)] + if i == j { b[i] / (y[i] * y[i]) } else { 0.0 }
        });
        let Ok(factor) = hessian.as_ref().llt(Side::Lower) else {
            return Err(undefined(
                "risk parity",
                0,
                "the covariance is not positive semi-definite",
            ));
        };
        let mut step = Mat::from_fn(n, 1, |i, _| -gradient[i]);
        factor.solve_in_place_with_conj(faer::Conj::No, step.as_mut());
        // Stay inside y > 0, then backtrack until the objective decreases.
        let mut t = 1.0f64;
        for i in 0..n {
            if step[(i, 0)] < 0.0 {
                t = t.min(-0.99 * y[i] / step[(i, 0)]);
            }
        }
        // Near the optimum the objective's change drowns in rounding, and a full Newton step can
        // look like an ascent; it is taken when it shrinks the gradient instead (quadratic
        // convergence then carries the budgets to machine precision).
        let largest = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let gradient_at = |y: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| (0..n).map(|j| corr[(i, j)] * y[j]).sum::<f64>() - b[i] / y[i])
                .collect()
        };
        let full = t;
        let mut accepted = false;
        for _ in 0..60 {
            let trial: Vec<f64> = (0..n).map(|i| y[i] + t * step[(i, 0)]).collect();
            let trial_value = objective(&trial);
            let shrinks = t == full
                && (trial_value - value).abs() <= 1e-12 * value.abs().max(1.0)
                && largest(&gradient_at(&trial)) < largest(&gradient);
            if trial_value <= value || shrinks {
                let moved = (0..n).any(|i| trial[i] != y[i]);
                y = trial;
                value = trial_value;
                accepted = moved;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    let x: Vec<f64> = (0..n).map(|i| y[i] / sd[i]).collect();
    let total: f64 = x.iter().sum();
    let weights: Vec<f64> = x.iter().map(|v| v / total).collect();
    let achieved = risk_contributions(cov, &weights);
    if achieved
        .iter()
        .zip(&b)
        .any(|(a, want)| !a.is_finite() || (a - want).abs() > 1e-8)
    {
        return Err(undefined(
            "risk parity",
            0,
            "no long-only portfolio meets the budgets (the covariance is singular along a long-only direction); use a shrinkage estimator such as --cov ledoit-wolf",
        ));
    }
    Ok(weights)
}

/// The long-only, fully invested portfolio with the highest diversification ratio wᵀσ/√(wᵀΣw).
pub fn max_diversification(cov: MatRef<'_, f64>) -> Result<Vec<f64>, AnalyticsError> {
    let sd = check(cov, "maximum diversification")?;
    let problem = Problem::long_only(sd, cov.to_owned());
    Objective::MaxSharpe(0.0)
        .solve(&problem)
        .map(|p| p.weights)
        .map_err(|e: OptimizeError| AnalyticsError::InvalidParameter {
            name: "covariance",
            value: e.to_string(),
            reason: "the maximum-diversification problem could not be solved",
        })
}

/// wᵀσ/√(wᵀΣw).
pub fn diversification_ratio(cov: MatRef<'_, f64>, weights: &[f64]) -> f64 {
    let n = weights.len();
    let weighted: f64 = (0..n).map(|i| weights[i] * cov[(i, i)].sqrt()).sum();
    let variance: f64 = (0..n)
        .map(|i| weights[i] * (0..n).map(|j| cov[(i, j)] * weights[j]).sum::<f64>())
        .sum();
    weighted / variance.sqrt()
}

/// Hierarchical risk parity weights and the leaf order they were allocated in.
pub fn hierarchical_risk_parity(
    cov: MatRef<'_, f64>,
    method: Linkage,
) -> Result<(Vec<f64>, Vec<usize>), AnalyticsError> {
    let sd = check(cov, "hierarchical risk parity")?;
    let n = sd.len();
    let distance = Mat::from_fn(n, n, |i, j| {
        if i == j {
            0.0
        } else {
            let rho = cov[(i, j)] / (sd[i] * sd[j]);
            ((1.0 - rho) / 2.0).clamp(0.0, 1.0).sqrt()
        }
    });
    let order = linkage(distance.as_ref(), method).leaf_order();
    let mut weights = vec![1.0; n];
    let mut pending: Vec<&[usize]> = vec![&order];
    while let Some(cluster) = pending.pop() {
        if cluster.len() < 2 {
            continue;
        }
        let (first, second) = cluster.split_at(cluster.len() / 2);
        let (v1, v2) = (cluster_variance(cov, first), cluster_variance(cov, second));
        let alpha = 1.0 - v1 / (v1 + v2);
        first.iter().for_each(|&i| weights[i] *= alpha);
        second.iter().for_each(|&i| weights[i] *= 1.0 - alpha);
        pending.push(first);
        pending.push(second);
    }
    Ok((weights, order))
}

/// Hierarchical equal risk contribution (Raffinot 2018) as skfolio's
/// `HierarchicalEqualRiskContribution` with its defaults: the same correlation distance, Ward
/// linkage unless told otherwise, the number of clusters from the dendrogram by skfolio's
/// two-order difference of the within-cluster mean distances (at most max(8, √n) clusters),
/// inverse-variance weights inside each cluster, and the clusters' weights split top-down along
/// the dendrogram in inverse proportion to the summed variance of the clusters on each side.
/// Returns the weights and the number of clusters.
pub fn hierarchical_equal_risk_contribution(
    cov: MatRef<'_, f64>,
    method: Linkage,
) -> Result<(Vec<f64>, usize), AnalyticsError> {
    let sd = check(cov, "hierarchical equal risk contribution")?;
    let n = sd.len();
    if n == 1 {
        return Ok((vec![1.0], 1));
    }
    let distance = Mat::from_fn(n, n, |i, j| {
        if i == j {
            0.0
        } else {
            let rho = cov[(i, j)] / (sd[i] * sd[j]);
            ((1.0 - rho) / 2.0).clamp(0.0, 1.0).sqrt()
        }
    });
    let tree = linkage(distance.as_ref(), method);
    // Leaves under every node (leaves 0..n, merges n..2n−1).
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for m in &tree.merges {
        let mut both = members[m.left].clone();
        both.extend_from_slice(&members[m.right]);
        both.sort_unstable();
        members.push(both);
    }
    // The k clusters left when the top k − 1 merges are undone.
    let clusters_at = |k: usize| -> Vec<usize> {
        let first_kept = 2 * n - 1 - (k - 1); // merges with id ≥ this are undone
        let mut nodes = Vec::new();
        let mut stack = vec![2 * n - 2];
        while let Some(id) = stack.pop() {
            if id >= n && id >= first_kept {
                let m = tree.merges[id - n];
                stack.push(m.right);
                stack.push(m.left);
            } else {
                nodes.push(id);
            }
        }
        nodes
    };
    let count = if n == 2 {
        2
    } else {
        let max_clusters = n.min(8usize.max((n as f64).sqrt().round() as usize));
        let dispersion: Vec<f64> = (1..=max_clusters)
            .map(|k| {
                clusters_at(k)
                    .iter()
                    .map(|&node| {
                        let items = &members[node];
                        let pairs = items.len() * (items.len() - 1) / 2;
                        if pairs == 0 {
                            return 0.0;
                        }
                        let mut total = 0.0;
                        for (a, &i) in items.iter().enumerate() {
                            for &j in &items[a + 1..] {
                                total += distance[(i, j)];
                            }
                        }
                        total / pairs as f64
                    })
                    .sum()
            })
            .collect();
        let gaps: Vec<f64> = (0..max_clusters - 2)
            .map(|k| dispersion[k + 2] + dispersion[k] - 2.0 * dispersion[k + 1])
            .collect();
        let mut best = 0;
        for k in 1..gaps.len() {
            if gaps[k] > gaps[best] {
                best = k;
            }
        }
        best + 2
    };
    let clusters = clusters_at(count);
    let mut weights = vec![0.0; n];
    let mut cluster_variance = Vec::with_capacity(clusters.len());
    for &node in &clusters {
        let items = &members[node];
        let inverse: Vec<f64> = items.iter().map(|&i| 1.0 / cov[(i, i)]).collect();
        let total: f64 = inverse.iter().sum();
        for (&i, v) in items.iter().zip(&inverse) {
            weights[i] = v / total;
        }
        cluster_variance.push(self::cluster_variance(cov, items));
    }
    let mut cluster_weight = vec![1.0; clusters.len()];
    let mut pending = vec![2 * n - 2];
    while let Some(node) = pending.pop() {
        if clusters.contains(&node) {
            continue;
        }
        let m = tree.merges[node - n];
        let inside = |side: usize| -> Vec<usize> {
            (0..clusters.len())
                .filter(|&c| {
                    members[clusters[c]]
                        .iter()
                        .all(|i| members[side].contains(i))
                })
                .collect()
        };
        let (left, right) = (inside(m.left), inside(m.right));
        let left_risk: f64 = left.iter().map(|&c| cluster_variance[c]).sum();
        let right_risk: f64 = right.iter().map(|&c| cluster_variance[c]).sum();
        let alpha = 1.0 - left_risk / (left_risk + right_risk);
        left.iter().for_each(|&c| cluster_weight[c] *= alpha);
        right.iter().for_each(|&c| cluster_weight[c] *= 1.0 - alpha);
        pending.push(m.left);
        pending.push(m.right);
    }
    for (c, &node) in clusters.iter().enumerate() {
        for &i in &members[node] {
            weights[i] *= cluster_weight[c];
        }
    }
    Ok((weights, count))
}

/// The variance of a cluster's inverse-variance portfolio.
fn cluster_variance(cov: MatRef<'_, f64>, items: &[usize]) -> f64 {
    let inverse: Vec<f64> = items.iter().map(|&i| 1.0 / cov[(i, i)]).collect();
    let total: f64 = inverse.iter().sum();
    let w: Vec<f64> = inverse.iter().map(|v| v / total).collect();
    let mut variance = 0.0;
    for (a, &i) in items.iter().enumerate() {
        for (b, &j) in items.iter().enumerate() {
            variance += w[a] * cov[(i, j)] * w[b];
        }
    }
    variance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cov3() -> Mat<f64> {
        let sd = [0.1, 0.2, 0.3];
        let rho = [[1.0, 0.3, 0.1], [0.3, 1.0, 0.5], [0.1, 0.5, 1.0]];
        Mat::from_fn(3, 3, |i, j| sd[i] * sd[j] * rho[i][j])
    }

    #[test]
    fn risk_parity_equalises_contributions() {
        let w = risk_budgeting(cov3().as_ref(), None).unwrap();
        let rc = risk_contributions(cov3().as_ref(), &w);
        for c in &rc {
            assert!((c - 1.0 / 3.0).abs() < 1e-12, "{rc:?}");
        }
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        let budgets = [0.5, 0.3, 0.2];
        let w = risk_budgeting(cov3().as_ref(), Some(&budgets)).unwrap();
        let rc = risk_contributions(cov3().as_ref(), &w);
        for (c, b) in rc.iter().zip(budgets) {
            assert!((c - b).abs() < 1e-12);
        }
    }

    #[test]
    fn uncorrelated_risk_parity_is_inverse_volatility() {
        let cov = Mat::from_fn(
            3,
            3,
            |i, j| if i == j { [0.01, 0.04, 0.09][i] } else { 0.0 },
        );
        let rp = risk_budgeting(cov.as_ref(), None).unwrap();
        let iv = inverse_volatility(cov.as_ref()).unwrap();
        for (a, b) in rp.iter().zip(&iv) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn bad_budgets_and_zero_variance_are_refused() {
        assert!(risk_budgeting(cov3().as_ref(), Some(&[1.0, 2.0])).is_err());
        assert!(risk_budgeting(cov3().as_ref(), Some(&[1.0, 0.0, 2.0])).is_err());
        assert!(risk_budgeting(cov3().as_ref(), Some(&[1.0, f64::NAN, 2.0])).is_err());
        let mut flat = cov3();
        flat[(1, 1)] = 0.0;
        assert!(inverse_volatility(flat.as_ref()).is_err());
        assert!(hierarchical_risk_parity(flat.as_ref(), Linkage::Single).is_err());
    }

    #[test]
    fn hrp_of_two_assets_is_inverse_variance() {
        let cov = Mat::from_fn(2, 2, |i, j| if i == j { [0.04, 0.01][i] } else { 0.005 });
        let (w, _) = hierarchical_risk_parity(cov.as_ref(), Linkage::Single).unwrap();
        assert!((w[0] - 0.2).abs() < 1e-15 && (w[1] - 0.8).abs() < 1e-15);
    }

    #[test]
    fn max_diversification_beats_equal_weight() {
        let w = max_diversification(cov3().as_ref()).unwrap();
        let best = diversification_ratio(cov3().as_ref(), &w);
        assert!(best >= diversification_ratio(cov3().as_ref(), &equal_weight(3)) - 1e-12);
    }
}
