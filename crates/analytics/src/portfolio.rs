//! Portfolio construction over the store: the mean–variance inputs for a set of tickers, and the
//! optimisation services the adapters call.
//!
//! Two return conventions, so results can be checked against both communities' numbers:
//! `log` (scrilla's: μ is the chosen estimator's GBM drift, Σ = σσρ from log returns) and
//! `simple` (PyPortfolioOpt's: μ = 252·mean of simple returns, Σ = 252·sample covariance, over
//! the dates all tickers share).

use serde::Serialize;
use stratus_core::cardinality::{Objective, solve_limited};
use stratus_core::constrained::{self, Constraints, Target};
use stratus_core::covariance::{Par, column_means};
pub use stratus_core::discrete::Rounding;
use stratus_core::optimize::{Portfolio, Problem, efficient_frontier};
use stratus_core::risk_models::{RiskModel, capm_means, estimate_covariance, exponential_means};
use stratus_core::{Method, Window, checked};

use crate::allocation::{CovarianceReport, scrilla_covariance};
use crate::black_litterman::BlackLittermanSpec;
use crate::{Analytics, AppError};

/// How expected returns and covariances are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnConvention {
    /// Log returns with the Itô drift (scrilla).
    #[default]
    Log,
    /// Simple returns, arithmetic annualisation (PyPortfolioOpt).
    Simple,
}

/// What the user asked to build.
#[derive(Debug, Clone)]
pub struct PortfolioRequest {
    /// Checked tickers.
    pub tickers: Vec<String>,
    /// Window.
    pub window: Window,
    /// Estimator (log convention).
    pub method: Method,
    /// Return convention.
    pub convention: ReturnConvention,
    /// Minimum weight per asset (default 0).
    pub min_weight: Option<f64>,
    /// Maximum weight per asset (default 1).
    pub max_weight: Option<f64>,
    /// Hold at most this many assets.
    pub max_assets: Option<usize>,
    /// Risk-free rate override (default: the configured maturity as of the window end).
    pub risk_free: Option<f64>,
    /// How the covariance is estimated.
    pub risk_model: RiskModel,
    /// How expected returns are estimated.
    pub mu: ExpectedReturns,
    /// Constraints beyond per-asset bounds (sectors, linear, turnover, costs, L2, leverage); their
    /// bounds are filled from `min_weight`/`max_weight`.
    pub constraints: Option<Constraints>,
}

/// How expected returns are estimated.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ExpectedReturns {
    /// The convention's own: scrilla's drift (log) or 252 × the mean (simple).
    #[default]
    Mean,
    /// 252 × the exponentially weighted mean of the daily returns with this span.
    Exponential(f64),
    /// r_f + β(E[r_m] − r_f) against the configured market proxy.
    Capm,
    /// The Black–Litterman posterior of a market-implied prior and views.
    BlackLitterman(BlackLittermanSpec),
}

/// One line of an allocation (scrilla's holding object).
#[derive(Debug, Clone, Serialize)]
pub struct Holding {
    /// Symbol.
    pub ticker: String,
    /// Weight.
    pub allocation: f64,
    /// The asset's expected annual return.
    pub annual_return: f64,
    /// The asset's annual volatility.
    pub annual_volatility: f64,
    /// Whole shares bought with `--invest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// The close the shares were priced at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// The weight the whole shares achieve (shares × price / amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achieved_weight: Option<f64>,
}

/// How a cardinality limit was met.
#[derive(Debug, Clone, Serialize)]
pub struct CardinalityReport {
    /// The limit.
    pub max_assets: usize,
    /// Method used.
    pub method: String,
    /// Relative gap to the unlimited optimum (an upper bound on the optimality gap).
    pub gap_to_relaxation: f64,
    /// Whether the result is proven optimal.
    pub proven_optimal: bool,
}

/// scrilla's allocation object, with the solver and its status.
#[derive(Debug, Clone, Serialize)]
pub struct Allocation {
    /// Holdings in ticker order.
    pub holdings: Vec<Holding>,
    /// w·μ.
    pub portfolio_return: f64,
    /// √(wᵀΣw).
    pub portfolio_volatility: f64,
    /// (w·μ − r_f)/σ with r_f as of the window end.
    pub sharpe_ratio: f64,
    /// Which solver produced it.
    pub solver: String,
    /// The solver's status.
    pub status: String,
    /// Expected shortfall (CVaR) of the portfolio, for CVaR optimisations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditional_value_at_risk: Option<f64>,
    /// Cardinality limit details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardinality: Option<CardinalityReport>,
    /// Money invested in whole shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// Money left over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash: Option<f64>,
    /// How the covariance was estimated, unless it is the plain sample covariance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covariance: Option<CovarianceReport>,
    /// The expected-returns estimator, unless it is the convention's mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_returns: Option<String>,
    /// Σ|w − w₀| against `--current`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover: Option<f64>,
    /// How whole shares were chosen (`floor`, `greedy`, `lp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding: Option<String>,
    /// Whether the `lp` rounding is proven optimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_proven: Option<bool>,
}

fn bad_weight(name: &str, value: f64) -> AppError {
    AppError::NoData {
        message: format!("invalid {name} {value}: a weight between 0 and 1 is needed"),
    }
}

/// Refuses a cardinality limit where the method cannot honour it (rather than ignore it).
pub(crate) fn no_cardinality(request: &PortfolioRequest, what: &str) -> Result<(), AppError> {
    match request.max_assets {
        Some(k) => Err(AppError::InvalidInput {
            field: "max_assets",
            message: format!(
                "--max-assets {k} is not supported by {what}; drop it, or use optimize-portfolio / max-return, which honour it"
            ),
        }),
        None => Ok(()),
    }
}

/// The per-asset weight bounds of a request, checked before any data is read.
fn weight_bounds(request: &PortfolioRequest) -> Result<(f64, f64), AppError> {
    let lower = request.min_weight.unwrap_or(0.0);
    let upper = request.max_weight.unwrap_or(1.0);
    if !(-1.0..=1.0).contains(&lower) {
        return Err(AppError::NoData {
            message: format!(
                "invalid --min-weight {lower}: a weight between -1 (short) and 1 is needed"
            ),
        });
    }
    if !(0.0..=1.0).contains(&upper) {
        return Err(bad_weight("--max-weight", upper));
    }
    if lower > upper {
        return Err(AppError::NoData {
            message: format!(
                "--min-weight {lower} is above --max-weight {upper}; the minimum weight must not exceed the maximum"
            ),
        });
    }
    Ok((lower, upper))
}

/// Expected returns, and a covariance with how it was estimated.
pub(crate) type Estimates = (Vec<f64>, (faer::Mat<f64>, CovarianceReport));

/// 252 × the mean daily simple return and the annualised covariance of a risk model.
pub(crate) fn simple_estimates(
    returns: faer::MatRef<'_, f64>,
    model: RiskModel,
) -> Result<Estimates, AppError> {
    let mean = column_means(returns).iter().map(|m| 252.0 * m).collect();
    let estimate = estimate_covariance(returns, model, 252.0, Par::Seq)?;
    let report = CovarianceReport {
        model: model.name().into(),
        shrinkage: estimate.shrinkage,
        repaired_min_eigenvalue: estimate.repair.map(|r| r.smallest_eigenvalue),
    };
    Ok((mean, (estimate.matrix, report)))
}

impl ExpectedReturns {
    /// The name the command line uses, unless it is the default.
    pub fn name(&self) -> Option<String> {
        match self {
            ExpectedReturns::Mean => None,
            ExpectedReturns::Exponential(span) => Some(format!("ema (span {span})")),
            ExpectedReturns::Capm => Some("capm".into()),
            ExpectedReturns::BlackLitterman(spec) => Some(format!(
                "Black–Litterman posterior of {} view{}",
                spec.views.len(),
                if spec.views.len() == 1 { "" } else { "s" }
            )),
        }
    }
}

impl Analytics {
    /// The mean–variance inputs for a request, and how the covariance was estimated.
    pub async fn problem(
        &self,
        request: &PortfolioRequest,
    ) -> Result<(Problem, CovarianceReport), AppError> {
        let (lower, upper) = weight_bounds(request)?;
        request.risk_model.validate()?;
        let n = request.tickers.len();
        let (mean, (covariance, report)) = match request.convention {
            ReturnConvention::Log if request.risk_model == RiskModel::Sample => {
                let (profiles, corr) = self
                    .profiles_and_correlations(&request.tickers, request.window, request.method)
                    .await?;
                let mean = profiles.iter().map(|p| p.annual_return).collect();
                (mean, scrilla_covariance(&profiles, &corr))
            }
            ReturnConvention::Log => {
                let profiles = self
                    .profiles(&request.tickers, request.window, request.method)
                    .await?;
                let mean = profiles.iter().map(|p| p.annual_return).collect();
                let cov = self
                    .estimated_covariance(
                        &request.tickers,
                        request.window,
                        request.method,
                        request.convention,
                        request.risk_model,
                    )
                    .await?;
                (mean, cov)
            }
            ReturnConvention::Simple => {
                let returns = self
                    .aligned_returns(&request.tickers, request.window, request.convention)
                    .await?;
                simple_estimates(returns.as_ref(), request.risk_model)?
            }
        };
        let mean = match &request.mu {
            ExpectedReturns::Mean => mean,
            ExpectedReturns::BlackLitterman(spec) => {
                self.black_litterman(request, &covariance, spec)
                    .await?
                    .0
                    .returns
            }
            other => self.expected_returns(request, other).await?,
        };
        Ok((
            Problem {
                mean,
                covariance,
                lower: vec![lower; n],
                upper: vec![upper; n],
            },
            report,
        ))
    }

    /// Expected returns by an estimator other than the convention's mean.
    async fn expected_returns(
        &self,
        request: &PortfolioRequest,
        mu: &ExpectedReturns,
    ) -> Result<Vec<f64>, AppError> {
        match *mu {
            ExpectedReturns::Mean | ExpectedReturns::BlackLitterman(_) => {
                unreachable!("these are computed with Σ")
            }
            ExpectedReturns::Exponential(span) => {
                RiskModel::Exponential { span }.validate()?;
                let returns = self
                    .aligned_returns(&request.tickers, request.window, request.convention)
                    .await?;
                Ok(exponential_means(returns.as_ref(), span, 252.0))
            }
            ExpectedReturns::Capm => {
                let proxy = &self.config().market_proxy;
                let (market, _) = self.known(proxy).await.map_err(|e| match e {
                    AppError::UnknownTicker { ticker, known } => AppError::NoData {
                        message: format!(
                            "--mu capm needs the market proxy {ticker}, which has no prices; set MARKET_PROXY to one of {}",
                            known.join(", ")
                        ),
                    },
                    other => other,
                })?;
                let names: Vec<String> = request.tickers.iter().cloned().chain([market]).collect();
                let returns = self
                    .aligned_returns(&names, request.window, request.convention)
                    .await?;
                let n = request.tickers.len();
                let market: Vec<f64> = returns.col(n).iter().copied().collect();
                let risk_free = self.request_risk_free(request).await?;
                Ok(capm_means(
                    returns.as_ref().subcols(0, n),
                    &market,
                    risk_free,
                    252.0,
                ))
            }
        }
    }

    pub(crate) async fn request_risk_free(
        &self,
        request: &PortfolioRequest,
    ) -> Result<f64, AppError> {
        match request.risk_free {
            Some(rate) if rate.is_finite() => Ok(rate),
            Some(rate) => Err(AppError::NoData {
                message: format!("invalid --risk-free {rate}: a decimal rate is needed"),
            }),
            None => Ok(self.risk_free(request.window.end).await?.1),
        }
    }

    pub(crate) async fn allocation_for(
        &self,
        request: &PortfolioRequest,
        inputs: &(Problem, CovarianceReport),
        portfolio: &Portfolio,
        solver: &str,
    ) -> Result<Allocation, AppError> {
        let risk_free = self.request_risk_free(request).await?;
        Ok(allocation_at(request, inputs, portfolio, solver, risk_free))
    }
}

/// An allocation object for `portfolio`, its Sharpe ratio at `risk_free`.
pub(crate) fn allocation_at(
    request: &PortfolioRequest,
    (problem, report): &(Problem, CovarianceReport),
    portfolio: &Portfolio,
    solver: &str,
    risk_free: f64,
) -> Allocation {
    {
        let holdings = request
            .tickers
            .iter()
            .enumerate()
            .map(|(i, t)| Holding {
                ticker: t.clone(),
                allocation: portfolio.weights[i],
                annual_return: problem.mean[i],
                annual_volatility: problem.covariance[(i, i)].sqrt(),
                shares: None,
                price: None,
                achieved_weight: None,
            })
            .collect();
        Allocation {
            holdings,
            portfolio_return: portfolio.expected_return,
            portfolio_volatility: portfolio.volatility,
            sharpe_ratio: portfolio.sharpe_ratio(risk_free),
            solver: solver.into(),
            status: "optimal".into(),
            conditional_value_at_risk: None,
            cardinality: None,
            total: None,
            cash: None,
            covariance: report.is_notable().then(|| report.clone()),
            expected_returns: request.mu.name(),
            turnover: None,
            rounding: None,
            rounding_proven: None,
        }
    }
}

/// A goal's optimum for prepared inputs: the weights and how they were found.
#[derive(Debug, Clone)]
pub(crate) struct Optimum {
    pub(crate) portfolio: Portfolio,
    pub(crate) solver: &'static str,
    pub(crate) status: String,
    pub(crate) turnover: Option<f64>,
    pub(crate) cardinality: Option<CardinalityReport>,
}

/// Solves `goal` for a request's inputs at `risk_free`: the QP when the request has constraints
/// beyond long-only bounds, else the critical line algorithm (with the cardinality search when
/// `--max-assets` is set). Synchronous, so a backtest can call it once per rebalance.
pub(crate) fn solve_goal(
    request: &PortfolioRequest,
    problem: &Problem,
    goal: Goal,
    risk_free: f64,
) -> Result<Optimum, AppError> {
    if let Some(constraints) = crate::qp::qp_constraints(request, problem)? {
        let target = match goal {
            Goal::MinVariance => Target::MinVariance,
            Goal::MaxSharpe => Target::MaxSharpe(risk_free),
            Goal::Target(r) => Target::Return(checked::finite("--target", r)?),
            Goal::MaxReturn => Target::MaxReturn,
        };
        let solved = constrained::solve(
            &problem.mean,
            problem.covariance.as_ref(),
            &constraints,
            target,
        )?;
        return Ok(Optimum {
            portfolio: problem.portfolio(solved.weights),
            solver: solved.solver,
            status: solved.status,
            turnover: solved.turnover,
            cardinality: None,
        });
    }
    let objective = match goal {
        Goal::MinVariance => Objective::MinVariance,
        Goal::MaxSharpe => {
            // PyPortfolioOpt's most reported failure: a "maximum Sharpe" portfolio when nothing
            // earns the risk-free rate. The highest attainable return decides it.
            if let Some(best) = max_attainable_return(problem)
                && best <= risk_free
            {
                return Err(constrained::ConstrainedError::NothingBeatsRiskFree {
                    risk_free,
                    best,
                }
                .into());
            }
            Objective::MaxSharpe(risk_free)
        }
        Goal::Target(r) => Objective::TargetReturn(checked::finite("--target", r)?),
        Goal::MaxReturn => Objective::MaxReturn,
    };
    Ok(match request.max_assets {
        Some(k) => {
            let limited = solve_limited(problem, objective, k)?;
            Optimum {
                portfolio: limited.portfolio,
                solver: "critical-line",
                status: if limited.proven_optimal {
                    "optimal".into()
                } else {
                    "heuristic".into()
                },
                turnover: None,
                cardinality: Some(CardinalityReport {
                    max_assets: k,
                    method: limited.method.into(),
                    gap_to_relaxation: limited.gap,
                    proven_optimal: limited.proven_optimal,
                }),
            }
        }
        None => Optimum {
            portfolio: objective.solve(problem)?,
            solver: "critical-line",
            status: "optimal".into(),
            turnover: None,
            cardinality: None,
        },
    })
}

impl Analytics {
    /// Minimum variance, maximum Sharpe (r_f as of the window end), a return target, or maximum
    /// return, optionally with a cardinality limit.
    pub async fn optimize(
        &self,
        request: &PortfolioRequest,
        goal: Goal,
    ) -> Result<Allocation, AppError> {
        let inputs = self.problem(request).await?;
        let risk_free = self.request_risk_free(request).await?;
        let optimum = solve_goal(request, &inputs.0, goal, risk_free)?;
        let mut allocation = allocation_at(
            request,
            &inputs,
            &optimum.portfolio,
            optimum.solver,
            risk_free,
        );
        allocation.status = optimum.status;
        allocation.turnover = optimum.turnover;
        allocation.cardinality = optimum.cardinality;
        Ok(allocation)
    }

    /// `points` portfolios from minimum variance to maximum return, both included.
    pub async fn frontier(
        &self,
        request: &PortfolioRequest,
        points: usize,
    ) -> Result<Vec<Allocation>, AppError> {
        let points = checked::frontier_steps("--steps", points)?;
        no_cardinality(request, "the efficient frontier")?;
        let inputs = self.problem(request).await?;
        let problem = &inputs.0;
        let risk_free = self.request_risk_free(request).await?;
        if let Some(constraints) = crate::qp::qp_constraints(request, problem)? {
            return self
                .qp_frontier(request, &inputs, &constraints, points, risk_free)
                .await;
        }
        let frontier = efficient_frontier(problem)?;
        let portfolios = frontier.points(points);
        let total = portfolios.len() as u64;
        let mut out = Vec::with_capacity(portfolios.len());
        for (i, portfolio) in portfolios.iter().enumerate() {
            self.report("frontier", i as u64, total);
            out.push(allocation_at(
                request,
                &inputs,
                portfolio,
                "critical-line",
                risk_free,
            ));
        }
        self.report("frontier", total, total);
        Ok(out)
    }
}

/// The highest return fully invested weights within the bounds can reach: fill the best assets
/// first (a linear programme over a box and the budget needs no solver). `None` when the bounds
/// cannot sum to 1, which the solver reports in its own words.
fn max_attainable_return(problem: &Problem) -> Option<f64> {
    let (low, high): (f64, f64) = (problem.lower.iter().sum(), problem.upper.iter().sum());
    if low > 1.0 || high < 1.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..problem.mean.len()).collect();
    order.sort_by(|&a, &b| problem.mean[b].total_cmp(&problem.mean[a]));
    let mut left = 1.0 - low;
    let mut best: f64 = problem
        .lower
        .iter()
        .zip(&problem.mean)
        .map(|(w, m)| w * m)
        .sum();
    for i in order {
        let extra = (problem.upper[i] - problem.lower[i]).min(left);
        best += extra * problem.mean[i];
        left -= extra;
    }
    Some(best)
}

/// What [`Analytics::optimize`] looks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Least variance.
    MinVariance,
    /// Highest Sharpe ratio.
    MaxSharpe,
    /// Least variance at this return.
    Target(f64),
    /// Highest return.
    MaxReturn,
}
