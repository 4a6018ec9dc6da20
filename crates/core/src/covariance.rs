//! Sample covariance of many return series at once.
//!
//! The covariance matrix is the hot kernel of portfolio work (2000 assets × 2520 days is 10¹⁰
//! flops). It is computed as a symmetric rank-k update of the centred returns: only the lower
//! triangle is multiplied (faer's triangular matmul, the same cost as BLAS `syrk`), then mirrored.
//! One thread by default: on a small, busy machine threads cost more than they gain for the
//! matrix sizes portfolios use, and callers can opt in with [`Par`].

pub use faer::Par;
use faer::linalg::matmul::triangular::{BlockStructure, matmul};
use faer::{Accum, Mat, MatRef};

/// Column means of a T × N matrix.
pub fn column_means(returns: MatRef<'_, f64>) -> Vec<f64> {
    let rows = returns.nrows() as f64;
    (0..returns.ncols())
        .map(|j| returns.col(j).iter().sum::<f64>() / rows)
        .collect()
}

/// The N × N sample covariance (ddof 1) of the columns of a T × N matrix, multiplied by `scale`
/// (252 annualises daily returns; 1 keeps the daily scale).
pub fn covariance_matrix(returns: MatRef<'_, f64>, scale: f64, par: Par) -> Mat<f64> {
    let (days, assets) = (returns.nrows(), returns.ncols());
    assert!(days >= 2, "a covariance needs at least two observations");
    let means = column_means(returns);
    let centred = Mat::from_fn(days, assets, |t, j| returns[(t, j)] - means[j]);
    let mut cov = Mat::<f64>::zeros(assets, assets);
    matmul(
        cov.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        centred.transpose(),
        BlockStructure::Rectangular,
        centred.as_ref(),
        BlockStructure::Rectangular,
        scale / (days - 1) as f64,
        par,
    );
    for j in 0..assets {
        for i in 0..j {
            cov[(i, j)] = cov[(j, i)];
        }
    }
    cov
}

/// Correlation matrix from a covariance matrix.
pub fn correlation_from_covariance(cov: MatRef<'_, f64>) -> Mat<f64> {
    let n = cov.nrows();
    let sd: Vec<f64> = (0..n).map(|i| cov[(i, i)].sqrt()).collect();
    Mat::from_fn(n, n, |i, j| {
        if i == j {
            1.0
        } else {
            cov[(i, j)] / (sd[i] * sd[j])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats;

    #[test]
    fn matches_pairwise_two_pass_covariance() {
        let x = Mat::from_fn(50, 4, |t, j| {
            ((t * 7 + j * 13) % 17) as f64 / 10.0 - 0.8 + j as f64
        });
        let cov = covariance_matrix(x.as_ref(), 252.0, Par::Seq);
        for i in 0..4 {
            for j in 0..4 {
                let a: Vec<f64> = x.col(i).iter().copied().collect();
                let b: Vec<f64> = x.col(j).iter().copied().collect();
                let want = 252.0 * stats::covariance(&a, &b, 1);
                assert!((cov[(i, j)] - want).abs() <= 1e-12 * want.abs().max(1e-12));
            }
        }
        let corr = correlation_from_covariance(cov.as_ref());
        assert!((corr[(0, 0)] - 1.0).abs() < 1e-15 && corr[(1, 2)].abs() <= 1.0);
    }
}
