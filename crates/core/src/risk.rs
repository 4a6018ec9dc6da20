//! Risk measures: Sharpe ratio, CAPM, and value at risk three ways.
//!
//! * GBM (scrilla's `var`/`cvar`): the price level S_T that is undershot with probability p, and
//!   the expected price given that it is — price levels, not losses.
//! * Historical and Gaussian, on a sample of returns, as the portfolio libraries report them:
//!   positive loss fractions at tail probability α. The historical VaR is the order statistic
//!   L₍k₎ with k = ⌈α·T⌉ (no interpolation), and the CVaR averages the worst α·T losses with a
//!   fractional weight on the boundary one (Rockafellar–Uryasev); skfolio and riskfolio-lib use
//!   the same rule.

use statrs::distribution::{Continuous, ContinuousCDF};

use crate::error::AnalyticsError;
use crate::estimators::{RiskProfile, standard_normal};
use crate::stats;

/// (μ − r_f)/σ.
pub fn sharpe_ratio(profile: &RiskProfile, risk_free: f64) -> f64 {
    (profile.annual_return - risk_free) / profile.annual_volatility
}

/// CAPM β = ρ·σ_asset/σ_market.
pub fn capm_beta(asset: &RiskProfile, market: &RiskProfile, correlation: f64) -> f64 {
    correlation * asset.annual_volatility / market.annual_volatility
}

/// CAPM cost of equity r_f + β·(μ_market − r_f).
pub fn cost_of_equity(beta: f64, market: &RiskProfile, risk_free: f64) -> f64 {
    risk_free + beta * (market.annual_return - risk_free)
}

/// β of two return samples on the same dates, cov(r_i, r_m)/var(r_m).
pub fn beta_of_samples(asset: &[f64], market: &[f64]) -> f64 {
    stats::covariance(asset, market, 1) / stats::variance(market, 1)
}

/// Checks a probability strictly inside (0, 1).
pub fn check_probability(name: &'static str, p: f64) -> Result<(), AnalyticsError> {
    if p.is_finite() && p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidParameter {
            name,
            value: p.to_string(),
            reason: "a probability strictly between 0 and 1 is needed, e.g. 0.05",
        })
    }
}

fn check_horizon(expiry_years: f64) -> Result<(), AnalyticsError> {
    if expiry_years.is_finite() && expiry_years > 0.0 {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidParameter {
            name: "--expiry",
            value: expiry_years.to_string(),
            reason: "a positive horizon in years is needed, e.g. 0.5",
        })
    }
}

/// The p-quantile of the GBM price at `expiry_years`: S0·exp((μ − σ²/2)T + σ√T·Φ⁻¹(p)).
pub fn gbm_value_at_risk(
    spot: f64,
    profile: &RiskProfile,
    expiry_years: f64,
    prob: f64,
) -> Result<f64, AnalyticsError> {
    check_probability("--prob", prob)?;
    check_horizon(expiry_years)?;
    let (mu, sigma) = (profile.annual_return, profile.annual_volatility);
    let z = standard_normal().inverse_cdf(prob);
    Ok(spot * ((mu - sigma * sigma / 2.0) * expiry_years + sigma * expiry_years.sqrt() * z).exp())
}

/// E[S_T | S_T < VaR] under GBM: S0·e^{μT}·Φ(−d1)/Φ(−d2).
pub fn gbm_conditional_value_at_risk(
    spot: f64,
    profile: &RiskProfile,
    expiry_years: f64,
    prob: f64,
) -> Result<f64, AnalyticsError> {
    let var = gbm_value_at_risk(spot, profile, expiry_years, prob)?;
    let (mu, sigma) = (profile.annual_return, profile.annual_volatility);
    let vol_t = sigma * expiry_years.sqrt();
    let d1 = ((spot / var).ln() + (mu + sigma * sigma / 2.0) * expiry_years) / vol_t;
    let d2 = d1 - vol_t;
    let normal = standard_normal();
    Ok(spot * (mu * expiry_years).exp() * normal.cdf(-d1) / normal.cdf(-d2))
}

/// Tail size κ = α·T, guarding against α·T landing a rounding error above an integer.
fn tail_size(alpha: f64, count: usize) -> f64 {
    let kappa = alpha * count as f64;
    let nearest = kappa.round();
    if (kappa - nearest).abs() < 1e-9 {
        nearest
    } else {
        kappa
    }
}

/// The simple returns over every `horizon` consecutive sessions of `closes` (overlapping), the
/// sample a historical VaR over that horizon is taken from.
pub fn horizon_returns(closes: &[f64], horizon: usize) -> Vec<f64> {
    if horizon == 0 {
        return Vec::new();
    }
    closes
        .windows(horizon + 1)
        .map(|w| w[horizon] / w[0] - 1.0)
        .collect()
}

/// Historical VaR of a return sample at tail probability `alpha`, as a positive loss fraction.
pub fn historical_var(returns: &[f64], alpha: f64) -> Result<f64, AnalyticsError> {
    check_probability("--prob", alpha)?;
    let mut losses: Vec<f64> = returns.iter().map(|r| -r).collect();
    let k = (tail_size(alpha, losses.len()).ceil() as usize).clamp(1, losses.len().max(1));
    if losses.is_empty() {
        return Err(AnalyticsError::InvalidParameter {
            name: "returns",
            value: "0".into(),
            reason: "at least one return is needed",
        });
    }
    // The k-th largest loss, by selection rather than a full sort.
    let (_, kth, _) = losses.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    Ok(*kth)
}

/// Historical CVaR (expected shortfall) at tail probability `alpha`, as a positive loss fraction.
pub fn historical_cvar(returns: &[f64], alpha: f64) -> Result<f64, AnalyticsError> {
    let var = historical_var(returns, alpha)?;
    let kappa = tail_size(alpha, returns.len()).max(1.0);
    let whole = kappa.floor() as usize;
    let mut losses: Vec<f64> = returns.iter().map(|r| -r).collect();
    let sum_whole: f64 = if whole > 0 {
        losses.select_nth_unstable_by(whole - 1, |a, b| b.total_cmp(a));
        losses[..whole].iter().sum()
    } else {
        0.0
    };
    // The boundary observation is L₍whole+1₎, which equals the VaR whenever κ is fractional.
    Ok((sum_whole + (kappa - whole as f64) * var) / kappa)
}

/// Gaussian VaR z·s − m at tail probability `alpha` (m, s: sample mean and ddof-1 deviation).
pub fn gaussian_var(returns: &[f64], alpha: f64) -> Result<f64, AnalyticsError> {
    check_probability("--prob", alpha)?;
    let z = standard_normal().inverse_cdf(1.0 - alpha);
    Ok(z * stats::variance(returns, 1).sqrt() - stats::mean(returns))
}

/// Gaussian CVaR s·φ(z)/α − m at tail probability `alpha`.
pub fn gaussian_cvar(returns: &[f64], alpha: f64) -> Result<f64, AnalyticsError> {
    check_probability("--prob", alpha)?;
    let normal = standard_normal();
    let z = normal.inverse_cdf(1.0 - alpha);
    Ok(stats::variance(returns, 1).sqrt() * normal.pdf(z) / alpha - stats::mean(returns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn historical_rules_on_a_small_sample() {
        // 20 returns −0.10, −0.09, …, 0.09; α = 0.05 → κ = 1, VaR = worst loss 0.10.
        let r: Vec<f64> = (0..20).map(|i| f64::from(i) / 100.0 - 0.10).collect();
        assert!((historical_var(&r, 0.05).unwrap() - 0.10).abs() < 1e-15);
        assert!((historical_cvar(&r, 0.05).unwrap() - 0.10).abs() < 1e-15);
        // α = 0.12 → κ = 2.4, k = 3: VaR = 0.08; CVaR = (0.10 + 0.09 + 0.4·0.08)/2.4.
        assert!((historical_var(&r, 0.12).unwrap() - 0.08).abs() < 1e-15);
        let want = (0.10 + 0.09 + 0.4 * 0.08) / 2.4;
        assert!((historical_cvar(&r, 0.12).unwrap() - want).abs() < 1e-15);
    }

    #[test]
    fn gbm_cvar_is_below_var_and_matches_monte_carlo_free_identity() {
        let p = RiskProfile {
            annual_return: 0.08,
            annual_volatility: 0.25,
        };
        let var = gbm_value_at_risk(100.0, &p, 0.5, 0.05).unwrap();
        let cvar = gbm_conditional_value_at_risk(100.0, &p, 0.5, 0.05).unwrap();
        // Quantile by hand: z(0.05) = −1.6448536269514722.
        let want = 100.0
            * ((0.08 - 0.03125) * 0.5 + 0.25 * 0.5f64.sqrt() * -1.644_853_626_951_472_2).exp();
        assert!((var - want).abs() < 1e-9);
        assert!(cvar < var);
        // Partial expectation identity: p·CVaR + (1 − p)·E[S | S ≥ VaR] = S0·e^{μT}.
        let normal = standard_normal();
        let d1 = ((100.0f64 / var).ln() + (0.08 + 0.03125) * 0.5) / (0.25 * 0.5f64.sqrt());
        let upper = 100.0 * (0.04f64).exp() * normal.cdf(d1) / 0.95;
        assert!((0.05 * cvar + 0.95 * upper - 100.0 * 0.04f64.exp()).abs() < 1e-9);
    }

    #[test]
    fn bad_probability_and_horizon_are_named() {
        let p = RiskProfile {
            annual_return: 0.1,
            annual_volatility: 0.2,
        };
        let e = gbm_value_at_risk(1.0, &p, 1.0, 1.5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--prob") && e.contains("1.5"), "{e}");
        let e = gbm_value_at_risk(1.0, &p, -1.0, 0.05)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--expiry"), "{e}");
        assert!(historical_var(&[0.1], f64::NAN).is_err());
    }

    #[test]
    fn capm_identities() {
        let asset = RiskProfile {
            annual_return: 0.12,
            annual_volatility: 0.30,
        };
        let market = RiskProfile {
            annual_return: 0.08,
            annual_volatility: 0.15,
        };
        let beta = capm_beta(&asset, &market, 0.5);
        assert!((beta - 1.0).abs() < 1e-15);
        assert!((cost_of_equity(beta, &market, 0.02) - 0.08).abs() < 1e-15);
        assert!((sharpe_ratio(&asset, 0.03) - 0.3).abs() < 1e-15);
    }

    #[test]
    fn horizon_returns_overlap_and_span_the_horizon() {
        let closes = [100.0, 110.0, 99.0, 121.0];
        let close = |got: Vec<f64>, want: &[f64]| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-15, "{g} vs {w}");
            }
        };
        close(
            horizon_returns(&closes, 1),
            &[0.1, -0.1, 121.0 / 99.0 - 1.0],
        );
        close(horizon_returns(&closes, 3), &[0.21]);
        assert!(horizon_returns(&closes, 4).is_empty());
        assert!(horizon_returns(&closes, 0).is_empty());
    }
}
