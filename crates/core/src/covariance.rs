//! Sample covariance of many return series at once.
//!
//! The covariance matrix is the hot kernel of portfolio work (2000 assets × 2520 days is 10¹⁰
//! flops). It is computed as a symmetric rank-k update of the centred returns: only the lower
//! triangle is multiplied (faer's triangular matmul, the same cost as BLAS `syrk`), then mirrored.
//! One thread by default: on a small, busy machine threads cost more than they gain for the
//! matrix sizes portfolios use, and callers can opt in with [`Par::Threads`]. The threads split
//! the triangle into bands of columns carrying equal flops (each band's diagonal block plus the
//! rectangle below it), so two threads do two halves of the work with no synchronisation but the
//! join; faer's own parallelism would need its rayon pool, whose default also turns every other
//! faer call multi-threaded.

use faer::linalg::matmul::triangular::{BlockStructure, matmul};
use faer::{Accum, Mat, MatMut, MatRef};

/// How many threads the covariance kernel may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Par {
    /// The calling thread only (the default everywhere in Stratus).
    Seq,
    /// Up to this many threads (scoped, joined before returning); 0 and 1 mean one.
    Threads(usize),
}

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
    let threads = match par {
        Par::Seq => 1,
        Par::Threads(t) => t.clamp(1, n.max(1)),
    };
    let ends = bands(n, threads);
    std::thread::scope(|scope| {
        let mut rest = out.as_mut();
        let mut start = 0;
        for (k, &end) in ends.iter().enumerate() {
            let (band, tail) = rest.split_at_col_mut(end - start);
            rest = tail;
            let work = move || lower_band(band, x, start, factor);
            if k + 1 == ends.len() {
                work();
            } else {
                scope.spawn(work);
            }
            start = end;
        }
    });
    for j in 0..n {
        for i in 0..j {
            out[(i, j)] = out[(j, i)];
        }
    }
    out
}

/// Column boundaries splitting the lower triangle of an n × n matrix into `threads` bands of
/// equal work (column j holds n − j entries); no band is empty.
fn bands(n: usize, threads: usize) -> Vec<usize> {
    let total = (n * (n + 1) / 2) as f64;
    let mut ends = Vec::with_capacity(threads);
    let (mut done, mut j) = (0.0, 0);
    for k in 1..threads {
        let goal = total * k as f64 / threads as f64;
        while j < n && done < goal {
            done += (n - j) as f64;
            j += 1;
        }
        if ends.last() != Some(&j) && j < n {
            ends.push(j);
        }
    }
    ends.push(n);
    ends
}

/// Columns `start..start + band.ncols()` of the lower triangle: the diagonal block, then the
/// rectangle below it.
fn lower_band(band: MatMut<'_, f64>, x: MatRef<'_, f64>, start: usize, factor: f64) {
    let width = band.ncols();
    let columns = x.subcols(start, width);
    let (_, lower) = band.split_at_row_mut(start);
    let (diagonal, below) = lower.split_at_row_mut(width);
    matmul(
        diagonal,
        BlockStructure::TriangularLower,
        Accum::Replace,
        columns.transpose(),
        BlockStructure::Rectangular,
        columns,
        BlockStructure::Rectangular,
        factor,
        faer::Par::Seq,
    );
    if below.nrows() > 0 {
        let rest = x.subcols(start + width, x.ncols() - start - width);
        faer::linalg::matmul::matmul(
            below,
            Accum::Replace,
            rest.transpose(),
            columns,
            factor,
            faer::Par::Seq,
        );
    }
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
    fn threads_split_the_work_evenly_and_change_nothing() {
        assert_eq!(bands(10, 1), vec![10]);
        assert_eq!(bands(1, 4), vec![1]);
        let ends = bands(2000, 2);
        // Equal work: the first band is 1 − 1/√2 of the columns.
        assert!(
            (ends[0] as f64 / 2000.0 - (1.0 - 0.5f64.sqrt())).abs() < 0.01,
            "{ends:?}"
        );
        for n in [1, 2, 3, 7, 64, 130] {
            for t in [2, 3, 5] {
                let ends = bands(n, t);
                assert!(ends.windows(2).all(|w| w[0] < w[1]) && ends.last() == Some(&n));
            }
            let x = Mat::from_fn(40, n, |t, j| ((t * 31 + j * 17) % 23) as f64 / 7.0 - 1.5);
            let one = covariance_matrix(x.as_ref(), 1.0, Par::Seq);
            for t in [0, 2, 3, 8] {
                let many = covariance_matrix(x.as_ref(), 1.0, Par::Threads(t));
                for i in 0..n {
                    for j in 0..n {
                        let scale = one[(i, i)].abs().max(one[(j, j)].abs()).max(1e-300);
                        assert!((one[(i, j)] - many[(i, j)]).abs() <= 1e-13 * scale);
                    }
                }
            }
        }
    }

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
