//! Small sample statistics shared by the estimators, written once so every estimator uses the
//! same conventions (two-pass moments, Hyndman–Fan type 6 percentiles).

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Variance with `ddof` degrees of freedom removed (two-pass, so it matches numpy closely).
pub fn variance(values: &[f64], ddof: usize) -> f64 {
    let centre = mean(values);
    values
        .iter()
        .map(|v| (v - centre) * (v - centre))
        .sum::<f64>()
        / (values.len() - ddof) as f64
}

/// Covariance of two equally long samples with `ddof` degrees of freedom removed.
pub fn covariance(x: &[f64], y: &[f64], ddof: usize) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    let (mx, my) = (mean(x), mean(y));
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / (x.len() - ddof) as f64
}

/// Pearson correlation with consistent denominators (scrilla's defect D3 divided the covariance
/// by n and the variances by n − 1).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

/// Sample percentile of an ascending slice, Hyndman–Fan type 6 (numpy's `weibull` method), the
/// rule scrilla uses: h = (n + 1)·p, interpolated between neighbours. Where h < 1 the minimum is
/// returned (scrilla wrapped around to the maximum, defect D19) and where h ≥ n the maximum.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    debug_assert!(n > 0);
    let h = (n as f64 + 1.0) * p;
    if h < 1.0 {
        return sorted[0];
    }
    if h >= n as f64 {
        return sorted[n - 1];
    }
    let lower = h.floor();
    let index = lower as usize; // 1-based position of the lower neighbour
    let weight = h - lower;
    sorted[index - 1] + weight * (sorted[index] - sorted[index - 1])
}

/// Sorts a copy ascending (NaN-free input assumed) and takes type-6 percentiles.
pub fn percentiles(values: &[f64], ps: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    ps.iter().map(|&p| percentile_sorted(&sorted, p)).collect()
}

/// Points of a normal QQ plot, scrilla's rule: for i = 0 … n−1, (Φ⁻¹((i + ½)/n), the type-6
/// sample percentile at (i + ½)/n).
pub fn qq_points(values: &[f64]) -> Vec<(f64, f64)> {
    use statrs::distribution::ContinuousCDF;
    let normal = crate::estimators::standard_normal();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    (0..sorted.len())
        .map(|i| {
            let p = (i as f64 + 0.5) / n;
            (normal.inverse_cdf(p), percentile_sorted(&sorted, p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type6_percentiles_match_numpy_weibull() {
        // numpy.percentile([1,2,3,4,5,6,7,8,9,10], [25,50,75,5,99], method="weibull")
        // = [2.75, 5.5, 8.25, 1.0, 10.0]
        let data: Vec<f64> = (1..=10).map(f64::from).collect();
        let got = percentiles(&data, &[0.25, 0.5, 0.75, 0.05, 0.99]);
        let want = [2.75, 5.5, 8.25, 1.0, 10.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
    }

    #[test]
    fn qq_points_pair_normal_quantiles_with_sample_percentiles() {
        let points = qq_points(&[3.0, 1.0, 2.0, 4.0]);
        assert_eq!(points.len(), 4);
        // p = 0.125: z = −1.1503493803760083; h = 5·0.125 = 0.625 < 1 → the minimum.
        assert!((points[0].0 + 1.150_349_380_376_008_3).abs() < 1e-12 && points[0].1 == 1.0);
        // p = 0.375: h = 1.875 → 1 + 0.875·(2 − 1).
        assert!((points[1].1 - 1.875).abs() < 1e-15);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        );
    }

    #[test]
    fn moments_match_hand_values() {
        let x = [1.0, 2.0, 4.0, 7.0];
        let y = [2.0, 1.0, 5.0, 9.0];
        assert!((mean(&x) - 3.5).abs() < 1e-15);
        assert!((variance(&x, 1) - 7.0).abs() < 1e-12); // (6.25+2.25+0.25+12.25)/3
        assert!((variance(&x, 0) - 5.25).abs() < 1e-12);
        // cov = ((-2.5)(-2.25)+(-1.5)(-3.25)+(0.5)(0.75)+(3.5)(4.75))/3 = 27.5/3
        assert!((covariance(&x, &y, 1) - 27.5 / 3.0).abs() < 1e-12);
        let r = pearson(&x, &y);
        let want = 27.5 / (21.0f64 * 38.75).sqrt();
        assert!((r - want).abs() < 1e-12);
    }
}
