//! Correlation of two assets' returns, for each estimation method.
//!
//! Both series are first restricted to their common dates, so a return always pairs the same two
//! sessions for both assets.
//!
//! * **moments** — the Pearson correlation of the returns scaled to unit time. scrilla divided
//!   the covariance by n but the variances by n − 1, shrinking every correlation by (n − 1)/n
//!   (defect D3); Stratus uses consistent denominators.
//! * **percentiles** — the copula fit scrilla intended but never ran (its code always crashed,
//!   defect D2): standardise both annualised samples, take their type-6 percentiles at 10, 16, 50,
//!   84 and 90 %, and choose ρ ∈ [−0.99999, 0.99999] minimising the squared distance between the
//!   bivariate normal distribution function at those points and the empirical copula there.
//! * **likelihood** — the maximum-likelihood correlation of a bivariate normal fitted to the
//!   annualised samples, which in closed form is their Pearson correlation. scrilla's
//!   Nelder–Mead search could wander into invalid covariance matrices (defect D10).

use crate::bivariate::bivariate_normal_cdf;
use crate::calendar::TradingCalendar;
use crate::error::AnalyticsError;
use crate::estimators::Method;
use crate::series::{LogReturns, PriceSeries};
use crate::stats;

const COPULA_PERCENTILES: [f64; 5] = [0.10, 0.16, 0.50, 0.84, 0.90];
const RHO_BOUND: f64 = 0.99999;

/// Returns of two series over their common dates.
#[derive(Debug, Clone)]
pub struct AlignedReturns {
    /// First asset.
    pub first: LogReturns,
    /// Second asset.
    pub second: LogReturns,
}

impl AlignedReturns {
    /// Restricts both series to their common dates and takes log returns.
    pub fn new(
        first: &PriceSeries,
        second: &PriceSeries,
        calendar: &TradingCalendar,
    ) -> Result<Self, AnalyticsError> {
        let a = first.restricted_to_dates_of(second);
        let b = second.restricted_to_dates_of(first);
        if a.len() < 3 {
            return Err(AnalyticsError::TooLittleOverlap {
                first: first.ticker().to_string(),
                second: second.ticker().to_string(),
                common: a.len(),
                needed: 3,
            });
        }
        Ok(AlignedReturns {
            first: a.log_returns(calendar),
            second: b.log_returns(calendar),
        })
    }
}

/// The correlation of two assets' returns with `method`.
pub fn correlation(
    aligned: &AlignedReturns,
    method: Method,
    periods_per_year: f64,
) -> Result<f64, AnalyticsError> {
    let (a, b) = (&aligned.first, &aligned.second);
    let rho = match method {
        Method::Moments => stats::pearson(
            &a.unit_time_scaled(periods_per_year),
            &b.unit_time_scaled(periods_per_year),
        ),
        Method::Likelihood => stats::pearson(
            &a.annualised_sample(periods_per_year),
            &b.annualised_sample(periods_per_year),
        ),
        Method::Percentiles => copula_correlation(
            &a.annualised_sample(periods_per_year),
            &b.annualised_sample(periods_per_year),
        ),
    };
    if !rho.is_finite() {
        return Err(AnalyticsError::Undefined {
            what: "correlation",
            ticker: format!("{} and {}", a.ticker, b.ticker),
            reason: "one of the series does not move in the window (zero variance)",
        });
    }
    Ok(rho)
}

/// Least-squares fit of a Gaussian copula's ρ to the empirical copula at five percentile pairs.
pub fn copula_correlation(x: &[f64], y: &[f64]) -> f64 {
    let standardise = |v: &[f64]| {
        let (m, s) = (stats::mean(v), stats::variance(v, 1).sqrt());
        v.iter().map(|e| (e - m) / s).collect::<Vec<f64>>()
    };
    let (zx, zy) = (standardise(x), standardise(y));
    if zx.iter().chain(&zy).any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let qx = stats::percentiles(&zx, &COPULA_PERCENTILES);
    let qy = stats::percentiles(&zy, &COPULA_PERCENTILES);
    let n = zx.len() as f64;
    let targets: Vec<(f64, f64, f64)> = qx
        .iter()
        .zip(&qy)
        .map(|(&px, &py)| {
            let below = zx
                .iter()
                .zip(&zy)
                .filter(|(a, b)| **a <= px && **b <= py)
                .count();
            (px, py, below as f64 / n)
        })
        .collect();
    let loss = |rho: f64| -> f64 {
        targets
            .iter()
            .map(|&(px, py, empirical)| {
                let gap = bivariate_normal_cdf(px, py, rho) - empirical;
                gap * gap
            })
            .sum()
    };
    // Coarse scan, then golden-section refinement around the best grid point: the loss is smooth
    // in ρ but need not be convex, and the scan keeps the search away from local minima.
    let steps = 200;
    let grid = |i: usize| -RHO_BOUND + 2.0 * RHO_BOUND * i as f64 / steps as f64;
    let best = (0..=steps)
        .min_by(|&i, &j| loss(grid(i)).total_cmp(&loss(grid(j))))
        .unwrap_or(0);
    let (mut lo, mut hi) = (grid(best.saturating_sub(1)), grid((best + 1).min(steps)));
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = hi - ratio * (hi - lo);
    let mut d = lo + ratio * (hi - lo);
    let (mut fc, mut fd) = (loss(c), loss(d));
    while hi - lo > 1e-12 {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - ratio * (hi - lo);
            fc = loss(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + ratio * (hi - lo);
            fd = loss(d);
        }
    }
    (lo + hi) / 2.0
}

/// The symmetric correlation matrix (unit diagonal) of several series, pair by pair.
pub fn correlation_matrix(
    series: &[PriceSeries],
    method: Method,
    calendar: &TradingCalendar,
    periods_per_year: f64,
) -> Result<Vec<Vec<f64>>, AnalyticsError> {
    let n = series.len();
    let mut matrix = vec![vec![1.0; n]; n];
    for i in 0..n {
        for j in (i + 1)..n {
            let aligned = AlignedReturns::new(&series[i], &series[j], calendar)?;
            let rho = correlation(&aligned, method, periods_per_year)?;
            matrix[i][j] = rho;
            matrix[j][i] = rho;
        }
    }
    Ok(matrix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::standard_normals;

    #[test]
    fn copula_recovers_the_correlation_of_a_gaussian_sample() {
        // Correlated normals with ρ = 0.6 from the project's reproducible stream.
        let z1 = standard_normals(11, 20_000);
        let z2 = standard_normals(12, 20_000);
        let rho = 0.6f64;
        let x: Vec<f64> = z1.clone();
        let y: Vec<f64> = z1
            .iter()
            .zip(&z2)
            .map(|(a, b)| rho * a + (1.0 - rho * rho).sqrt() * b)
            .collect();
        let fitted = copula_correlation(&x, &y);
        assert!((fitted - rho).abs() < 0.03, "fitted {fitted}");
    }

    #[test]
    fn copula_of_independent_samples_is_near_zero_and_bounded() {
        let x = standard_normals(21, 20_000);
        let y = standard_normals(22, 20_000);
        assert!(copula_correlation(&x, &y).abs() < 0.03);
        let fitted = copula_correlation(&x, &x);
        assert!(fitted > 0.99 && fitted <= RHO_BOUND);
    }
}
