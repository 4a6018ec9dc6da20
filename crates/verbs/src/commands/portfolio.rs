//! Portfolio verbs: optimisation goals, CVaR, the efficient frontier, and how an allocation is shown.

use super::*;
use crate::args::MuArg;
use stratus_analytics::{BlackLittermanSpec, ExpectedReturns};

pub(super) async fn portfolio_request(
    analytics: &Analytics,
    a: &PortfolioArgs,
) -> Result<PortfolioRequest> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    request_of(tickers, window, method, a, &a.constraints)
}

/// The request of checked tickers over a window, with `constraints` in place of the arguments'
/// own (a backtest fills in the current weights).
pub(super) fn request_of(
    tickers: Vec<String>,
    window: Window,
    method: Method,
    a: &PortfolioArgs,
    constraints: &crate::args::ConstraintArgs,
) -> Result<PortfolioRequest> {
    let constraints = constraints_of(&tickers, constraints)?;
    let bl = match &a.mu {
        MuArg::Bl(views) => Some(BlackLittermanSpec {
            views: views_in_order(&tickers, views)?,
            market_caps: None,
            tau: 0.05,
            delta: None,
        }),
        _ => None,
    };
    Ok(PortfolioRequest {
        tickers,
        window,
        method,
        convention: convention(a.returns),
        min_weight: a.min_weight,
        max_weight: a.max_weight,
        max_assets: a.max_assets,
        risk_free: a.risk_free,
        risk_model: a.risk.model(),
        mu: match (&a.mu, bl) {
            (_, Some(spec)) => ExpectedReturns::BlackLitterman(spec),
            (MuArg::Ema, _) => ExpectedReturns::Exponential(a.risk.span),
            (MuArg::Capm, _) => ExpectedReturns::Capm,
            (MuArg::Mean | MuArg::Bl(_), None) => ExpectedReturns::Mean,
        },
        constraints,
    })
}

pub(super) fn convention(returns: ReturnsArg) -> ReturnConvention {
    match returns {
        ReturnsArg::Log => ReturnConvention::Log,
        ReturnsArg::Simple => ReturnConvention::Simple,
    }
}

pub(super) fn allocation_rows(allocation: &Allocation) -> (Vec<String>, Vec<Vec<Cell>>) {
    let invested = allocation.holdings.iter().any(|h| h.shares.is_some());
    let mut header: Vec<String> = ["ticker", "weight", "annual return", "annual volatility"]
        .map(String::from)
        .to_vec();
    if invested {
        header.extend(["shares", "price", "achieved weight"].map(String::from));
    }
    let rows = allocation
        .holdings
        .iter()
        .map(|h| {
            let mut row = cells![
                h.ticker.clone(),
                pct(h.allocation),
                pct(h.annual_return),
                pct(h.annual_volatility),
            ];
            if invested {
                row.push(
                    h.shares
                        .map_or(Cell::from("-"), |s| Cell::from(s.to_string())),
                );
                row.push(h.price.map_or("-".into(), money));
                row.push(h.achieved_weight.map_or("-".into(), pct));
            }
            row
        })
        .collect();
    (header, rows)
}

pub(super) async fn optimize(
    analytics: &Analytics,
    a: &PortfolioArgs,
    goal: Option<Goal>,
    cvar: Option<(f64, f64, bool)>,
) -> Result<Output> {
    let request = portfolio_request(analytics, a).await?;
    let mut allocation = match (goal, cvar) {
        (Some(goal), _) => analytics.optimize(&request, goal).await?,
        (None, Some((prob, expiry, historical))) => {
            analytics
                .optimize_cvar(&request, prob, expiry, historical)
                .await?
        }
        (None, None) => unreachable!("every command names a goal"),
    };
    if let Some(amount) = a.invest {
        analytics
            .invest(&mut allocation, request.window, amount, a.allocation.into())
            .await?;
    }
    Ok(allocation_output(analytics, &request, &allocation))
}

/// The table, notes and JSON of one allocation.
pub(super) fn allocation_output(
    analytics: &Analytics,
    request: &PortfolioRequest,
    allocation: &Allocation,
) -> Output {
    let json = serde_json::to_value(allocation).unwrap_or(Value::Null);
    let (header, rows) = allocation_rows(allocation);
    let mut out = Output::table(json, header, rows)
        .note(window_note(analytics, request.window, Some(request.method)))
        .note(format!(
            "portfolio return {}, volatility {}, Sharpe ratio {:.4}; solver {} ({})",
            pct(allocation.portfolio_return),
            pct(allocation.portfolio_volatility),
            allocation.sharpe_ratio,
            allocation.solver,
            allocation.status
        ));
    if let Some(turnover) = allocation.turnover {
        out = out.note(format!("turnover against --current {}", pct(turnover)));
    }
    if let Some(report) = &allocation.covariance {
        out = out.note(report.note());
    }
    if let Some(mu) = &allocation.expected_returns {
        out = out.note(format!("expected returns: {mu}"));
    }
    if let Some(cvar) = allocation.conditional_value_at_risk {
        out = out.note(format!("conditional value at risk {}", pct(cvar)));
    }
    if let Some(c) = &allocation.cardinality {
        out = out.note(format!(
            "at most {} assets: {}, gap to the unlimited optimum {:.3}%{}",
            c.max_assets,
            c.method,
            c.gap_to_relaxation * 100.0,
            if c.proven_optimal {
                " (proven optimal)"
            } else {
                ""
            }
        ));
    }
    if let (Some(total), Some(cash)) = (allocation.total, allocation.cash) {
        out = out.note(format!(
            "invested {} in whole shares ({}{}), {} left in cash",
            money(total),
            allocation.rounding.as_deref().unwrap_or("floor"),
            match allocation.rounding_proven {
                Some(false) => ", best found within the search limit",
                Some(true) => ", proven optimal",
                None => "",
            },
            money(cash)
        ));
    }
    out
}

pub(super) async fn frontier(
    analytics: &Analytics,
    a: &PortfolioArgs,
    steps: usize,
) -> Result<Output> {
    let request = portfolio_request(analytics, a).await?;
    let mut points = analytics.frontier(&request, steps).await?;
    if let Some(amount) = a.invest {
        for point in &mut points {
            analytics
                .invest(point, request.window, amount, a.allocation.into())
                .await?;
        }
    }
    let json = serde_json::to_value(&points).unwrap_or(Value::Null);
    let mut header: Vec<String> = ["return", "volatility", "sharpe"]
        .map(String::from)
        .to_vec();
    header.extend(request.tickers.iter().cloned());
    let rows = points
        .iter()
        .map(|p| {
            let mut row = cells![
                pct(p.portfolio_return),
                pct(p.portfolio_volatility),
                num(p.sharpe_ratio),
            ];
            row.extend(p.holdings.iter().map(|h| pct(h.allocation)));
            row
        })
        .collect();
    let mut out = Output::table(json, header, rows)
        .note(window_note(analytics, request.window, Some(request.method)))
        .note(format!(
            "{steps} portfolios from minimum variance to maximum return; solver critical-line"
        ));
    if let Some(report) = points.first().and_then(|p| p.covariance.as_ref()) {
        out = out.note(report.note());
    }
    Ok(out)
}

/// The core's constraints from the command line's, tickers resolved; `None` when none was given.
pub(super) fn constraints_of(
    tickers: &[String],
    c: &crate::args::ConstraintArgs,
) -> Result<Option<stratus_core::constrained::Constraints>> {
    use crate::args::Comparison;
    use stratus_core::constrained::{Constraints, LinearConstraint, Relation};
    if !c.any() {
        return Ok(None);
    }
    let invalid = |field: &'static str, message: String| AppError::InvalidInput { field, message };
    let index = |field: &'static str, ticker: &str| {
        tickers.iter().position(|t| t == ticker).ok_or_else(|| {
            invalid(
                field,
                format!(
                    "--{} names {ticker}, which is not among the tickers ({})",
                    field.replace('_', "-"),
                    tickers.join(", ")
                ),
            )
        })
    };
    let mut linear = Vec::new();
    let limits = |list: &[crate::args::SectorLimits]| -> Vec<(String, f64)> {
        list.iter().flat_map(|l| l.0.iter().cloned()).collect()
    };
    let (maxima, minima) = (limits(&c.sector_max), limits(&c.sector_min));
    if (!maxima.is_empty() || !minima.is_empty()) && c.sectors.is_none() {
        return Err(invalid(
            "sectors",
            "--sector-max and --sector-min need --sectors TICKER=SECTOR,… to know each ticker's sector".into(),
        ));
    }
    if let Some(map) = &c.sectors {
        for (ticker, _) in &map.0 {
            index("sectors", ticker)?;
        }
        for (sector, bound, relation, flag) in maxima
            .iter()
            .map(|(s, b)| (s, b, Relation::AtMost, "≤"))
            .chain(minima.iter().map(|(s, b)| (s, b, Relation::AtLeast, "≥")))
        {
            let members: Vec<&String> = map
                .0
                .iter()
                .filter(|(_, s)| s.eq_ignore_ascii_case(sector))
                .map(|(t, _)| t)
                .collect();
            if members.is_empty() {
                return Err(invalid(
                    "sectors",
                    format!("no ticker is in sector {sector:?}; check --sectors"),
                ));
            }
            let coefficients = tickers
                .iter()
                .map(|t| if members.contains(&t) { 1.0 } else { 0.0 })
                .collect();
            let option = if relation == Relation::AtMost {
                "--sector-max"
            } else {
                "--sector-min"
            };
            linear.push(LinearConstraint {
                name: format!("sector {sector} {flag} {bound} ({option})"),
                coefficients,
                relation,
                bound: *bound,
            });
        }
    }
    for spec in &c.constraint {
        let mut coefficients = vec![0.0; tickers.len()];
        for (ticker, v) in &spec.terms {
            coefficients[index("constraint", ticker)?] = *v;
        }
        linear.push(LinearConstraint {
            name: format!("\"{}\" (--constraint)", spec.text),
            coefficients,
            relation: match spec.comparison {
                Comparison::AtMost => Relation::AtMost,
                Comparison::AtLeast => Relation::AtLeast,
                Comparison::Equal => Relation::Equal,
            },
            bound: spec.bound,
        });
    }
    let current = match &c.current {
        Some(given) => {
            let mut w = vec![0.0; tickers.len()];
            for (ticker, v) in &given.0 {
                w[index("current", ticker)?] = *v;
            }
            Some(w)
        }
        None => None,
    };
    if (c.turnover.is_some() || c.cost.is_some()) && current.is_none() {
        return Err(invalid(
            "current",
            "--turnover and --cost are measured against the portfolio held now; give --current TICKER=W,…".into(),
        ));
    }
    Ok(Some(Constraints {
        linear,
        current,
        turnover: c.turnover,
        cost: c.cost.unwrap_or(0.0) / 10_000.0,
        l2: c.l2.unwrap_or(0.0),
        leverage: c.leverage,
        ..Constraints::default()
    }))
}
