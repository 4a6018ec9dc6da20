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

/// The correlation matrix of series that share every date, in one pass: one covariance matrix of
/// all return columns, which gives the same Pearson correlations as pair by pair (the moments
/// estimator scales returns by unit time, the others annualise them — the scaling cancels).
/// The caller checks that the dates are shared.
pub fn correlation_matrix_on_shared_dates(
    series: &[PriceSeries],
    calendar: &TradingCalendar,
    method: Method,
    periods_per_year: f64,
) -> Result<Vec<Vec<f64>>, AnalyticsError> {
    use crate::covariance::{Par, correlation_from_covariance, covariance_matrix};
    let Some(first) = series.first() else {
        return Ok(Vec::new());
    };
    first.require(3)?;
    let columns: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            let r = s.log_returns(calendar);
            match method {
                Method::Moments => r.unit_time_scaled(periods_per_year),
                _ => r.annualised_sample(periods_per_year),
            }
        })
        .collect();
    let rows = columns[0].len();
    let matrix = faer::Mat::from_fn(rows, columns.len(), |t, j| columns[j][t]);
    let cov = covariance_matrix(matrix.as_ref(), 1.0, Par::Seq);
    for (j, s) in series.iter().enumerate() {
        if cov[(j, j)].is_nan() || cov[(j, j)] <= 0.0 {
            return Err(AnalyticsError::Undefined {
                what: "correlation",
                ticker: s.ticker().to_string(),
                reason: "the series does not move in the window (zero variance)",
            });
        }
    }
    let corr = correlation_from_covariance(cov.as_ref());
    Ok((0..columns.len())
        .map(|i| {
            (0..columns.len())
                .map(|j| corr[(i, j)].clamp(-1.0, 1.0))
                .collect()
        })
        .collect())
}

/// scrilla's rolling correlation: for each date of `a` and `b` (restricted to the dates both
/// have) on or after `from`, the moments correlation over the `lookback` returns ending there.
/// Dates with fewer than `lookback` returns before them are skipped; `None` when none is left.
pub fn rolling_correlation(
    a: &PriceSeries,
    b: &PriceSeries,
    calendar: &TradingCalendar,
    lookback: usize,
    from: chrono::NaiveDate,
    periods_per_year: f64,
) -> Result<Option<Vec<(chrono::NaiveDate, f64)>>, AnalyticsError> {
    let joint_a = a.restricted_to_dates_of(b);
    let joint_b = b.restricted_to_dates_of(a);
    let mut out = Vec::new();
    for (index, &date) in joint_a.dates().iter().enumerate() {
        if date < from || index < lookback {
            continue;
        }
        let slice = |s: &PriceSeries| {
            PriceSeries::new(
                s.ticker(),
                s.dates()[index - lookback..=index]
                    .iter()
                    .copied()
                    .zip(s.closes()[index - lookback..=index].iter().copied()),
            )
        };
        let aligned = AlignedReturns::new(&slice(&joint_a)?, &slice(&joint_b)?, calendar)?;
        out.push((
            date,
            correlation(&aligned, Method::Moments, periods_per_year)?,
        ));
    }
    Ok((!out.is_empty()).then_some(out))
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

    fn walk(ticker: &str, seed: u64, n: usize) -> PriceSeries {
        let calendar = TradingCalendar::get(crate::CalendarKind::Nyse);
        let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 2).unwrap();
        let dates = calendar.sessions(start, start + chrono::Duration::days(2 * n as i64));
        let mut price = 100.0;
        let steps = standard_normals(seed, n);
        PriceSeries::new(
            ticker,
            dates.into_iter().take(n).zip(steps).map(|(d, z)| {
                price *= (0.01 * z).exp();
                (d, price)
            }),
        )
        .unwrap()
    }

    #[test]
    fn the_one_pass_matrix_equals_the_pairwise_one() {
        let calendar = TradingCalendar::get(crate::CalendarKind::Nyse);
        let series: Vec<PriceSeries> = (0..12).map(|i| walk("T", 100 + i, 120)).collect();
        for method in [Method::Moments, Method::Likelihood] {
            let one_pass =
                correlation_matrix_on_shared_dates(&series, calendar, method, 252.0).unwrap();
            let pairwise = correlation_matrix(&series, method, calendar, 252.0).unwrap();
            for (a, b) in one_pass.iter().flatten().zip(pairwise.iter().flatten()) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b} ({method})");
            }
        }
    }

    #[test]
    fn a_flat_series_has_no_one_pass_correlation() {
        let calendar = TradingCalendar::get(crate::CalendarKind::Nyse);
        let moving = walk("A", 1, 50);
        let flat = PriceSeries::new("F", moving.dates().iter().map(|d| (*d, 10.0))).unwrap();
        let error =
            correlation_matrix_on_shared_dates(&[moving, flat], calendar, Method::Moments, 252.0)
                .unwrap_err();
        assert!(error.to_string().contains('F'), "{error}");
    }

    #[test]
    fn each_rolling_value_is_the_correlation_of_its_own_window() {
        let calendar = TradingCalendar::get(crate::CalendarKind::Nyse);
        let (a, b) = (walk("A", 5, 80), walk("B", 6, 80));
        let from = a.dates()[40];
        let rolled = rolling_correlation(&a, &b, calendar, 30, from, 252.0)
            .unwrap()
            .unwrap();
        assert_eq!(rolled.len(), 40);
        assert_eq!(rolled[0].0, from);
        let window = |s: &PriceSeries| {
            PriceSeries::new(
                s.ticker(),
                s.dates()[10..=40]
                    .iter()
                    .copied()
                    .zip(s.closes()[10..=40].iter().copied()),
            )
            .unwrap()
        };
        let direct = correlation(
            &AlignedReturns::new(&window(&a), &window(&b), calendar).unwrap(),
            Method::Moments,
            252.0,
        )
        .unwrap();
        assert!((rolled[0].1 - direct).abs() < 1e-15);
        assert!(
            rolling_correlation(&a, &b, calendar, 100, from, 252.0)
                .unwrap()
                .is_none()
        );
    }
}
