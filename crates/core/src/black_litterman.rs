//! Black–Litterman: blending a market-implied prior with an investor's views.
//!
//! Historical means are too noisy to optimise on; the prior here is the return the market would
//! need to hold its portfolio, π = δΣw_mkt + r_f, and views (absolute, "AAPL returns 10 %", or
//! relative, "MSFT beats KO by 3 %") move it as far as their confidence allows. Definitions follow
//! PyPortfolioOpt's `BlackLittermanModel` (He & Litterman 1999; Walters 2014):
//!
//! - Ω is diagonal; a view's variance is τ·α·pΣpᵀ with α = (1 − c)/c for confidence c (Idzorek's
//!   method in Walters' closed form). A view without a stated confidence takes c = ½, i.e. α = 1 —
//!   exactly He and Litterman's default Ω = τ·diag(PΣPᵀ); c = 0 gives PyPortfolioOpt's 10⁶;
//! - posterior returns μ = π + τΣPᵀ(PτΣPᵀ + Ω)⁻¹(Q − Pπ);
//! - posterior covariance Σ + τΣ − τΣPᵀ(PτΣPᵀ + Ω)⁻¹PτΣ.
//!
//! Unlike PyPortfolioOpt, a singular system (dependent views held with full confidence) is an
//! error naming the views, not a least-squares guess.

use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef};

use crate::AnalyticsError;

/// One view: Σⱼ pⱼ·rⱼ = q, with a confidence in [0, 1] (½ when not stated).
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The view portfolio, one coefficient per asset.
    pub picks: Vec<f64>,
    /// The return the view expects of that portfolio (annual).
    pub target: f64,
    /// Idzorek confidence.
    pub confidence: f64,
}

/// The posterior and how it was reached.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// The market-implied prior returns π.
    pub prior: Vec<f64>,
    /// Posterior expected returns.
    pub returns: Vec<f64>,
    /// Posterior covariance.
    pub covariance: Mat<f64>,
    /// Ω's diagonal, one variance per view.
    pub view_variances: Vec<f64>,
}

/// π = δ·Σ·w + r_f for market weights `w` (normalised here).
pub fn implied_prior(
    cov: MatRef<'_, f64>,
    market_weights: &[f64],
    delta: f64,
    risk_free: f64,
) -> Vec<f64> {
    let total: f64 = market_weights.iter().sum();
    let n = market_weights.len();
    (0..n)
        .map(|i| {
            delta
                * (0..n)
                    .map(|j| cov[(i, j)] * market_weights[j] / total)
                    .sum::<f64>()
                + risk_free
        })
        .collect()
}

fn bad(name: &'static str, value: String, reason: &'static str) -> AnalyticsError {
    AnalyticsError::InvalidParameter {
        name,
        value,
        reason,
    }
}

/// The Black–Litterman posterior for a prior π, covariance Σ, τ and views.
pub fn posterior(
    cov: MatRef<'_, f64>,
    prior: &[f64],
    tau: f64,
    views: &[View],
) -> Result<Posterior, AnalyticsError> {
    let n = prior.len();
    if !(tau.is_finite() && tau > 0.0 && tau <= 10.0) {
        return Err(bad(
            "--tau",
            tau.to_string(),
            "a positive number of at most 10 is needed, e.g. 0.05",
        ));
    }
    if views.is_empty() {
        return Err(bad(
            "--views",
            "none".into(),
            "at least one view is needed, e.g. \"AAPL = 0.1\"",
        ));
    }
    for v in views {
        if v.picks.len() != n || v.picks.iter().any(|p| !p.is_finite()) || !v.target.is_finite() {
            return Err(bad(
                "--views",
                format!("{v:?}"),
                "each view needs finite coefficients and a finite target",
            ));
        }
        if !(0.0..=1.0).contains(&v.confidence) {
            return Err(bad(
                "--views",
                v.confidence.to_string(),
                "a confidence between 0 and 1 is needed, e.g. @ 0.6",
            ));
        }
        if v.picks.iter().all(|p| *p == 0.0) {
            return Err(bad(
                "--views",
                format!("{v:?}"),
                "a view must name at least one ticker with a non-zero coefficient",
            ));
        }
    }
    let k = views.len();
    let p = Mat::from_fn(k, n, |r, j| views[r].picks[j]);
    // τΣPᵀ (n × k) and PτΣPᵀ (k × k).
    let tau_sigma_pt = Mat::from_fn(n, k, |i, r| {
        tau * (0..n).map(|j| cov[(i, j)] * p[(r, j)]).sum::<f64>()
    });
    let view_variances: Vec<f64> = views
        .iter()
        .enumerate()
        .map(|(r, v)| {
            if v.confidence == 0.0 {
                1e6
            } else {
                let alpha = (1.0 - v.confidence) / v.confidence;
                alpha
                    * (0..n)
                        .map(|j| p[(r, j)] * tau_sigma_pt[(j, r)])
                        .sum::<f64>()
            }
        })
        .collect();
    let a = Mat::from_fn(k, k, |r, s| {
        (0..n)
            .map(|j| p[(r, j)] * tau_sigma_pt[(j, s)])
            .sum::<f64>()
            + if r == s { view_variances[r] } else { 0.0 }
    });
    let lu = a.as_ref().full_piv_lu();
    let scale = (0..k).map(|r| a[(r, r)].abs()).fold(0.0, f64::max);
    let pivots_ok = {
        let u = lu.U();
        (0..k).all(|r| u[(r, r)].abs() > 1e-13 * scale.max(f64::MIN_POSITIVE))
    };
    if !pivots_ok {
        return Err(bad(
            "--views",
            format!("{k} views"),
            "the views are linearly dependent and held with full confidence (@ 1), so they cannot all hold; lower a confidence or drop a view",
        ));
    }
    let gap = Mat::from_fn(k, 1, |r, _| {
        views[r].target - (0..n).map(|j| p[(r, j)] * prior[j]).sum::<f64>()
    });
    let solved = lu.solve(&gap);
    let returns: Vec<f64> = (0..n)
        .map(|i| {
            prior[i]
                + (0..k)
                    .map(|r| tau_sigma_pt[(i, r)] * solved[(r, 0)])
                    .sum::<f64>()
        })
        .collect();
    // M = τΣ − τΣPᵀ A⁻¹ PτΣ.
    let m_solution = lu.solve(tau_sigma_pt.transpose());
    let covariance = Mat::from_fn(n, n, |i, j| {
        cov[(i, j)] * (1.0 + tau)
            - (0..k)
                .map(|r| tau_sigma_pt[(i, r)] * m_solution[(r, j)])
                .sum::<f64>()
    });
    let mut covariance = covariance;
    for j in 0..n {
        for i in 0..j {
            let mean = 0.5 * (covariance[(i, j)] + covariance[(j, i)]);
            covariance[(i, j)] = mean;
            covariance[(j, i)] = mean;
        }
    }
    if returns.iter().any(|r| !r.is_finite()) {
        return Err(bad(
            "--views",
            format!("{k} views"),
            "the posterior is not finite; check the views' targets and confidences",
        ));
    }
    Ok(Posterior {
        prior: prior.to_vec(),
        returns,
        covariance,
        view_variances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cov2() -> Mat<f64> {
        Mat::from_fn(2, 2, |i, j| [[0.04, 0.01], [0.01, 0.09]][i][j])
    }

    #[test]
    fn a_certain_view_is_met_and_an_ignored_one_changes_nothing() {
        let prior = implied_prior(cov2().as_ref(), &[1.0, 1.0], 2.5, 0.0);
        let certain = View {
            picks: vec![1.0, 0.0],
            target: 0.2,
            confidence: 1.0,
        };
        let post = posterior(cov2().as_ref(), &prior, 0.05, &[certain]).unwrap();
        assert!((post.returns[0] - 0.2).abs() < 1e-12);
        let ignored = View {
            picks: vec![1.0, -1.0],
            target: 0.5,
            confidence: 0.0,
        };
        let post = posterior(cov2().as_ref(), &prior, 0.05, &[ignored]).unwrap();
        for (a, b) in post.returns.iter().zip(&prior) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn contradictory_certain_views_are_refused() {
        let prior = vec![0.05, 0.06];
        let views = [
            View {
                picks: vec![1.0, 0.0],
                target: 0.1,
                confidence: 1.0,
            },
            View {
                picks: vec![2.0, 0.0],
                target: 0.3,
                confidence: 1.0,
            },
        ];
        assert!(posterior(cov2().as_ref(), &prior, 0.05, &views).is_err());
        assert!(posterior(cov2().as_ref(), &prior, f64::NAN, &views[..1]).is_err());
        assert!(posterior(cov2().as_ref(), &prior, 0.05, &[]).is_err());
    }
}
