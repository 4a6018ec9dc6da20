//! The least-CVaR portfolio: scrilla's parametric (GBM) answer on the efficient frontier, or the
//! historical Rockafellar–Uryasev linear programme over overlapping horizon returns.

use faer::Mat;
use stratus_core::checked;
use stratus_core::optimize::efficient_frontier;
use stratus_core::portfolio_cvar::{min_historical_cvar, min_parametric_cvar, parametric_cvar};

use crate::portfolio::{Allocation, PortfolioRequest, ReturnConvention, no_cardinality};
use crate::{Analytics, AppError};

impl Analytics {
    /// The portfolio with the least CVaR at tail probability `prob` over `expiry` years:
    /// historical (scenario LP over overlapping horizon returns) or parametric (GBM).
    pub async fn optimize_cvar(
        &self,
        request: &PortfolioRequest,
        prob: f64,
        expiry: f64,
        historical: bool,
    ) -> Result<Allocation, AppError> {
        stratus_core::risk::check_probability("--prob", prob)?;
        let horizon = checked::horizon_sessions("--expiry", expiry)?;
        no_cardinality(request, "optimize-cvar")?;
        if request.constraints.is_some() || request.min_weight.is_some_and(|w| w < 0.0) {
            return Err(AppError::InvalidInput {
                field: "constraints",
                message: "optimize-cvar takes --min-weight ≥ 0 and --max-weight only; sector, linear, turnover, cost, L2 and leverage constraints apply to optimize-portfolio, max-return and efficient-frontier".into(),
            });
        }
        let inputs = self.problem(request).await?;
        let problem = &inputs.0;
        if historical {
            let daily = self
                .aligned_returns(&request.tickers, request.window, ReturnConvention::Simple)
                .await?;
            if daily.nrows() < horizon + 1 {
                return Err(AppError::NoData {
                    message: format!(
                        "the window holds {} returns, fewer than the {horizon}-session horizon; widen the window",
                        daily.nrows()
                    ),
                });
            }
            // Overlapping horizon returns from compounded daily returns.
            let scenarios = Mat::from_fn(daily.nrows() + 1 - horizon, daily.ncols(), |t, j| {
                (t..t + horizon)
                    .map(|s| 1.0 + daily[(s, j)])
                    .product::<f64>()
                    - 1.0
            });
            let solution =
                min_historical_cvar(scenarios.as_ref(), &problem.lower, &problem.upper, prob)?;
            let portfolio = problem.portfolio(solution.weights.clone());
            let mut allocation = self
                .allocation_for(
                    request,
                    &inputs,
                    &portfolio,
                    "clarabel (Rockafellar–Uryasev LP)",
                )
                .await?;
            allocation.status = solution.status.to_lowercase();
            allocation.conditional_value_at_risk = Some(solution.cvar);
            Ok(allocation)
        } else {
            let frontier = efficient_frontier(problem)?;
            let portfolio = min_parametric_cvar(&frontier, prob, expiry)?;
            let cvar = parametric_cvar(&portfolio, prob, expiry)?;
            if !cvar.is_finite() {
                return Err(AppError::NoData {
                    message: format!(
                        "the GBM CVaR at --prob {prob} over --expiry {expiry} years is beyond floating-point range; use a larger --prob or a shorter --expiry"
                    ),
                });
            }
            let mut allocation = self
                .allocation_for(
                    request,
                    &inputs,
                    &portfolio,
                    "critical-line + golden section",
                )
                .await?;
            allocation.conditional_value_at_risk = Some(cvar);
            Ok(allocation)
        }
    }
}
