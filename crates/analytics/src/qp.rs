//! The constrained path of the portfolio services: everything beyond long-only bounds goes to the
//! core's QP (its structured interior point, Clarabel when that cannot settle a problem), and the
//! frontier becomes one QP per point.

use stratus_core::constrained::{self, Constraints, Target};
use stratus_core::optimize::Problem;

use crate::allocation::CovarianceReport;
use crate::portfolio::{Allocation, PortfolioRequest, allocation_at};
use crate::{Analytics, AppError};

/// The constraints when the request needs the QP solver (anything beyond long-only bounds),
/// else `None` for the critical line algorithm.
pub(crate) fn qp_constraints(
    request: &PortfolioRequest,
    problem: &Problem,
) -> Result<Option<Constraints>, AppError> {
    let mut constraints = request.constraints.clone().unwrap_or_default();
    constraints.lower = problem.lower.clone();
    constraints.upper = problem.upper.clone();
    constraints.names = request.tickers.clone();
    if constraints.is_bounds_only() {
        return Ok(None);
    }
    if let Some(k) = request.max_assets {
        return Err(AppError::InvalidInput {
            field: "max_assets",
            message: format!(
                "--max-assets {k} cannot be combined with sector, linear, turnover, cost, L2, leverage or short constraints; drop one"
            ),
        });
    }
    Ok(Some(constraints))
}

impl Analytics {
    /// The constrained frontier: minimum variance, maximum return, and least variance at evenly
    /// spaced returns between them (one QP each).
    pub(crate) async fn qp_frontier(
        &self,
        request: &PortfolioRequest,
        inputs: &(Problem, CovarianceReport),
        constraints: &Constraints,
        points: usize,
        risk_free: f64,
    ) -> Result<Vec<Allocation>, AppError> {
        let problem = &inputs.0;
        let solve = |target| {
            constrained::solve(
                &problem.mean,
                problem.covariance.as_ref(),
                constraints,
                target,
            )
        };
        let low = solve(Target::MinVariance)?;
        let high = solve(Target::MaxReturn)?;
        let (r0, r1) = (
            problem.portfolio_return(&low.weights),
            problem.portfolio_return(&high.weights),
        );
        let total = points as u64;
        let mut out = Vec::with_capacity(points);
        for k in 0..points {
            self.report("frontier", k as u64, total);
            let solved = match k {
                0 => low.clone(),
                _ if k + 1 == points => high.clone(),
                _ => {
                    let r = r0 + (r1 - r0) * k as f64 / (points - 1) as f64;
                    solve(Target::Return(r))?
                }
            };
            let turnover = solved.turnover;
            let mut allocation = allocation_at(
                request,
                inputs,
                &problem.portfolio(solved.weights),
                solved.solver,
                risk_free,
            );
            allocation.status = solved.status;
            allocation.turnover = turnover;
            out.push(allocation);
        }
        self.report("frontier", total, total);
        Ok(out)
    }
}
