//! Risk reports over the store: every measure of each asset's daily simple returns on the dates
//! all tickers share, and, given weights, of the portfolio rebalanced to them daily, with each
//! asset's share of its volatility and CVaR.

use serde::Serialize;
use stratus_core::allocation::risk_contributions;
use stratus_core::covariance::{Par, covariance_matrix};
use stratus_core::measures::{RiskReport, cvar_contributions, drawdowns, risk_report};
use stratus_core::{NaiveDate, Window};

use crate::portfolio::ReturnConvention;
use crate::{Analytics, AppError};

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// Checked tickers.
    pub tickers: Vec<String>,
    /// Window.
    pub window: Window,
    /// Portfolio weights in ticker order (summing to 1), if a portfolio is asked for.
    pub weights: Option<Vec<f64>>,
    /// Annual risk-free rate for the Sharpe and Sortino ratios (default: as of the window end).
    pub risk_free: Option<f64>,
    /// Tail probability of the VaR family.
    pub prob: f64,
}

/// A portfolio's report and where its risk comes from.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioReport {
    /// The weights, in ticker order.
    pub weights: Vec<f64>,
    /// The portfolio's measures.
    pub measures: RiskReport,
    /// Each asset's share of the variance, wᵢ(Σw)ᵢ/wᵀΣw.
    pub volatility_contribution: Vec<f64>,
    /// Each asset's share of the historical CVaR.
    pub cvar_contribution: Vec<f64>,
}

/// Reports of every asset and optionally of a portfolio, with the drawdown paths.
#[derive(Debug, Clone)]
pub struct RiskReports {
    /// Tickers in order.
    pub tickers: Vec<String>,
    /// The risk-free rate used.
    pub risk_free: f64,
    /// The date each return ends on.
    pub dates: Vec<NaiveDate>,
    /// Each asset's measures.
    pub assets: Vec<RiskReport>,
    /// Each asset's drawdown path.
    pub asset_drawdowns: Vec<Vec<f64>>,
    /// The portfolio, when weights were given.
    pub portfolio: Option<(PortfolioReport, Vec<f64>)>,
}

/// Weights must be finite and sum to 1 (a long-short book may hold negative weights).
fn check_weights(tickers: &[String], weights: &[f64]) -> Result<(), AppError> {
    if weights.len() != tickers.len() {
        return Err(AppError::InvalidInput {
            field: "weights",
            message: format!(
                "{} weights for {} tickers; give one weight per ticker",
                weights.len(),
                tickers.len()
            ),
        });
    }
    let total: f64 = weights.iter().sum();
    if weights.iter().any(|w| !w.is_finite() || w.abs() > 100.0) || (total - 1.0).abs() > 1e-6 {
        return Err(AppError::InvalidInput {
            field: "weights",
            message: format!(
                "--weights must be finite (|w| ≤ 100) and sum to 1; these sum to {total}"
            ),
        });
    }
    Ok(())
}

impl Analytics {
    /// Measures of each asset and, given weights, of the portfolio.
    pub async fn risk_reports(&self, request: &ReportRequest) -> Result<RiskReports, AppError> {
        stratus_core::risk::check_probability("--prob", request.prob)?;
        if let Some(w) = &request.weights {
            check_weights(&request.tickers, w)?;
        }
        let risk_free = match request.risk_free {
            Some(rate) => rate,
            None => self.risk_free(request.window.end).await?.1,
        };
        let (dates, returns) = self
            .dated_returns(&request.tickers, request.window, ReturnConvention::Simple)
            .await?;
        let columns: Vec<Vec<f64>> = (0..returns.ncols())
            .map(|j| returns.col(j).iter().copied().collect())
            .collect();
        let mut assets = Vec::with_capacity(columns.len());
        for (ticker, series) in request.tickers.iter().zip(&columns) {
            assets.push(risk_report(series, risk_free, request.prob).map_err(|e| {
                AppError::NoData {
                    message: format!("{ticker}: {e}"),
                }
            })?);
        }
        let portfolio = match &request.weights {
            None => None,
            Some(weights) => {
                let path: Vec<f64> = (0..dates.len())
                    .map(|t| weights.iter().zip(&columns).map(|(w, c)| w * c[t]).sum())
                    .collect();
                let measures =
                    risk_report(&path, risk_free, request.prob).map_err(|e| AppError::NoData {
                        message: format!("the portfolio: {e}"),
                    })?;
                let cov = covariance_matrix(returns.as_ref(), 1.0, Par::Seq);
                let report = PortfolioReport {
                    weights: weights.clone(),
                    measures,
                    volatility_contribution: risk_contributions(cov.as_ref(), weights),
                    cvar_contribution: cvar_contributions(&columns, weights, request.prob),
                };
                Some((report, drawdowns(&path)))
            }
        };
        Ok(RiskReports {
            tickers: request.tickers.clone(),
            risk_free,
            dates,
            asset_drawdowns: columns.iter().map(|c| drawdowns(c)).collect(),
            assets,
            portfolio,
        })
    }
}
