//! One function per command: ask the services, shape the rows once, render in every format.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use stratus_analytics::{Analytics, AppError};
use stratus_core::yield_curve::PointSource;
use stratus_core::{Maturity, Method, Window};

use crate::args::{
    AllocationArgs, AnalysisArgs, Command, MatrixArgs, MethodArg, PortfolioArgs, ReportArgs,
    ReturnsArg, TickersArgs, VarArgs, Verb, WindowArgs,
};
use crate::cells;
use crate::output::{Cell, Output, money, num, pct, price};
use stratus_analytics::{Allocation, AllocationMethod, Goal, PortfolioRequest, ReturnConvention};
use stratus_charts::Format;
use stratus_core::risk_models::RiskModel;

mod allocation;
mod backtest;
mod backtest_report;
mod black_litterman;
mod charts;
mod fundamentals;
mod market;
mod portfolio;
mod report;
mod risk;

use allocation::*;
use backtest::*;
pub use backtest_report::backtest_with_report;
use backtest_report::*;
use black_litterman::*;
use charts::*;
use fundamentals::*;
use market::*;
use portfolio::*;
use report::*;
use risk::*;

type Result<T> = std::result::Result<T, AppError>;

/// Runs one command of the command line that works on the store and shapes its result.
pub async fn dispatch(command: &Command, analytics: &Analytics, format: Format) -> Result<Output> {
    match command {
        Command::Verb(verb) => run_verb(verb, analytics, format).await,
        Command::ImportCsv { file, replace } => import_csv(analytics, file, *replace).await,
        Command::ClearCache { all, yes } => clear_cache(analytics, *all, *yes).await,
        Command::Watch { tickers } => watch(analytics, tickers).await,
        Command::Version
        | Command::Connect { .. }
        | Command::Cache { .. }
        | Command::Serve { .. }
        | Command::Ingest { .. }
        | Command::Schedule { .. }
        | Command::Jobs { .. }
        | Command::Package { .. }
        | Command::Deploy { .. } => Err(AppError::Setup {
            message: "this command does not run on the analytics services".into(),
        }),
    }
}

/// Runs one verb (from the command line, HTTP or Lambda) and shapes its result.
pub async fn run_verb(verb: &Verb, analytics: &Analytics, format: Format) -> Result<Output> {
    use Verb as Command;
    match verb {
        Command::PlotEfficientFrontier { portfolio, steps } => {
            plot_frontier(analytics, portfolio, *steps, format).await
        }
        Command::PlotRiskProfile(a) => plot_risk_profile(analytics, a, format).await,
        Command::RiskReport(a) => risk_report(analytics, a).await,
        Command::Backtest(a) => backtest(analytics, a).await,
        Command::PlotBacktest(a) => plot_backtest(analytics, a, format).await,
        Command::PlotDrawdown(a) => plot_drawdown(analytics, a, format).await,
        Command::PlotRiskContribution(a) => plot_risk_contribution(analytics, a, format).await,
        Command::PlotCorrelations {
            first,
            second,
            window,
        } => plot_correlations(analytics, first, second, window, format).await,
        Command::PlotCorrelation(a) => plot_heat_map(analytics, a, format).await,
        Command::PlotMovingAverages(a) => plot_moving_averages(analytics, a, format).await,
        Command::PlotYieldCurve { date } => plot_yield_curve(analytics, *date, format).await,
        Command::PlotReturnQq { ticker, window } => {
            plot_returns(analytics, ticker, window, true, format).await
        }
        Command::PlotReturnDistribution { ticker, window } => {
            plot_returns(analytics, ticker, window, false, format).await
        }
        Command::PlotDividends {
            ticker,
            discount,
            method,
        } => plot_dividends(analytics, ticker, *discount, *method, format).await,
        Command::RiskProfile(a) => risk_profile(analytics, a).await,
        Command::Correlation(a) => correlation(analytics, a).await,
        Command::Correlations {
            first,
            second,
            window,
        } => correlations(analytics, first, second, window).await,
        Command::Covariance(a) => covariance(analytics, a).await,
        Command::SharpeRatio(a) => per_ticker_metric(analytics, a, Metric::Sharpe).await,
        Command::CapmBeta(a) => per_ticker_metric(analytics, a, Metric::Beta).await,
        Command::CapmEquity(a) => per_ticker_metric(analytics, a, Metric::EquityCost).await,
        Command::Var(a) => value_at_risk(analytics, a, false).await,
        Command::Cvar(a) => value_at_risk(analytics, a, true).await,
        Command::MovAverages(a) => mov_averages(analytics, a).await,
        Command::YieldCurve { date } => yield_curve(analytics, *date).await,
        Command::Interest { maturities, window } => interest(analytics, maturities, window).await,
        Command::RiskFree { date } => risk_free(analytics, *date).await,
        Command::Prices { tickers, window } => prices(analytics, tickers, window).await,
        Command::Close { tickers, date } => close(analytics, tickers, *date).await,
        Command::Asset { tickers } => asset(analytics, tickers).await,
        Command::Tickers => tickers(analytics).await,
        Command::OptimizePortfolio {
            portfolio,
            sharpe,
            target,
        } => optimize(analytics, portfolio, Some(goal_of(*sharpe, *target)), None).await,
        Command::MaxReturn { portfolio } => {
            optimize(analytics, portfolio, Some(Goal::MaxReturn), None).await
        }
        Command::OptimizeCvar {
            portfolio,
            prob,
            expiry,
            historical,
        } => {
            optimize(
                analytics,
                portfolio,
                None,
                Some((*prob, *expiry, *historical)),
            )
            .await
        }
        Command::EfficientFrontier { portfolio, steps } => {
            frontier(analytics, portfolio, *steps).await
        }
        Command::BlackLitterman(a) => black_litterman(analytics, a).await,
        Command::RiskParity {
            allocation,
            budgets,
        } => {
            let budgets = budgets.as_ref().map(|b| b.0.as_slice());
            allocate(analytics, allocation, Allocate::RiskParity(budgets)).await
        }
        Command::Hrp {
            allocation,
            linkage,
        } => allocate(analytics, allocation, Allocate::Hrp((*linkage).into())).await,
        Command::Herc {
            allocation,
            linkage,
        } => allocate(analytics, allocation, Allocate::Herc((*linkage).into())).await,
        Command::MaxDiversification(a) => {
            allocate(analytics, a, Allocate::MaxDiversification).await
        }
        Command::InverseVolatility(a) => allocate(analytics, a, Allocate::InverseVolatility).await,
        Command::EqualWeight(a) => allocate(analytics, a, Allocate::EqualWeight).await,
        Command::Dividends { tickers } => dividends(analytics, tickers).await,
        Command::DiscountDividendModel {
            tickers,
            discount,
            method,
        } => ddm(analytics, tickers, *discount, *method).await,
        Command::Watchlist => watchlist(analytics),
        Command::Screen { discount, method } => screen(analytics, *discount, *method).await,
        Command::Stat { series } => stat(analytics, series).await,
        Command::Stats { series, window } => stats(analytics, series, window).await,
    }
}

/// Portfolio runs over at least 500 tickers or 1000 frontier points show a progress bar.
pub fn is_long_run(command: &Command) -> bool {
    let Command::Verb(verb) = command else {
        return false;
    };
    if let Verb::Backtest(_) | Verb::PlotBacktest(_) = verb {
        return true;
    }
    let (args, steps) = match verb {
        Verb::OptimizePortfolio { portfolio, .. }
        | Verb::MaxReturn { portfolio }
        | Verb::OptimizeCvar { portfolio, .. } => (portfolio, 0),
        Verb::EfficientFrontier { portfolio, steps }
        | Verb::PlotEfficientFrontier { portfolio, steps } => (portfolio, *steps),
        _ => return false,
    };
    args.tickers.len() >= 500 || steps >= 1000
}

/// The goal `optimize-portfolio`'s flags ask for.
pub(super) fn goal_of(sharpe: bool, target: Option<f64>) -> Goal {
    match (sharpe, target) {
        (true, _) => Goal::MaxSharpe,
        (false, Some(r)) => Goal::Target(r),
        (false, None) => Goal::MinVariance,
    }
}

pub(super) fn method_of(analytics: &Analytics, args: &AnalysisArgs) -> Method {
    args.method.map_or(analytics.config().method, Method::from)
}

pub(super) fn window_note(analytics: &Analytics, window: Window, method: Option<Method>) -> String {
    let sessions = analytics
        .calendar()
        .sessions(window.start, window.end)
        .len();
    let method = method.map(|m| format!(", method {m}")).unwrap_or_default();
    format!(
        "window {} to {} ({sessions} sessions){method}",
        window.start, window.end
    )
}

pub(super) fn need_at_least(tickers: &[String], count: usize, command: &str) -> Result<()> {
    if tickers.len() < count {
        return Err(AppError::NoData {
            message: format!(
                "{command} needs at least {count} tickers, got {}",
                tickers.len()
            ),
        });
    }
    Ok(())
}
