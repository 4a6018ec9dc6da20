//! A strategy's target weights from one window of returns: the estimates (risk model, expected
//! returns — mean, EMA, CAPM against the market proxy, or a Black–Litterman posterior) and the
//! same synchronous solvers the verbs use.

use stratus_core::black_litterman::{implied_prior, posterior};
use stratus_core::optimize::Problem;
use stratus_core::risk_models::{RiskModel, capm_means, exponential_means};
use stratus_core::stats;

use super::{Panel, Rule, Strategy};
use crate::AppError;
use crate::allocation::allocation_weights;
use crate::portfolio::{ExpectedReturns, simple_estimates, solve_goal};

/// The book a rebalance starts from.
#[derive(Clone, Copy)]
pub(super) struct Holdings<'a> {
    /// The drifted weights.
    pub(super) weights: &'a [f64],
    /// Whether this is the first allocation (from cash).
    pub(super) first: bool,
}

/// The strategy's weights from the returns ending on panel rows `first..=last`. A strategy with
/// its own `--turnover` or `--cost` measures them against the drifted weights (the first
/// allocation, from cash, is not turnover-limited).
pub(super) fn target_weights(
    strategy: &Strategy,
    panel: &Panel,
    (first, last): (usize, usize),
    market_col: Option<usize>,
    risk_free: f64,
    held: Holdings<'_>,
) -> Result<Vec<f64>, AppError> {
    let n = strategy.request.tickers.len();
    let returns = panel
        .returns
        .as_ref()
        .subrows(first, last - first + 1)
        .subcols(0, n);
    let (mut mean, (covariance, _)) =
        simple_estimates(returns.as_ref(), strategy.request.risk_model)?;
    let market = || -> Vec<f64> {
        let col = market_col.unwrap_or_else(|| unreachable!("loaded when needed"));
        panel
            .returns
            .col(col)
            .subrows(first, last - first + 1)
            .iter()
            .copied()
            .collect()
    };
    match &strategy.request.mu {
        ExpectedReturns::Mean => {}
        ExpectedReturns::Exponential(span) => {
            RiskModel::Exponential { span: *span }.validate()?;
            mean = exponential_means(returns.as_ref(), *span, 252.0);
        }
        ExpectedReturns::Capm => mean = capm_means(returns.as_ref(), &market(), risk_free, 252.0),
        ExpectedReturns::BlackLitterman(spec) => {
            let delta = match spec.delta {
                Some(d) => d,
                None => {
                    let m = market();
                    let d =
                        (252.0 * stats::mean(&m) - risk_free) / (252.0 * stats::variance(&m, 1));
                    if !(d.is_finite() && d > 0.0) {
                        return Err(AppError::NoData {
                            message: format!(
                                "the market proxy earned less than the risk-free rate over the lookback, so its implied risk aversion ({d:.3}) cannot price a Black–Litterman prior; give a longer --lookback"
                            ),
                        });
                    }
                    d
                }
            };
            let caps = spec.market_caps.clone().unwrap_or_else(|| vec![1.0; n]);
            let prior = implied_prior(covariance.as_ref(), &caps, delta, risk_free);
            mean = posterior(covariance.as_ref(), &prior, spec.tau, &spec.views)?.returns;
        }
    }
    match &strategy.rule {
        Rule::Allocate(method) => {
            allocation_weights(method, covariance.as_ref(), &strategy.request.tickers)
        }
        Rule::Optimize(goal) => {
            let lower = strategy.request.min_weight.unwrap_or(0.0);
            let upper = strategy.request.max_weight.unwrap_or(1.0);
            let problem = Problem {
                mean,
                covariance,
                lower: vec![lower; n],
                upper: vec![upper; n],
            };
            let mut request = strategy.request.clone();
            if let Some(c) = request.constraints.as_mut()
                && c.current.is_some()
            {
                c.current = Some(held.weights.to_vec());
                if held.first {
                    c.turnover = None;
                }
            }
            Ok(solve_goal(&request, &problem, *goal, risk_free)?
                .portfolio
                .weights)
        }
    }
}
