//! Covariance estimators beyond the sample covariance ("risk models").
//!
//! The sample covariance of N assets over T days has N(N+1)/2 parameters estimated from T·N
//! numbers; once N approaches T its smallest eigenvalues are noise and an optimiser exploits
//! exactly those. Shrinkage pulls the estimate towards a structured target by an amount estimated
//! from the data itself; exponential weighting favours recent days; the semicovariance counts only
//! the days below a benchmark. Each definition follows the library its users compare with, to the
//! last rounding (the reference test checks it):
//!
//! - `ledoit-wolf`, `oas`: scikit-learn's `LedoitWolf` and `OAS` — the empirical covariance with
//!   ddof 0, shrunk towards μ·I with μ its mean variance;
//! - `ledoit-wolf-cc`, `ledoit-wolf-sf`: PyPortfolioOpt's constant-correlation target (around the
//!   ddof-1 sample covariance) and single-factor target (the equal-weighted mean of the centred
//!   returns as the factor, around the ddof-0 covariance);
//! - `exp`: PyPortfolioOpt's `exp_cov` — pandas' adjusted exponential mean of the products of
//!   returns centred on their plain mean, weights (1 − α)^lag with α = 2/(span + 1);
//! - `semi`: PyPortfolioOpt's `semicovariance` — E[min(r − B, 0)·min(r − B, 0)ᵀ] with divisor T.
//!   Stratus's default benchmark is 0 (PyPortfolioOpt's is a 2 % yearly rate as a daily return).
//!
//! All of them need only the Gram matrix of the (centred or clipped) returns plus O(T·N) sums, so
//! their cost is one symmetric rank-k update, the same as the sample covariance.

use faer::{Mat, MatRef, Side};

use crate::covariance::{Par, covariance_matrix, gram, mirror_lower};

use crate::AnalyticsError;

/// How a covariance matrix is estimated from daily returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RiskModel {
    /// The sample covariance (ddof 1).
    Sample,
    /// Ledoit–Wolf shrinkage towards a scaled identity (scikit-learn).
    LedoitWolf,
    /// Ledoit–Wolf shrinkage towards constant correlation (PyPortfolioOpt).
    LedoitWolfConstantCorrelation,
    /// Ledoit–Wolf shrinkage towards a single-factor model (PyPortfolioOpt).
    LedoitWolfSingleFactor,
    /// Oracle approximating shrinkage (scikit-learn).
    Oas,
    /// Exponentially weighted, most recent days weigh most.
    Exponential {
        /// Span in days (α = 2/(span + 1)), at least 1.
        span: f64,
    },
    /// Semicovariance of the returns below a daily benchmark.
    Semi {
        /// Daily return threshold.
        benchmark: f64,
    },
}

impl RiskModel {
    /// The name the command line uses.
    pub fn name(&self) -> &'static str {
        match self {
            RiskModel::Sample => "sample",
            RiskModel::LedoitWolf => "ledoit-wolf",
            RiskModel::LedoitWolfConstantCorrelation => "ledoit-wolf-cc",
            RiskModel::LedoitWolfSingleFactor => "ledoit-wolf-sf",
            RiskModel::Oas => "oas",
            RiskModel::Exponential { .. } => "exp",
            RiskModel::Semi { .. } => "semi",
        }
    }

    /// Checks the model's parameters.
    pub fn validate(&self) -> Result<(), AnalyticsError> {
        match *self {
            RiskModel::Exponential { span } if !(span.is_finite() && span >= 1.0) => {
                Err(AnalyticsError::InvalidParameter {
                    name: "--span",
                    value: span.to_string(),
                    reason: "a span of at least 1 day is needed, e.g. 180",
                })
            }
            RiskModel::Semi { benchmark } if !(benchmark.is_finite() && benchmark.abs() < 1.0) => {
                Err(AnalyticsError::InvalidParameter {
                    name: "--benchmark",
                    value: benchmark.to_string(),
                    reason: "a daily return between -1 and 1 is needed, e.g. 0 or 0.0001",
                })
            }
            _ => Ok(()),
        }
    }
}

/// pandas' adjusted exponentially weighted mean of each column at its last row (α = 2/(span+1)),
/// times `scale`: PyPortfolioOpt's `ema_historical_return` without compounding.
pub fn exponential_means(returns: MatRef<'_, f64>, span: f64, scale: f64) -> Vec<f64> {
    let days = returns.nrows();
    let alpha = 2.0 / (span + 1.0);
    let weights: Vec<f64> = (0..days)
        .map(|d| (1.0 - alpha).powi((days - 1 - d) as i32))
        .collect();
    let total: f64 = weights.iter().sum();
    (0..returns.ncols())
        .map(|j| (0..days).map(|d| weights[d] * returns[(d, j)]).sum::<f64>() / total * scale)
        .collect()
}

/// CAPM expected returns r_f + βᵢ(E[r_m] − r_f) with β from the sample covariance of each column
/// with the market column and E[r_m] = `scale` × its mean: PyPortfolioOpt's `capm_return` without
/// compounding.
pub fn capm_means(
    returns: MatRef<'_, f64>,
    market: &[f64],
    risk_free: f64,
    scale: f64,
) -> Vec<f64> {
    let market_mean = market.iter().sum::<f64>() / market.len() as f64;
    let betas = crate::covariance::betas(returns, market);
    betas
        .iter()
        .map(|b| risk_free + b * (scale * market_mean - risk_free))
        .collect()
}

/// A covariance estimate and how it was reached.
#[derive(Debug, Clone)]
pub struct CovarianceEstimate {
    /// The N × N matrix, annualised by the caller's scale.
    pub matrix: Mat<f64>,
    /// The shrinkage intensity, for the shrinkage estimators.
    pub shrinkage: Option<f64>,
    /// Set when the matrix was not positive semi-definite and was repaired.
    pub repair: Option<PsdRepair>,
}

/// What the positive semi-definite repair changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsdRepair {
    /// The most negative eigenvalue before the repair.
    pub smallest_eigenvalue: f64,
    /// How many eigenvalues were negative and set to zero.
    pub clipped: usize,
}

/// Estimates the covariance of the columns of a T × N matrix of daily returns with `model`,
/// multiplied by `scale` (252 annualises), repairing a matrix that is not positive semi-definite.
pub fn estimate_covariance(
    returns: MatRef<'_, f64>,
    model: RiskModel,
    scale: f64,
    par: Par,
) -> Result<CovarianceEstimate, AnalyticsError> {
    model.validate()?;
    let (days, assets) = (returns.nrows(), returns.ncols());
    if days < 2 || assets == 0 {
        return Err(AnalyticsError::InvalidParameter {
            name: "returns",
            value: format!("{days} days × {assets} assets"),
            reason: "at least two days of returns of at least one asset are needed; widen the window",
        });
    }
    if let Some((t, j)) = first_non_finite(returns) {
        return Err(AnalyticsError::InvalidParameter {
            name: "returns",
            value: format!("{} on day {t} of asset {j}", returns[(t, j)]),
            reason: "returns must be finite; check the prices",
        });
    }
    let constant = (0..assets).find(|&j| {
        let c = returns.col(j);
        c.iter().all(|v| *v == c[0])
    });
    if let (RiskModel::LedoitWolfConstantCorrelation, Some(j)) = (model, constant) {
        return Err(AnalyticsError::Undefined {
            what: "the constant-correlation target",
            ticker: format!("asset {}", j + 1),
            reason: "its returns are constant, so it has no correlation; remove it or use --cov ledoit-wolf",
        });
    }
    let t = days as f64;
    let (matrix, shrinkage) = match model {
        RiskModel::Sample => (covariance_matrix(returns, scale, par), None),
        RiskModel::LedoitWolf | RiskModel::Oas => {
            let centred = centred(returns);
            let empirical = gram(centred.as_ref(), 1.0 / t, par);
            let s = if model == RiskModel::LedoitWolf {
                ledoit_wolf_shrinkage(centred.as_ref(), &empirical)
            } else {
                oas_shrinkage(&empirical, days)
            };
            (shrunk_to_identity(empirical, s, scale), Some(s))
        }
        RiskModel::LedoitWolfConstantCorrelation => {
            let (m, s) = constant_correlation(returns, par);
            (scaled_and_mirrored(m, scale), Some(s))
        }
        RiskModel::LedoitWolfSingleFactor => {
            let (m, s) = single_factor(returns, par);
            (scaled_and_mirrored(m, scale), Some(s))
        }
        RiskModel::Exponential { span } => {
            let alpha = 2.0 / (span + 1.0);
            // Lag k from the last day weighs (1 − α)^k; pandas' adjusted mean divides by Σ w.
            let weights: Vec<f64> = (0..days)
                .map(|d| (1.0 - alpha).powi((days - 1 - d) as i32))
                .collect();
            let total: f64 = weights.iter().sum();
            let mut centred = centred(returns);
            for j in 0..assets {
                for d in 0..days {
                    centred[(d, j)] *= (weights[d] / total).sqrt();
                }
            }
            (gram(centred.as_ref(), scale, par), None)
        }
        RiskModel::Semi { benchmark } => {
            let drops = Mat::from_fn(days, assets, |d, j| (returns[(d, j)] - benchmark).min(0.0));
            (gram(drops.as_ref(), scale / t, par), None)
        }
    };
    let mut estimate = CovarianceEstimate {
        matrix,
        shrinkage,
        repair: None,
    };
    estimate.repair = repair_psd(&mut estimate.matrix);
    Ok(estimate)
}

fn first_non_finite(returns: MatRef<'_, f64>) -> Option<(usize, usize)> {
    (0..returns.ncols()).find_map(|j| {
        returns
            .col(j)
            .iter()
            .position(|v| !v.is_finite())
            .map(|t| (t, j))
    })
}

/// Each column minus its mean, a column at a time (a backtest centres a window of returns at
/// every rebalance).
fn centred(returns: MatRef<'_, f64>) -> Mat<f64> {
    let days = returns.nrows() as f64;
    let mut out = Mat::<f64>::zeros(returns.nrows(), returns.ncols());
    for j in 0..returns.ncols() {
        let column = returns.col(j);
        let mean = column.iter().sum::<f64>() / days;
        for (o, v) in out.col_mut(j).iter_mut().zip(column.iter()) {
            *o = v - mean;
        }
    }
    out
}

/// The shrinkage targets' estimate times `scale`, its lower triangle mirrored: their products of
/// three factors are not commutative in floating point (the other models come from `gram`,
/// which is symmetric already).
fn scaled_and_mirrored(mut m: Mat<f64>, scale: f64) -> Mat<f64> {
    let n = m.nrows();
    for j in 0..n {
        for i in 0..n {
            m[(i, j)] *= scale;
        }
    }
    mirror_lower(m.as_mut());
    m
}

fn trace(m: &Mat<f64>) -> f64 {
    (0..m.nrows()).map(|i| m[(i, i)]).sum()
}

fn frobenius_squared(m: &Mat<f64>) -> f64 {
    let n = m.nrows();
    (0..n)
        .flat_map(|j| (0..n).map(move |i| (i, j)))
        .map(|(i, j)| m[(i, j)] * m[(i, j)])
        .sum()
}

/// (1 − s)·S + s·μ·I with μ the mean variance, times `scale`.
fn shrunk_to_identity(empirical: Mat<f64>, s: f64, scale: f64) -> Mat<f64> {
    let n = empirical.nrows();
    let mu = trace(&empirical) / n as f64;
    Mat::from_fn(n, n, |i, j| {
        let target = if i == j { s * mu } else { 0.0 };
        ((1.0 - s) * empirical[(i, j)] + target) * scale
    })
}

/// scikit-learn's `ledoit_wolf_shrinkage` on centred returns.
fn ledoit_wolf_shrinkage(x: MatRef<'_, f64>, empirical: &Mat<f64>) -> f64 {
    let (days, p) = (x.nrows(), x.ncols());
    if p == 1 {
        return 0.0;
    }
    let (n, pf) = (days as f64, p as f64);
    let trace = trace(empirical);
    let mu = trace / pf;
    // Σᵢⱼ (X²ᵀX²)ᵢⱼ = Σₜ (Σᵢ xₜᵢ²)²; ‖XᵀX‖²/n² = ‖S‖². The row sums are accumulated a column
    // at a time (contiguous reads, the same order of additions as row by row).
    let mut row_sums = vec![0.0; days];
    for i in 0..p {
        for (sum, v) in row_sums.iter_mut().zip(x.col(i).iter()) {
            *sum += v * v;
        }
    }
    let beta_sum: f64 = row_sums.iter().map(|s| s.powi(2)).sum();
    let delta_sum = frobenius_squared(empirical);
    let beta = (beta_sum / n - delta_sum) / (pf * n);
    let delta = (delta_sum - 2.0 * mu * trace + pf * mu * mu) / pf;
    let beta = beta.min(delta);
    if beta == 0.0 { 0.0 } else { beta / delta }
}

/// scikit-learn's OAS shrinkage.
fn oas_shrinkage(empirical: &Mat<f64>, days: usize) -> f64 {
    let p = empirical.nrows() as f64;
    if empirical.nrows() == 1 {
        return 0.0;
    }
    let alpha = frobenius_squared(empirical) / (p * p);
    let mu = trace(empirical) / p;
    let num = alpha + mu * mu;
    let den = (days as f64 + 1.0) * (alpha - mu * mu / p);
    if den == 0.0 {
        1.0
    } else {
        (num / den).min(1.0)
    }
}

/// PyPortfolioOpt's `_ledoit_wolf_constant_correlation`: (shrunk daily covariance, δ).
fn constant_correlation(returns: MatRef<'_, f64>, par: Par) -> (Mat<f64>, f64) {
    let (days, n) = (returns.nrows(), returns.ncols());
    let t = days as f64;
    let xm = centred(returns);
    let s = gram(xm.as_ref(), 1.0 / (t - 1.0), par);
    if n == 1 {
        return (s, 0.0);
    }
    let var: Vec<f64> = (0..n).map(|i| s[(i, i)]).collect();
    let std: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
    let nf = n as f64;
    let mut corr_sum = 0.0;
    for j in 0..n {
        for i in 0..n {
            corr_sum += s[(i, j)] / (std[i] * std[j]);
        }
    }
    let r_bar = (corr_sum - nf) / (nf * (nf - 1.0));
    let target = |i: usize, j: usize| {
        if i == j {
            var[i]
        } else {
            r_bar * std[i] * std[j]
        }
    };
    // help = XmᵀXm/t = S·(t−1)/t; π = Σ (y²ᵀy²)/t − 2·help∘S + S∘S with y = Xm².
    let ratio = (t - 1.0) / t;
    let row_sq: Vec<f64> = (0..days)
        .map(|d| (0..n).map(|i| xm[(d, i)].powi(2)).sum::<f64>())
        .collect();
    let s_sq = frobenius_squared(&s);
    let pi_hat = row_sq.iter().map(|v| v * v).sum::<f64>() / t - 2.0 * ratio * s_sq + s_sq;
    let fourth: Vec<f64> = (0..n)
        .map(|i| (0..days).map(|d| xm[(d, i)].powi(4)).sum::<f64>() / t)
        .collect();
    let pi_diag: f64 = (0..n)
        .map(|i| fourth[i] - 2.0 * ratio * var[i] * var[i] + var[i] * var[i])
        .sum();
    // Σ_{i≠j} (σⱼ/σᵢ)·θᵢⱼ with θ = Xm³ᵀXm/t − help_ii·S − help∘var_i + var_i·S.
    // The first term: Σₜ Σᵢ (xₜᵢ³/σᵢ)(Σⱼ xₜⱼσⱼ), minus its diagonal Σᵢ Σₜ xₜᵢ⁴/t.
    let mut term1 = 0.0;
    for d in 0..days {
        let weighted: f64 = (0..n).map(|j| xm[(d, j)] * std[j]).sum();
        let cubes: f64 = (0..n).map(|i| xm[(d, i)].powi(3) / std[i]).sum();
        term1 += cubes * weighted;
    }
    term1 = term1 / t - fourth.iter().sum::<f64>();
    let mut rest = 0.0;
    for j in 0..n {
        for i in 0..n {
            if i != j {
                let help_ij = ratio * s[(i, j)];
                let help_ii = ratio * var[i];
                let theta = -help_ii * s[(i, j)] - help_ij * var[i] + var[i] * s[(i, j)];
                rest += std[j] / std[i] * theta;
            }
        }
    }
    let rho_hat = pi_diag + r_bar * (term1 + rest);
    let mut gamma_hat = 0.0;
    for j in 0..n {
        for i in 0..n {
            gamma_hat += (s[(i, j)] - target(i, j)).powi(2);
        }
    }
    let delta = shrinkage_constant(pi_hat - rho_hat, gamma_hat, t);
    let shrunk = Mat::from_fn(n, n, |i, j| {
        delta * target(i, j) + (1.0 - delta) * s[(i, j)]
    });
    (shrunk, delta)
}

/// max(0, min(1, κ/t)) with κ = numerator/γ; a sample already equal to its target needs none.
fn shrinkage_constant(numerator: f64, gamma: f64, t: f64) -> f64 {
    if gamma == 0.0 || !gamma.is_finite() {
        return 0.0;
    }
    let kappa = numerator / gamma;
    if kappa.is_nan() {
        0.0
    } else {
        (kappa / t).clamp(0.0, 1.0)
    }
}

/// PyPortfolioOpt's `_ledoit_wolf_single_factor`: (shrunk daily covariance, δ).
fn single_factor(returns: MatRef<'_, f64>, par: Par) -> (Mat<f64>, f64) {
    let (days, n) = (returns.nrows(), returns.ncols());
    let t = days as f64;
    let xm = centred(returns);
    let sample = gram(xm.as_ref(), 1.0 / t, par);
    let market: Vec<f64> = (0..days)
        .map(|d| (0..n).map(|i| xm[(d, i)]).sum::<f64>() / n as f64)
        .collect();
    let var_market = market.iter().map(|m| m * m).sum::<f64>() / t;
    if var_market == 0.0 || !var_market.is_finite() {
        return (sample, 0.0);
    }
    let betas: Vec<f64> = (0..n)
        .map(|i| (0..days).map(|d| xm[(d, i)] * market[d]).sum::<f64>() / t)
        .collect();
    let target = |i: usize, j: usize| {
        if i == j {
            sample[(i, i)]
        } else {
            betas[i] * betas[j] / var_market
        }
    };
    let mut c = 0.0;
    for j in 0..n {
        for i in 0..n {
            c += (sample[(i, j)] - target(i, j)).powi(2);
        }
    }
    // y = Xm², z = Xm∘market (row-wise).
    let row_y: Vec<f64> = (0..days)
        .map(|d| (0..n).map(|i| xm[(d, i)].powi(2)).sum::<f64>())
        .collect();
    let p = row_y.iter().map(|v| v * v).sum::<f64>() / t - frobenius_squared(&sample);
    let diag_sq: f64 = (0..n).map(|i| sample[(i, i)].powi(2)).sum();
    let fourth: f64 = (0..n)
        .flat_map(|i| (0..days).map(move |d| (d, i)))
        .map(|(d, i)| xm[(d, i)].powi(4))
        .sum();
    let rdiag = fourth / t - diag_sq;
    // u_t = Σⱼ z_tj βⱼ; Σᵢⱼ (yᵀz)ᵢⱼ βⱼ = Σₜ (Σᵢ y_ti) u_t; Σᵢⱼ (zᵀz)ᵢⱼ βᵢβⱼ = Σₜ u_t².
    let u: Vec<f64> = (0..days)
        .map(|d| {
            (0..n)
                .map(|j| xm[(d, j)] * market[d] * betas[j])
                .sum::<f64>()
        })
        .collect();
    let mut beta_sample = 0.0;
    for j in 0..n {
        for i in 0..n {
            beta_sample += betas[i] * betas[j] * sample[(i, j)];
        }
    }
    let yz_beta: f64 = (0..days).map(|d| row_y[d] * u[d]).sum::<f64>() / t;
    let v1_sum = yz_beta - beta_sample;
    let v1_diag: f64 = (0..n)
        .map(|i| {
            let yz: f64 = (0..days)
                .map(|d| xm[(d, i)].powi(3) * market[d])
                .sum::<f64>()
                / t;
            (yz - betas[i] * sample[(i, i)]) * betas[i]
        })
        .sum();
    let roff1 = v1_sum / var_market - v1_diag / var_market;
    let zz_beta: f64 = u.iter().map(|v| v * v).sum::<f64>() / t;
    let v3_sum = zz_beta - var_market * beta_sample;
    let v3_diag: f64 = (0..n)
        .map(|i| {
            let zz: f64 = (0..days)
                .map(|d| (xm[(d, i)] * market[d]).powi(2))
                .sum::<f64>()
                / t;
            (zz - var_market * sample[(i, i)]) * betas[i] * betas[i]
        })
        .sum();
    let roff3 = v3_sum / var_market.powi(2) - v3_diag / var_market.powi(2);
    let r = rdiag + 2.0 * roff1 - roff3;
    let delta = shrinkage_constant(p - r, c, t);
    let shrunk = Mat::from_fn(n, n, |i, j| {
        delta * target(i, j) + (1.0 - delta) * sample[(i, j)]
    });
    (shrunk, delta)
}

/// Clips negative eigenvalues to zero when the matrix is not positive semi-definite (the
/// "spectral" repair, the nearest PSD matrix in the Frobenius norm). A Cholesky factorisation
/// with a tiny ridge decides cheaply; only a matrix that fails it is decomposed.
pub fn repair_psd(matrix: &mut Mat<f64>) -> Option<PsdRepair> {
    let n = matrix.nrows();
    if n == 0 {
        return None;
    }
    let largest = (0..n).map(|i| matrix[(i, i)].abs()).fold(0.0, f64::max);
    let ridge = largest * 1e-12 + f64::MIN_POSITIVE;
    let mut probe = matrix.clone();
    for i in 0..n {
        probe[(i, i)] += ridge;
    }
    if probe.as_ref().llt(Side::Lower).is_ok() {
        return None;
    }
    let eigen = matrix.as_ref().self_adjoint_eigen(Side::Lower).ok()?;
    let values: Vec<f64> = eigen.S().column_vector().iter().copied().collect();
    let smallest = values.iter().copied().fold(f64::INFINITY, f64::min);
    let scale = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    // Singular (e.g. fewer days than assets) is PSD: only clearly negative eigenvalues count.
    if smallest >= -1e-12 * scale {
        return None;
    }
    let vectors = eigen.U();
    let clipped = values.iter().filter(|v| **v < 0.0).count();
    let kept: Vec<f64> = values.iter().map(|v| v.max(0.0)).collect();
    *matrix = Mat::from_fn(n, n, |i, j| {
        (0..n)
            .map(|k| vectors[(i, k)] * kept[k] * vectors[(j, k)])
            .sum()
    });
    Some(PsdRepair {
        smallest_eigenvalue: smallest,
        clipped,
    })
}

#[cfg(test)]
mod tests;
