//! Sample covariance of many return series at once.
//!
//! The covariance matrix is the hot kernel of portfolio work (2000 assets × 2520 days is 10¹⁰
//! flops). It is computed as a symmetric rank-k update: only the lower triangle is multiplied (the
//! cost of BLAS `syrk`; see `triangle`), then mirrored.
//! At these sizes the product runs at the core's peak, so what is left to win is memory: a centred
//! copy of the whole history (40 MB of fresh pages at 2 000 assets × 10 years) costs a tenth of
//! the product. The sample covariance therefore multiplies the returns as they are and subtracts
//! the means' outer product afterwards, whenever the means are small enough for that to be as
//! accurate (see [`covariance_matrix`]); otherwise it centres first.
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
        .map(|j| sum(&column(returns, j)) / rows)
        .collect()
}

/// Sum with eight independent accumulators: vectorised, and no less accurate than one running
/// sum (each lane adds an eighth of the terms).
fn sum(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for k in 0..8 {
            lanes[k] += chunk[k];
        }
    }
    lanes.iter().sum::<f64>() + tail
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
        let mean = sum(&buffer[start..]) / days as f64;
        buffer[start..].iter_mut().for_each(|v| *v -= mean);
    }
    buffer
}

/// The N × N sample covariance (ddof 1) of the columns of a T × N matrix, multiplied by `scale`
/// (252 annualises daily returns; 1 keeps the daily scale).
pub fn covariance_matrix(returns: MatRef<'_, f64>, scale: f64, par: Par) -> Mat<f64> {
    let (days, assets) = (returns.nrows(), returns.ncols());
    assert!(days >= 2, "a covariance needs at least two observations");
    let factor = scale / (days - 1) as f64;
    let (means, squares) = column_moments(returns);
    let t = days as f64;
    // Σ(x − m)(y − n) = Σxy − T·m·n. The product's rounding error grows with the means: relative
    // to the centred product's it is at most √((1 + m²/σ²)(1 + n²/σ'²)) (σ the population
    // deviation), so while every mean is within one deviation of zero (T·m² ≤ Σx²/2) it stays
    // within twice the centred one — and the centred copy of the whole history is not needed.
    // Daily returns' means are a few percent of a deviation; prices, or a constant column, take
    // the centred route.
    let small_means = means
        .iter()
        .zip(&squares)
        .all(|(m, s)| m.is_finite() && s.is_finite() && t * m * m <= 0.5 * s);
    if !small_means {
        let buffer = centred_columns(returns);
        return gram(
            MatRef::from_column_major_slice(&buffer, days, assets),
            factor,
            par,
        );
    }
    let mut out = Mat::<f64>::zeros(assets, assets);
    lower_triangle(out.as_mut(), returns, 1.0, Accum::Replace, par);
    symmetrise(out.as_mut(), |i, j, product| {
        (product - t * means[j] * means[i]) * factor
    });
    out
}

/// Column means and sums of squares, in one pass over each column.
fn column_moments(returns: MatRef<'_, f64>) -> (Vec<f64>, Vec<f64>) {
    let rows = returns.nrows() as f64;
    (0..returns.ncols())
        .map(|j| {
            let column = column(returns, j);
            (sum(&column) / rows, dot(&column, &column))
        })
        .unzip()
}

/// `factor · XᵀX`: only the lower triangle is multiplied (faer's triangular product, the cost of
/// BLAS `syrk`), then mirrored.
pub(crate) fn gram(x: MatRef<'_, f64>, factor: f64, par: Par) -> Mat<f64> {
    let n = x.ncols();
    let mut out = Mat::<f64>::zeros(n, n);
    lower_triangle(out.as_mut(), x, factor, Accum::Replace, par);
    mirror_lower(out.as_mut());
    out
}

/// The lower triangle of `out` replaced by, or increased by, `factor · XᵀX`, in bands of columns
/// on up to `par` threads.
fn lower_triangle(out: MatMut<'_, f64>, x: MatRef<'_, f64>, factor: f64, accum: Accum, par: Par) {
    let n = x.ncols();
    let threads = match par {
        Par::Seq => 1,
        Par::Threads(t) => t.clamp(1, n.max(1)),
    };
    let ends = bands(n, threads);
    std::thread::scope(|scope| {
        let mut rest = out;
        let mut start = 0;
        for (k, &end) in ends.iter().enumerate() {
            let (band, tail) = rest.split_at_col_mut(end - start);
            rest = tail;
            let work = move || lower_band(band, x, start, factor, accum);
            if k + 1 == ends.len() {
                work();
            } else {
                scope.spawn(work);
            }
            start = end;
        }
    });
}

/// Copies the lower triangle of a square matrix onto the upper one.
pub(crate) fn mirror_lower(m: MatMut<'_, f64>) {
    symmetrise(m, |_, _, value| value);
}

/// Replaces each lower-triangle entry `(i, j)` by `finish(i, j, value)` and copies it to `(j, i)`,
/// in one pass, a 64 × 64 tile at a time so the transposed writes stay in cache (a plain double
/// loop writes along rows of a column-major matrix).
fn symmetrise(mut m: MatMut<'_, f64>, finish: impl Fn(usize, usize, f64) -> f64) {
    const TILE: usize = 64;
    let n = m.nrows();
    for tile_j in (0..n).step_by(TILE) {
        for tile_i in (tile_j..n).step_by(TILE) {
            for j in tile_j..(tile_j + TILE).min(n) {
                for i in tile_i.max(j)..(tile_i + TILE).min(n) {
                    let value = finish(i, j, m[(i, j)]);
                    m[(i, j)] = value;
                    m[(j, i)] = value;
                }
            }
        }
    }
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
fn lower_band(band: MatMut<'_, f64>, x: MatRef<'_, f64>, start: usize, factor: f64, accum: Accum) {
    let width = band.ncols();
    let columns = x.subcols(start, width);
    let (_, lower) = band.split_at_row_mut(start);
    let (diagonal, below) = lower.split_at_row_mut(width);
    triangle(diagonal, columns, factor, accum);
    if below.nrows() > 0 {
        let rest = x.subcols(start + width, x.ncols() - start - width);
        faer::linalg::matmul::matmul(
            below,
            accum,
            rest.transpose(),
            columns,
            factor,
            faer::Par::Seq,
        );
    }
}

/// Above this many columns [`triangle`] halves the triangle (see there).
const TRIANGLE_LEAF: usize = 512;

/// The lower triangle of `factor · XᵀX` into the square `out`. Large triangles are split into
/// two half-size triangles and the square below the first, which is a plain product: faer's
/// rectangular kernel runs ~3–5 % faster than its lower-triangular one on a 1 000 × 1 000 block
/// (measured at 2 000 assets; leaves of 256–1 024 columns are within noise of each other).
fn triangle(out: MatMut<'_, f64>, x: MatRef<'_, f64>, factor: f64, accum: Accum) {
    let n = x.ncols();
    if n <= TRIANGLE_LEAF {
        matmul(
            out,
            BlockStructure::TriangularLower,
            accum,
            x.transpose(),
            BlockStructure::Rectangular,
            x,
            BlockStructure::Rectangular,
            factor,
            faer::Par::Seq,
        );
        return;
    }
    let half = n / 2;
    let (top, bottom) = out.split_at_row_mut(half);
    let (top_left, _) = top.split_at_col_mut(half);
    let (bottom_left, bottom_right) = bottom.split_at_col_mut(half);
    let (left, right) = (x.subcols(0, half), x.subcols(half, n - half));
    faer::linalg::matmul::matmul(
        bottom_left,
        accum,
        right.transpose(),
        left,
        factor,
        faer::Par::Seq,
    );
    triangle(top_left, left, factor, accum);
    triangle(bottom_right, right, factor, accum);
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

    /// The two-pass (centred) covariance of two columns, the reference for both routes.
    fn two_pass(x: &Mat<f64>, i: usize, j: usize) -> f64 {
        let a: Vec<f64> = x.col(i).iter().copied().collect();
        let b: Vec<f64> = x.col(j).iter().copied().collect();
        stats::covariance(&a, &b, 1)
    }

    /// Max error of `covariance_matrix` against the two-pass covariances, relative to σᵢσⱼ.
    fn worst_error(x: &Mat<f64>) -> f64 {
        let cov = covariance_matrix(x.as_ref(), 1.0, Par::Seq);
        let n = x.ncols();
        let mut worst = 0.0f64;
        for i in 0..n {
            for j in 0..n {
                let want = two_pass(x, i, j);
                let scale = (two_pass(x, i, i) * two_pass(x, j, j)).sqrt();
                let error = if scale > 0.0 {
                    (cov[(i, j)] - want).abs() / scale
                } else {
                    (cov[(i, j)] - want).abs()
                };
                worst = worst.max(error);
                assert_eq!(cov[(i, j)], cov[(j, i)], "symmetric at {i},{j}");
            }
        }
        worst
    }

    #[test]
    fn halved_triangles_equal_one_plain_product() {
        // 1 100 columns: the triangle is halved twice (leaves of 275); compared with faer's full
        // rectangular product of the centred columns, on both routes and with two threads.
        for shift in [0.0, 50.0] {
            let x = Mat::from_fn(30, 1100, |t, j| {
                ((t * 7919 + j * 104_729) % 10_007) as f64 / 10_007.0 - 0.5 + shift
            });
            let centred = centred_columns(x.as_ref());
            let centred = MatRef::from_column_major_slice(&centred, 30, 1100);
            let want = centred.transpose() * centred * (1.0 / 29.0);
            for par in [Par::Seq, Par::Threads(2)] {
                let got = covariance_matrix(x.as_ref(), 1.0, par);
                for j in 0..1100 {
                    for i in 0..1100 {
                        let scale = (want[(i, i)] * want[(j, j)]).sqrt();
                        let error = (got[(i, j)] - want[(i, j)]).abs() / scale;
                        assert!(error < 1e-13, "{par:?} shift {shift} at {i},{j}: {error:e}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_uncentred_route_is_as_accurate_as_centring() {
        // Returns-like columns (|mean| a few percent of σ), and columns whose mean sits just
        // inside the route's limit (|m| = 0.99 σ): both multiply the raw returns.
        for mean_over_sd in [0.03, 0.5, 0.99] {
            let x = Mat::from_fn(2520, 9, |t, j| {
                let wave = ((t * 7919 + j * 104_729) % 10_007) as f64 / 10_007.0 - 0.5;
                0.01 * (wave / 0.2887 + mean_over_sd * (j % 3) as f64)
            });
            let error = worst_error(&x);
            assert!(error < 1e-14, "mean/σ {mean_over_sd}: {error:e}");
        }
    }

    #[test]
    fn large_means_and_constant_columns_are_centred_first() {
        // Price levels: σ ≈ 1 around 1e6. Multiplying the raw values and subtracting T·m² would
        // lose twelve digits (errors ~1e-4 of σ²); the centred route keeps them.
        let prices = Mat::from_fn(300, 4, |t, j| {
            1e6 * (j + 1) as f64 + ((t * 31 + j * 17) % 23) as f64 / 7.0
        });
        let error = worst_error(&prices);
        assert!(error < 1e-14, "price levels: {error:e}");
        // A constant column: centred, its deviations are the mean's last-bit rounding (~1e-18,
        // variance ~1e-33); through Σx² − T·m² it would be the sum's rounding (~1e-17).
        let constant = Mat::from_fn(
            50,
            3,
            |t, j| if j == 1 { 0.013 } else { (t % 5) as f64 * 0.01 },
        );
        let cov = covariance_matrix(constant.as_ref(), 252.0, Par::Seq);
        for k in 0..3 {
            assert!(cov[(1, k)].abs() < 1e-30, "{}", cov[(1, k)]);
            assert_eq!(cov[(1, k)], cov[(k, 1)]);
        }
    }

    #[test]
    fn non_finite_returns_give_non_finite_covariances_not_numbers() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut x = Mat::from_fn(40, 3, |t, j| ((t * 3 + j) % 7) as f64 * 0.001);
            x[(17, 2)] = bad;
            let cov = covariance_matrix(x.as_ref(), 1.0, Par::Seq);
            assert!(
                !cov[(2, 2)].is_finite() && !cov[(0, 2)].is_finite(),
                "{bad}"
            );
            assert!(
                cov[(0, 1)].is_finite(),
                "columns without {bad} keep their covariance"
            );
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
