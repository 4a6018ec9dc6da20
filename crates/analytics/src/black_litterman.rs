//! Black–Litterman over the store: the prior from market capitalisations (or equal weights) and a
//! risk aversion implied by the market proxy over the window (or given), blended with views.

use faer::Mat;
use stratus_core::black_litterman::{Posterior, View, implied_prior, posterior};
use stratus_core::stats;

use crate::portfolio::PortfolioRequest;
use crate::{Analytics, AppError};

/// The inputs of a Black–Litterman posterior beyond the portfolio request.
#[derive(Debug, Clone, PartialEq)]
pub struct BlackLittermanSpec {
    /// Views in ticker order.
    pub views: Vec<View>,
    /// Market capitalisations in ticker order (equal weights when `None`).
    pub market_caps: Option<Vec<f64>>,
    /// τ, the uncertainty of the prior relative to Σ.
    pub tau: f64,
    /// Risk aversion δ; implied by the market proxy over the window when `None`.
    pub delta: Option<f64>,
}

impl Analytics {
    /// The posterior for a request whose covariance is `cov`, and the δ used.
    pub async fn black_litterman(
        &self,
        request: &PortfolioRequest,
        cov: &Mat<f64>,
        spec: &BlackLittermanSpec,
    ) -> Result<(Posterior, f64), AppError> {
        let risk_free = self.request_risk_free(request).await?;
        let delta = match spec.delta {
            Some(d) => d,
            None => self.implied_risk_aversion(request, risk_free).await?,
        };
        let n = request.tickers.len();
        let weights = spec.market_caps.clone().unwrap_or_else(|| vec![1.0; n]);
        let prior = implied_prior(cov.as_ref(), &weights, delta, risk_free);
        Ok((
            posterior(cov.as_ref(), &prior, spec.tau, &spec.views)?,
            delta,
        ))
    }

    /// δ = (E[r_m] − r_f)/σ²_m of the market proxy's daily simple returns over the window,
    /// annualised (PyPortfolioOpt's `market_implied_risk_aversion`).
    async fn implied_risk_aversion(
        &self,
        request: &PortfolioRequest,
        risk_free: f64,
    ) -> Result<f64, AppError> {
        let proxy = self.config().market_proxy.clone();
        let market = self.series(&proxy, request.window).await?;
        market.require(3)?;
        let returns = market.simple_returns();
        let delta =
            (252.0 * stats::mean(&returns) - risk_free) / (252.0 * stats::variance(&returns, 1));
        if delta.is_finite() && delta > 0.0 {
            Ok(delta)
        } else {
            Err(AppError::InvalidInput {
                field: "delta",
                message: format!(
                    "the market proxy {proxy} earned less than the risk-free rate over the window, so its implied risk aversion ({delta:.3}) cannot price a prior; give --delta, e.g. 2.5 (with `stratus black-litterman`), or choose a window in which {proxy} beat the risk-free rate"
                ),
            })
        }
    }
}
