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

/// Column `j` as a slice, borrowed when the matrix is column-major (the usual case).
fn column(returns: MatRef<'_, f64>, j: usize) -> std::borrow::Cow<'_, [f64]> {
    match returns.col(j).try_as_col_major() {
        Some(contiguous) => std::borrow::Cow::Borrowed(contiguous.as_slice()),
        None => std::borrow::Cow::Owned(returns.col(j).iter().copied().collect()),
    }
}

/// Column means of a T × N matrix.
pub fn column_means(returns: MatRef<'_, f64>) -> Vec<f64> {
    let rows = returns.nrows() as f64;
    (0..returns.ncols())
        .map(|j| column(returns, j).iter().sum::<f64>() / rows)
        .collect()
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let tail: f64 = rest_a.iter().zip(rest_b).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f64>() + tail
}

/// Each column minus its mean, as contiguous column slices in one buffer.
fn centred_columns(returns: MatRef<'_, f64>) -> Vec<f64> {
    let days = returns.nrows();
    let mut buffer = Vec::with_capacity(days * returns.ncols());
    for j in 0..returns.ncols() {
        let start = buffer.len();
        buffer.extend_from_slice(&column(returns, j));
        let mean = buffer[start..].iter().sum::<f64>() / days as f64;
        buffer[start..].iter_mut().for_each(|v| *v -= mean);
    }
    buffer
}

/// The N × N sample covariance (ddof 1) of the columns of a T × N matrix, multiplied by `scale`
/// (252 annualises daily returns; 1 keeps the daily scale).
pub fn covariance_matrix(returns: MatRef<'_, f64>, scale: f64, par: Par) -> Mat<f64> {
    let (days, assets) = (returns.nrows(), returns.ncols());
    assert!(days >= 2, "a covariance needs at least two observations");
    let buffer = centred_columns(returns);
    gram(
        MatRef::from_column_major_slice(&buffer, days, assets),
        scale / (days - 1) as f64,
        par,
    )
}

/// `factor · XᵀX`: only the lower triangle is multiplied (faer's triangular product, the cost of
/// BLAS `syrk`), then mirrored.
pub(crate) fn gram(x: MatRef<'_, f64>, factor: f64, par: Par) -> Mat<f64> {
    let n = x.ncols();
    let mut out = Mat::<f64>::zeros(n, n);
    matmul(
        out.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        x.transpose(),
        BlockStructure::Rectangular,
        x,
        BlockStructure::Rectangular,
        factor,
        par,
    );
    for j in 0..n {
        for i in 0..j {
            out[(i, j)] = out[(j, i)];
        }
    }
    out
}

/// Standard deviations (ddof 1) of each column, times √`scale`: annual volatilities of daily
/// returns with `scale` = 252. Cheaper than the diagonal of the full covariance.
pub fn column_volatilities(returns: MatRef<'_, f64>, scale: f64) -> Vec<f64> {
    let days = returns.nrows();
    let centred = centred_columns(returns);
    centred
        .chunks_exact(days)
        .map(|c| (dot(c, c) * scale / (days - 1) as f64).sqrt())
        .collect()
}

/// CAPM betas cov(r_j, r_m)/var(r_m) of every column against one market series.
pub fn betas(returns: MatRef<'_, f64>, market: &[f64]) -> Vec<f64> {
    let days = returns.nrows();
    assert_eq!(
        days,
        market.len(),
        "market series must be as long as the returns"
    );
    let market_mean = market.iter().sum::<f64>() / days as f64;
    let market_centred: Vec<f64> = market.iter().map(|m| m - market_mean).collect();
    let market_ss = dot(&market_centred, &market_centred);
    // Σ (r − r̄)(m − m̄) = Σ r (m − m̄): the asset's mean drops out against a centred market.
    (0..returns.ncols())
        .map(|j| dot(&column(returns, j), &market_centred) / market_ss)
        .collect()
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
    fn both_paths_match_pairwise_two_pass_statistics() {
        for assets in [4, 51] {
            check_against_pairwise(assets);
        }
    }

    fn check_against_pairwise(assets: usize) {
        let x = Mat::from_fn(53, assets, |t, j| {
            ((t * 7 + j * 13) % 17) as f64 / 10.0 - 0.8 + j as f64
        });
        let cov = covariance_matrix(x.as_ref(), 252.0, Par::Seq);
        let vols = column_volatilities(x.as_ref(), 252.0);
        let market: Vec<f64> = x.col(0).iter().map(|v| v * 0.5 + 0.1).collect();
        let beta = betas(x.as_ref(), &market);
        for i in 0..assets {
            let a: Vec<f64> = x.col(i).iter().copied().collect();
            assert!((vols[i] - (252.0 * stats::variance(&a, 1)).sqrt()).abs() < 1e-12 * vols[i]);
            let want_beta = stats::covariance(&a, &market, 1) / stats::variance(&market, 1);
            assert!(
                (beta[i] - want_beta).abs() <= 1e-12 * want_beta.abs().max(1e-12),
                "beta {i}"
            );
            for j in 0..assets {
                let b: Vec<f64> = x.col(j).iter().copied().collect();
                let want = 252.0 * stats::covariance(&a, &b, 1);
                assert!(
                    (cov[(i, j)] - want).abs() <= 1e-12 * want.abs().max(1e-12),
                    "cov {i},{j}"
                );
            }
        }
        let corr = correlation_from_covariance(cov.as_ref());
        assert!((corr[(0, 0)] - 1.0).abs() < 1e-15 && corr[(1, 2)].abs() <= 1.0);
    }
}
