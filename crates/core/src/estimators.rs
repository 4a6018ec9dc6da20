//! The three ways scrilla estimates an asset's annual return and volatility from log returns.
//!
//! All three model prices as geometric Brownian motion and report the GBM drift μ (so every
//! estimator adds the Itô term σ²/2 to the log drift) and the annual volatility σ.
//!
//! * **moments** — log drift from the first and last price, σ the sample standard deviation
//!   (n − 1) of returns scaled to unit time. Without gaps: σ = std(ℓ)·√252, μ = 252·mean(ℓ) + σ²/2.
//! * **percentiles** — match a normal to the sample's quartiles (Hyndman–Fan type 6). scrilla
//!   solved Φ((q1 − a)/s) = ¼, Φ((q3 − a)/s) = ¾ numerically; the exact solution is
//!   a = (q1 + q3)/2, s = (q3 − q1)/(2·Φ⁻¹(¾)), which is what Stratus computes.
//! * **likelihood** — the maximum-likelihood normal of the annualised sample, in closed form
//!   (mean, and the population standard deviation). scrilla's SLSQP stopped about 1e-4 short.
//!
//! Where a return spans Δ > 1 periods (missing sessions in the data), moments scale it by √Δ
//! around a drift of m·Δ·dt, and the sample used by the other two divides it by Δ, as scrilla
//! does. scrilla's moments drift divided the log price change by the number of returns even when
//! some spanned several periods; Stratus divides by the periods actually elapsed.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::AnalyticsError;
use crate::series::LogReturns;
use crate::stats;

/// How return and volatility are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Sample moments (the default).
    #[default]
    Moments,
    /// Quartile matching.
    Percentiles,
    /// Maximum likelihood.
    Likelihood,
}

impl Method {
    /// All methods, in scrilla's order.
    pub const ALL: [Method; 3] = [Method::Moments, Method::Percentiles, Method::Likelihood];

    /// The name stored in cache tables and accepted on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Moments => "moments",
            Method::Percentiles => "percentiles",
            Method::Likelihood => "likelihood",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = AnalyticsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "moments" | "mom" => Ok(Method::Moments),
            "percentiles" | "per" => Ok(Method::Percentiles),
            "likelihood" | "like" => Ok(Method::Likelihood),
            _ => Err(AnalyticsError::InvalidParameter {
                name: "method",
                value: s.to_string(),
                reason: "expected moments, percentiles or likelihood",
            }),
        }
    }
}

/// Annualised GBM parameters of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskProfile {
    /// GBM drift μ per year (log drift + σ²/2).
    pub annual_return: f64,
    /// σ per year.
    pub annual_volatility: f64,
}

/// Φ⁻¹(0.75).
pub fn upper_quartile_z() -> f64 {
    standard_normal().inverse_cdf(0.75)
}

pub(crate) fn standard_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal parameters are valid")
}

/// Estimates the annual return and volatility of `returns` with `method`.
///
/// Needs at least two returns (three prices): one return has no dispersion.
pub fn estimate(
    returns: &LogReturns,
    method: Method,
    periods_per_year: f64,
) -> Result<RiskProfile, AnalyticsError> {
    returns.require(2)?;
    let dt = 1.0 / periods_per_year;
    let profile = match method {
        Method::Moments => {
            let elapsed_years = returns.total_periods() as f64 * dt;
            let log_drift = returns.total_log / elapsed_years;
            let sum_sq: f64 = returns
                .values
                .iter()
                .zip(&returns.periods)
                .map(|(l, &p)| {
                    let span = f64::from(p) * dt;
                    let residual = (l - log_drift * span) / span.sqrt();
                    residual * residual
                })
                .sum();
            let variance = sum_sq / (returns.len() - 1) as f64;
            RiskProfile {
                annual_return: log_drift + variance / 2.0,
                annual_volatility: variance.sqrt(),
            }
        }
        Method::Percentiles => {
            let sample = returns.annualised_sample(periods_per_year);
            let q = stats::percentiles(&sample, &[0.25, 0.75]);
            let centre = (q[0] + q[1]) / 2.0;
            let scale = (q[1] - q[0]) / (2.0 * upper_quartile_z());
            let volatility = scale * dt.sqrt();
            RiskProfile {
                annual_return: centre + volatility * volatility / 2.0,
                annual_volatility: volatility,
            }
        }
        Method::Likelihood => {
            let sample = returns.annualised_sample(periods_per_year);
            let centre = stats::mean(&sample);
            let scale = stats::variance(&sample, 0).sqrt();
            let volatility = scale * dt.sqrt();
            RiskProfile {
                annual_return: centre + volatility * volatility / 2.0,
                annual_volatility: volatility,
            }
        }
    };
    if !(profile.annual_return.is_finite() && profile.annual_volatility.is_finite()) {
        return Err(AnalyticsError::Undefined {
            what: "risk profile",
            ticker: returns.ticker.clone(),
            reason: "the estimate is not a finite number",
        });
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarKind, TradingCalendar};
    use crate::series::PriceSeries;

    fn series(closes: &[f64]) -> LogReturns {
        let cal = TradingCalendar::get(CalendarKind::Nyse);
        let dates = cal.sessions("2022-01-03".parse().unwrap(), "2022-03-31".parse().unwrap());
        PriceSeries::new("X", dates.into_iter().zip(closes.iter().copied()))
            .unwrap()
            .log_returns(cal)
    }

    #[test]
    fn quartile_z_is_exact() {
        assert!((upper_quartile_z() - 0.674_489_750_196_081_7).abs() < 1e-12);
    }

    #[test]
    fn moments_without_gaps_is_std_times_sqrt_252() {
        let closes = [100.0, 101.0, 99.5, 102.25, 103.0, 101.0];
        let r = series(&closes);
        let logs: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let sd = stats::variance(&logs, 1).sqrt() * 252f64.sqrt();
        let mu = stats::mean(&logs) * 252.0 + sd * sd / 2.0;
        let p = estimate(&r, Method::Moments, 252.0).unwrap();
        assert!((p.annual_volatility - sd).abs() < 1e-12 * sd);
        assert!((p.annual_return - mu).abs() < 1e-12 * mu.abs());
    }

    #[test]
    fn likelihood_uses_population_deviation() {
        let closes = [100.0, 101.0, 99.5, 102.25, 103.0, 101.0];
        let r = series(&closes);
        let sample: Vec<f64> = closes
            .windows(2)
            .map(|w| (w[1] / w[0]).ln() * 252.0)
            .collect();
        let vol = stats::variance(&sample, 0).sqrt() / 252f64.sqrt();
        let p = estimate(&r, Method::Likelihood, 252.0).unwrap();
        assert!((p.annual_volatility - vol).abs() < 1e-12);
        assert!((p.annual_return - (stats::mean(&sample) + vol * vol / 2.0)).abs() < 1e-10);
    }

    #[test]
    fn one_return_is_too_few() {
        let err = estimate(&series(&[1.0, 2.0]), Method::Moments, 252.0).unwrap_err();
        assert!(
            matches!(
                err,
                AnalyticsError::TooFewPrices {
                    found: 2,
                    needed: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn parses_method_names_and_rejects_others() {
        assert_eq!(
            "Percentiles".parse::<Method>().unwrap(),
            Method::Percentiles
        );
        assert_eq!("like".parse::<Method>().unwrap(), Method::Likelihood);
        let err = "percents".parse::<Method>().unwrap_err().to_string();
        assert!(err.contains("percents") && err.contains("moments, percentiles or likelihood"));
    }
}
