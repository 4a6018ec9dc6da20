//! The critical line itself: from λ = ∞ (every asset at the bound its mean favours) down to λ = 0,
//! one asset entering or leaving its bound at each turning point, each step solving only the free
//! assets' system.

use faer::linalg::solvers::SolveCore;
use faer::{Conj, Mat, Side};

use super::{MAX_TURNING_POINTS, OptimizeError, Problem, TOLERANCE};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Free,
    AtLower,
    AtUpper,
}

/// The critical line from λ = ∞ (maximum return under `mean`) to λ = 0 (minimum variance).
pub(super) fn turning_points(
    problem: &Problem,
    mean: &[f64],
) -> Result<Vec<Vec<f64>>, OptimizeError> {
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
