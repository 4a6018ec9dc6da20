//! Covariance estimation over the store and the allocation methods that need no expected returns.
//!
//! With the default (`--cov sample`) each return convention keeps the covariance it always had —
//! scrilla's σᵢσⱼρᵢⱼ from the chosen estimator for log returns, 252 × the sample covariance for
//! simple returns. Any other risk model is estimated from the daily returns of the chosen
//! convention on the dates all tickers share, × 252. Either way a matrix that is not positive
//! semi-definite (possible for σσρ when the correlations come from different estimators) is
//! repaired and reported, never used silently.

use faer::Mat;
use serde::Serialize;
use stratus_core::allocation::{
    equal_weight, hierarchical_equal_risk_contribution, hierarchical_risk_parity,
    inverse_volatility, max_diversification, risk_budgeting,
};
use stratus_core::cluster::Linkage;
use stratus_core::covariance::{Par, correlation_from_covariance};
use stratus_core::risk_models::{RiskModel, estimate_covariance, repair_psd};
use stratus_core::{Method, NaiveDate, PriceSeries, RiskProfile, Window};

use crate::portfolio::{Allocation, PortfolioRequest, ReturnConvention};
use crate::{Analytics, AppError};

/// How a covariance matrix was estimated (reported with results that used one).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CovarianceReport {
    /// Risk model name (`sample`, `ledoit-wolf`, …).
    pub model: String,
    /// Shrinkage intensity, for the shrinkage estimators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrinkage: Option<f64>,
    /// Set when the estimate was not positive semi-definite: its most negative eigenvalue, before
    /// the nearest positive semi-definite matrix replaced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repaired_min_eigenvalue: Option<f64>,
}

impl CovarianceReport {
    /// Worth showing: anything but an unrepaired sample covariance.
    pub fn is_notable(&self) -> bool {
        self.model != "sample" || self.repaired_min_eigenvalue.is_some()
    }

    /// One line for a table's notes.
    pub fn note(&self) -> String {
        let mut text = format!("covariance: {}", self.model);
        if let Some(s) = self.shrinkage {
            text.push_str(&format!(" (shrinkage {s:.4})"));
        }
        if let Some(e) = self.repaired_min_eigenvalue {
            text.push_str(&format!(
                "; not positive semi-definite (smallest eigenvalue {e:.3e}), replaced by the nearest matrix that is"
            ));
        }
        text
    }
}

/// An allocation method that needs only the covariance.
#[derive(Debug, Clone, PartialEq)]
pub enum AllocationMethod {
    /// 1/N.
    EqualWeight,
    /// ∝ 1/σ.
    InverseVolatility,
    /// Risk contributions equal to the budgets (equal when `None`).
    RiskParity(Option<Vec<f64>>),
    /// Highest diversification ratio.
    MaxDiversification,
    /// Hierarchical risk parity with this linkage.
    Hrp(Linkage),
    /// Hierarchical equal risk contribution with this linkage.
    Herc(Linkage),
}

impl AllocationMethod {
    fn solver(&self) -> String {
        match self {
            AllocationMethod::EqualWeight => "equal weight".into(),
            AllocationMethod::InverseVolatility => "inverse volatility".into(),
            AllocationMethod::RiskParity(_) => "risk budgeting (Newton, exact)".into(),
            AllocationMethod::MaxDiversification => {
                "critical-line (maximum diversification)".into()
            }
            AllocationMethod::Hrp(l) => format!("hierarchical risk parity ({} linkage)", l.name()),
            AllocationMethod::Herc(l) => {
                format!(
                    "hierarchical equal risk contribution ({} linkage)",
                    l.name()
                )
            }
        }
    }
}

impl Analytics {
    /// Daily returns (T × N) of a convention over the dates every ticker has a price on.
    pub async fn aligned_returns(
        &self,
        tickers: &[String],
        window: Window,
        convention: ReturnConvention,
    ) -> Result<Mat<f64>, AppError> {
        Ok(self.dated_returns(tickers, window, convention).await?.1)
    }

    /// [`Analytics::aligned_returns`] with the date each row of returns ends on.
    pub async fn dated_returns(
        &self,
        tickers: &[String],
        window: Window,
        convention: ReturnConvention,
    ) -> Result<(Vec<NaiveDate>, Mat<f64>), AppError> {
        let mut series: Vec<PriceSeries> = Vec::with_capacity(tickers.len());
        for t in tickers {
            series.push(self.series(t, window).await?);
        }
        let mut common = series[0].clone();
        for s in &series[1..] {
            common = common.restricted_to_dates_of(s);
        }
        let aligned: Vec<PriceSeries> = series
            .iter()
            .map(|s| s.restricted_to_dates_of(&common))
            .collect();
        for s in &aligned {
            s.require(3)?;
        }
        let returns: Vec<Vec<f64>> = aligned
            .iter()
            .map(|s| match convention {
                ReturnConvention::Simple => s.simple_returns(),
                ReturnConvention::Log => s.simple_returns().iter().map(|r| r.ln_1p()).collect(),
            })
            .collect();
        let dates = aligned[0].dates().iter().skip(1).copied().collect();
        Ok((
            dates,
            Mat::from_fn(returns[0].len(), tickers.len(), |t, j| returns[j][t]),
        ))
    }

    /// The annualised covariance of checked tickers under a convention and a risk model.
    pub async fn estimated_covariance(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
        convention: ReturnConvention,
        model: RiskModel,
    ) -> Result<(Mat<f64>, CovarianceReport), AppError> {
        model.validate()?;
        if model == RiskModel::Sample && convention == ReturnConvention::Log {
            let (profiles, corr) = self
                .profiles_and_correlations(tickers, window, method)
                .await?;
            return Ok(scrilla_covariance(&profiles, &corr));
        }
        let returns = self.aligned_returns(tickers, window, convention).await?;
        let estimate = estimate_covariance(returns.as_ref(), model, 252.0, Par::Seq)?;
        Ok((
            estimate.matrix,
            CovarianceReport {
                model: model.name().into(),
                shrinkage: estimate.shrinkage,
                repaired_min_eigenvalue: estimate.repair.map(|r| r.smallest_eigenvalue),
            },
        ))
    }

    /// The correlation matrix implied by [`Analytics::estimated_covariance`].
    pub async fn estimated_correlation(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
        convention: ReturnConvention,
        model: RiskModel,
    ) -> Result<(Mat<f64>, CovarianceReport), AppError> {
        let (cov, report) = self
            .estimated_covariance(tickers, window, method, convention, model)
            .await?;
        if let Some(i) = (0..cov.nrows()).find(|&i| cov[(i, i)] <= 0.0) {
            return Err(AppError::NoData {
                message: format!(
                    "{} has zero variance in the window, so its correlations are undefined; remove it or widen the window",
                    tickers[i]
                ),
            });
        }
        Ok((correlation_from_covariance(cov.as_ref()), report))
    }

    /// A portfolio by a method that needs only the covariance; returns and the Sharpe ratio are
    /// reported with the request's expected returns.
    pub async fn allocate(
        &self,
        request: &PortfolioRequest,
        method: &AllocationMethod,
    ) -> Result<Allocation, AppError> {
        let inputs = self.problem(request).await?;
        let weights = allocation_weights(method, inputs.0.covariance.as_ref(), &request.tickers)?;
        let portfolio = inputs.0.portfolio(weights);
        self.allocation_for(request, &inputs, &portfolio, &method.solver())
            .await
    }
}

/// The weights of a method that needs only the covariance (errors name the ticker at fault).
pub(crate) fn allocation_weights(
    method: &AllocationMethod,
    cov: faer::MatRef<'_, f64>,
    tickers: &[String],
) -> Result<Vec<f64>, AppError> {
    let named = |e: stratus_core::AnalyticsError| name_asset(e, tickers);
    Ok(match method {
        AllocationMethod::EqualWeight => equal_weight(tickers.len()),
        AllocationMethod::InverseVolatility => inverse_volatility(cov).map_err(named)?,
        AllocationMethod::RiskParity(budgets) => {
            risk_budgeting(cov, budgets.as_deref()).map_err(named)?
        }
        AllocationMethod::MaxDiversification => max_diversification(cov).map_err(named)?,
        AllocationMethod::Hrp(linkage) => hierarchical_risk_parity(cov, *linkage).map_err(named)?.0,
        AllocationMethod::Herc(linkage) => {
            hierarchical_equal_risk_contribution(cov, *linkage)
                .map_err(named)?
                .0
        }
    })
}

/// scrilla's covariance σᵢσⱼρᵢⱼ, repaired when the correlations make it indefinite.
pub(crate) fn scrilla_covariance(
    profiles: &[RiskProfile],
    corr: &[Vec<f64>],
) -> (Mat<f64>, CovarianceReport) {
    let n = profiles.len();
    let mut matrix = Mat::from_fn(n, n, |i, j| {
        profiles[i].annual_volatility * profiles[j].annual_volatility * corr[i][j]
    });
    let repair = repair_psd(&mut matrix);
    (
        matrix,
        CovarianceReport {
            model: RiskModel::Sample.name().into(),
            shrinkage: None,
            repaired_min_eigenvalue: repair.map(|r| r.smallest_eigenvalue),
        },
    )
}

/// Replaces the core's "asset k" with the ticker's name.
fn name_asset(error: stratus_core::AnalyticsError, tickers: &[String]) -> AppError {
    match error {
        stratus_core::AnalyticsError::Undefined {
            what,
            ticker,
            reason,
        } => {
            let named = ticker
                .strip_prefix("asset ")
                .and_then(|k| k.parse::<usize>().ok())
                .and_then(|k| tickers.get(k.wrapping_sub(1)))
                .cloned()
                .unwrap_or(ticker);
            AppError::Analytics(stratus_core::AnalyticsError::Undefined {
                what,
                ticker: named,
                reason,
            })
        }
        other => AppError::Analytics(other),
    }
}
