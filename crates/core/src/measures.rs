//! Risk and performance measures of one return series, and risk contributions of a portfolio.
//!
//! The conventions are skfolio's (`skfolio.measures`), so the numbers can be checked against it:
//! drawdowns on the **compounded** path of simple returns with the starting wealth as the first
//! peak; historical VaR/CVaR by the order-statistic rule shared with `crate::risk`; CDaR the
//! CVaR of the drawdowns; EVaR and EDaR by skfolio's scaled one-dimensional problem; skew and
//! kurtosis as standardised central moments (kurtosis not in excess). The ratios are annualised
//! the usual way rather than skfolio's per-period way: Sharpe and Sortino are skfolio's
//! `annualized_*_ratio` (the semi-deviation below the mean, Bessel-corrected), Calmar is the
//! annual return over the maximum drawdown (252 × skfolio's `calmar_ratio`), Omega is
//! Σ gains / Σ losses around 0, and the tail ratio is |95th| / |5th| percentile (numpy's linear
//! interpolation, as empyrical).

use serde::Serialize;

use crate::AnalyticsError;
use crate::risk::{gaussian_cvar, gaussian_var, historical_cvar, historical_var};
use crate::stats;

/// The smallest tail probability reported on.
pub const MIN_TAIL: f64 = 1e-9;

/// Trading days a year, the annualisation factor of daily measures.
const YEAR: f64 = 252.0;

/// The measures of one daily return series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskReport {
    /// 252 × mean daily return.
    pub annual_return: f64,
    /// √252 × standard deviation (ddof 1).
    pub annual_volatility: f64,
    /// (annual return − r_f) / annual volatility.
    pub sharpe_ratio: f64,
    /// (annual return − r_f) / (√252 × semi-deviation below the mean).
    pub sortino_ratio: Option<f64>,
    /// Annual return / maximum drawdown.
    pub calmar_ratio: Option<f64>,
    /// Σ max(r, 0) / Σ max(−r, 0).
    pub omega_ratio: Option<f64>,
    /// Largest fall from a peak of the compounded path, as a positive fraction.
    pub max_drawdown: f64,
    /// Mean drawdown.
    pub average_drawdown: f64,
    /// Conditional drawdown at risk at the tail probability.
    pub cdar: f64,
    /// Entropic drawdown at risk.
    pub edar: f64,
    /// √(mean squared drawdown).
    pub ulcer_index: f64,
    /// Historical daily VaR at the tail probability (a positive loss).
    pub historical_var: f64,
    /// Historical daily CVaR.
    pub historical_cvar: f64,
    /// Gaussian daily VaR.
    pub gaussian_var: f64,
    /// Gaussian daily CVaR.
    pub gaussian_cvar: f64,
    /// Entropic value at risk (daily).
    pub evar: f64,
    /// Third standardised moment.
    pub skew: f64,
    /// Fourth standardised moment (3 for a normal distribution).
    pub kurtosis: f64,
    /// |95th percentile| / |5th percentile|.
    pub tail_ratio: Option<f64>,
    /// The tail probability of the VaR, CVaR, CDaR, EVaR and EDaR.
    pub tail_probability: f64,
    /// Number of daily returns.
    pub observations: usize,
}

fn finite_or_none(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// Drawdowns of the compounded path ∏(1 + r) against its running peak (at least the starting 1).
pub fn drawdowns(returns: &[f64]) -> Vec<f64> {
    let mut wealth = 1.0;
    let mut peak = 1.0f64;
    returns
        .iter()
        .map(|r| {
            wealth *= 1.0 + r;
            peak = peak.max(wealth);
            wealth / peak - 1.0
        })
        .collect()
}

/// skfolio's EVaR of a return sample at confidence 1 − `alpha`.
pub fn entropic_var(returns: &[f64], alpha: f64) -> f64 {
    let losses: Vec<f64> = returns.iter().map(|r| -r).collect();
    let max_loss = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min_loss = losses.iter().copied().fold(f64::INFINITY, f64::min);
    let spread = max_loss - min_loss;
    if spread == 0.0 {
        return max_loss + 0.0;
    }
    let scaled: Vec<f64> = losses.iter().map(|l| (l - max_loss) / spread).collect();
    let beta = 1.0 - alpha;
    let c = (scaled.len() as f64).ln() + (-beta).ln_1p();
    // log Σ exp(t·l), and the mean and variance of l weighted by exp(t·l); stable because every
    // scaled l ≤ 0 and the largest is 0.
    let moments = |t: f64| {
        let (mut total, mut first, mut second) = (0.0, 0.0, 0.0);
        for l in &scaled {
            let e = (t * l).exp();
            total += e;
            first += e * l;
            second += e * l * l;
        }
        let mean = first / total;
        (total.ln(), mean, (second / total - mean * mean).max(0.0))
    };
    // h = t·E_w[l] − log Σ e^{tl} + c grows with t (dh/dt = t·Var_w(l)); its root minimises
    // (log Σ e^{tl} − c)/t. Solved in u = log t by Newton's method (dh/du = t²·Var_w(l)) kept
    // inside a bisection bracket: a handful of passes over the sample where plain bisection
    // took ~55.
    let h = |u: f64| {
        let t = u.exp();
        let (log_total, mean, variance) = moments(t);
        (t * mean - log_total + c, t * t * variance)
    };
    let (mut lower, mut upper) = (0.5 * (-2.0 * (-beta).ln_1p()).ln(), 20.0f64);
    let scaled_evar = if h(upper).0 <= 0.0 {
        0.0
    } else {
        let mut u = 0.5 * (lower + upper);
        for _ in 0..200 {
            let (value, slope) = h(u);
            if value == 0.0 {
                break;
            }
            if value > 0.0 {
                upper = u;
            } else {
                lower = u;
            }
            let newton = u - value / slope;
            let next = if newton.is_finite() && newton > lower && newton < upper {
                newton
            } else {
                0.5 * (lower + upper)
            };
            let settled = (next - u).abs() <= 4.0 * f64::EPSILON * u.abs().max(1.0);
            u = next;
            if settled {
                break;
            }
        }
        let t = u.exp();
        (moments(t).0 - c) / t
    };
    max_loss + spread * scaled_evar + 0.0
}

/// Linear-interpolation percentile (numpy's default), `q` in [0, 1], of an ascending slice.
fn percentile_linear(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (position - below as f64) * (sorted[above] - sorted[below])
}

/// The standardised central moment of order 3 or 4 (biased moments, as skfolio).
fn standardised_moment(returns: &[f64], order: i32) -> f64 {
    let mean = stats::mean(returns);
    let mut deviations: Vec<f64> = returns.iter().map(|r| r - mean).collect();
    let offset = stats::mean(&deviations);
    deviations.iter_mut().for_each(|d| *d -= offset);
    let moment = stats::mean(&deviations.iter().map(|d| d.powi(order)).collect::<Vec<_>>());
    let second = stats::mean(&deviations.iter().map(|d| d * d).collect::<Vec<_>>());
    moment / second.powf(f64::from(order) / 2.0)
}

/// Every measure of a daily simple-return series; `risk_free` is an annual rate, `alpha` the tail
/// probability (0.05 for the worst 5 %).
pub fn risk_report(
    returns: &[f64],
    risk_free: f64,
    alpha: f64,
) -> Result<RiskReport, AnalyticsError> {
    crate::risk::check_probability("--prob", alpha)?;
    if alpha < MIN_TAIL {
        return Err(AnalyticsError::InvalidParameter {
            name: "--prob",
            value: alpha.to_string(),
            reason: "a tail probability of at least 1e-9 is needed (below it the Gaussian quantile is not finite), e.g. 0.05",
        });
    }
    if returns.len() < 3 {
        return Err(AnalyticsError::InvalidParameter {
            name: "returns",
            value: returns.len().to_string(),
            reason: "at least three daily returns are needed; widen the window",
        });
    }
    if let Some(r) = returns.iter().find(|r| !r.is_finite() || **r <= -1.0) {
        return Err(AnalyticsError::InvalidParameter {
            name: "returns",
            value: r.to_string(),
            reason: "daily returns must be finite and above −100 %",
        });
    }
    let mean = stats::mean(returns);
    let sd = stats::variance(returns, 1).sqrt();
    if returns.iter().all(|r| *r == returns[0]) || sd <= f64::EPSILON * mean.abs() {
        return Err(AnalyticsError::InvalidParameter {
            name: "returns",
            value: "constant".into(),
            reason: "the returns do not vary, so risk is undefined; choose another window",
        });
    }
    let n = returns.len() as f64;
    let annual_return = YEAR * mean;
    let annual_volatility = YEAR.sqrt() * sd;
    let semi = (returns
        .iter()
        .map(|r| (mean - r).max(0.0).powi(2))
        .sum::<f64>()
        / n
        * n
        / (n - 1.0))
        .sqrt();
    let dd = drawdowns(returns);
    let max_drawdown = -dd.iter().copied().fold(0.0, f64::min) + 0.0;
    let average_drawdown = -stats::mean(&dd) + 0.0;
    let gains: f64 = returns.iter().map(|r| r.max(0.0)).sum();
    let losses: f64 = returns.iter().map(|r| (-r).max(0.0)).sum();
    let mut sorted = returns.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (p95, p05) = (
        percentile_linear(&sorted, 0.95),
        percentile_linear(&sorted, 0.05),
    );
    let report = RiskReport {
        annual_return,
        annual_volatility,
        sharpe_ratio: (annual_return - risk_free) / annual_volatility,
        sortino_ratio: finite_or_none((annual_return - risk_free) / (YEAR.sqrt() * semi)),
        calmar_ratio: finite_or_none(annual_return / max_drawdown),
        omega_ratio: finite_or_none(gains / losses),
        max_drawdown,
        average_drawdown,
        cdar: historical_cvar(&dd, alpha)?,
        edar: entropic_var(&dd, alpha),
        ulcer_index: (dd.iter().map(|d| d * d).sum::<f64>() / n).sqrt(),
        historical_var: historical_var(returns, alpha)?,
        historical_cvar: historical_cvar(returns, alpha)?,
        gaussian_var: gaussian_var(returns, alpha)?,
        gaussian_cvar: gaussian_cvar(returns, alpha)?,
        evar: entropic_var(returns, alpha),
        skew: standardised_moment(returns, 3),
        kurtosis: standardised_moment(returns, 4),
        tail_ratio: finite_or_none(p95.abs() / p05.abs()),
        tail_probability: alpha,
        observations: returns.len(),
    };
    let required = [
        ("annual return", report.annual_return),
        ("annual volatility", report.annual_volatility),
        ("Sharpe ratio", report.sharpe_ratio),
        ("Gaussian VaR", report.gaussian_var),
        ("Gaussian CVaR", report.gaussian_cvar),
        ("EVaR", report.evar),
        ("EDaR", report.edar),
        ("skew", report.skew),
        ("kurtosis", report.kurtosis),
    ];
    match required.iter().find(|(_, v)| !v.is_finite()) {
        Some((what, _)) => Err(AnalyticsError::Undefined {
            what,
            ticker: "these returns".into(),
            reason: "it is beyond floating-point range; check the prices or the window",
        }),
        None => Ok(report),
    }
}

/// Each asset's share of the historical CVaR of a portfolio (Euler allocation): the CVaR is the
/// tail-weighted mean loss of the portfolio's returns, so asset i contributes wᵢ times its own
/// tail-weighted mean loss over the same days. Shares sum to 1.
pub fn cvar_contributions(asset_returns: &[Vec<f64>], weights: &[f64], alpha: f64) -> Vec<f64> {
    let days = asset_returns.first().map_or(0, Vec::len);
    let portfolio: Vec<f64> = (0..days)
        .map(|t| {
            weights
                .iter()
                .zip(asset_returns)
                .map(|(w, r)| w * r[t])
                .sum()
        })
        .collect();
    // Days by loss, worst first; the tail holds κ = α·T days, the last one fractionally.
    let mut order: Vec<usize> = (0..days).collect();
    order.sort_by(|&a, &b| portfolio[a].total_cmp(&portfolio[b]));
    let kappa = (alpha * days as f64).max(1.0);
    let whole = kappa.floor() as usize;
    let mut tail_weight = vec![0.0; days];
    for (rank, &day) in order.iter().enumerate() {
        if rank < whole {
            tail_weight[day] = 1.0 / kappa;
        } else if rank == whole && rank < days {
            tail_weight[day] = (kappa - whole as f64) / kappa;
        }
    }
    let contributions: Vec<f64> = weights
        .iter()
        .zip(asset_returns)
        .map(|(w, r)| -w * (0..days).map(|t| tail_weight[t] * r[t]).sum::<f64>())
        .collect();
    let total: f64 = contributions.iter().sum();
    contributions.iter().map(|c| c / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdowns_start_from_the_initial_wealth() {
        let dd = drawdowns(&[-0.1, 0.2, -0.5]);
        assert!((dd[0] + 0.1).abs() < 1e-15);
        assert_eq!(dd[1], 0.0);
        assert!((dd[2] + 0.5).abs() < 1e-15);
    }

    #[test]
    fn a_report_is_finite_and_consistent() {
        let r: Vec<f64> = (0..300)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 2000.0)
            .collect();
        let report = risk_report(&r, 0.0, 0.05).unwrap();
        assert!(report.max_drawdown >= report.cdar && report.cdar >= report.average_drawdown);
        assert!(report.evar >= report.historical_cvar - 1e-12);
        assert!(report.edar >= report.cdar - 1e-12);
        assert!(report.historical_cvar >= report.historical_var);
        assert!(serde_json::to_string(&report).is_ok());
    }

    #[test]
    fn constant_or_broken_returns_are_refused() {
        assert!(risk_report(&[0.01; 10], 0.0, 0.05).is_err());
        assert!(risk_report(&[0.01, f64::NAN, 0.0], 0.0, 0.05).is_err());
        assert!(risk_report(&[0.01, -1.0, 0.0, 0.2], 0.0, 0.05).is_err());
        assert!(risk_report(&[0.01, 0.02], 0.0, 0.05).is_err());
        assert!(risk_report(&[0.01, 0.02, 0.03], 0.0, 1.5).is_err());
        assert!(risk_report(&[0.01, 0.02, 0.03], 0.0, 1e-300).is_err());
    }

    /// EVaR straight from its definition, inf over z > 0 of z·log(E[e^{X/z}] / α), X the loss,
    /// minimised by golden-section search on log z (the objective is convex in z) — an
    /// independent check of the Newton root-finding above.
    fn evar_by_definition(returns: &[f64], alpha: f64) -> f64 {
        let n = returns.len() as f64;
        let max = returns.iter().map(|r| -r).fold(f64::NEG_INFINITY, f64::max);
        let objective = |v: f64| {
            let z = v.exp();
            let mean: f64 = returns.iter().map(|r| ((-r - max) / z).exp()).sum::<f64>() / n;
            max + z * (mean.ln() - alpha.ln())
        };
        let (mut a, mut b) = (-40.0f64, 10.0f64);
        let g = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..300 {
            let (c, d) = (b - g * (b - a), a + g * (b - a));
            if objective(c) < objective(d) {
                b = d;
            } else {
                a = c;
            }
        }
        objective(0.5 * (a + b)).min(max)
    }

    #[test]
    fn evar_equals_its_definition_on_varied_samples() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for case in 0..60 {
            let days = [3, 10, 250, 3_000][case % 4];
            let tail = [1.0, 3.0, 8.0][case % 3];
            let returns: Vec<f64> = (0..days)
                .map(|_| {
                    let u = uniform();
                    let r = 0.01 * (u - 0.5) * 2.0;
                    if u < 0.05 { r * tail } else { r }
                })
                .collect();
            for alpha in [0.01, 0.05, 0.5, 0.95] {
                let newton = entropic_var(&returns, alpha);
                let reference = evar_by_definition(&returns, alpha);
                assert!(
                    (newton - reference).abs() <= 1e-9 * reference.abs().max(1e-3),
                    "case {case} ({days} days) α {alpha}: {newton} vs {reference}"
                );
            }
        }
        // Two values: the maximum loss once α·T ≤ 1 cannot average any further.
        assert_eq!(entropic_var(&[0.01, -0.02], 0.01), 0.02);
    }

    #[test]
    fn cvar_contributions_sum_to_one() {
        let a: Vec<f64> = (0..100)
            .map(|i| ((i * 13 % 29) as f64 - 14.0) / 500.0)
            .collect();
        let b: Vec<f64> = (0..100)
            .map(|i| ((i * 7 % 31) as f64 - 15.0) / 400.0)
            .collect();
        let shares = cvar_contributions(&[a, b], &[0.6, 0.4], 0.05);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
