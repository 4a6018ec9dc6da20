//! The critical line against closed forms and brute force on small problems.

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
