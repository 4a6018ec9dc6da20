//! `backtest`: strategies typed as their verbs, turned into the services' requests, and the
//! result shaped once — a table of the headline measures, and the JSON of issue 17 (equity,
//! returns and rebalances keyed by date and ticker, and each run's full risk report).

use super::*;
use crate::args::{
    BacktestArgs, ConstraintArgs, LookbackArg, PerTicker, StrategySpec, parse_strategy,
};
use stratus_analytics::backtest::{Backtest, BacktestRequest, Lookback, Rule, Run, Strategy};

/// The services' request for `a`, tickers checked.
pub(crate) async fn backtest_request(
    analytics: &Analytics,
    a: &BacktestArgs,
) -> Result<BacktestRequest> {
    let raw: Vec<String> = a
        .tickers
        .iter()
        .flat_map(|list| list.split([',', ' ', '\n', '\t', '\r', ';']))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    need_at_least(&raw, 2, "backtest")?;
    if raw.len() > crate::request::MAX_LIST_ITEMS * 10 {
        return Err(AppError::InvalidInput {
            field: "tickers",
            message: format!(
                "{} tickers given; a backtest takes at most {}",
                raw.len(),
                crate::request::MAX_LIST_ITEMS * 10
            ),
        });
    }
    let tickers: Vec<String> = analytics
        .known_tickers(&raw)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let default = [
        parse_strategy("min-variance").map_err(|message| AppError::InvalidInput {
            field: "strategy",
            message,
        })?,
    ];
    let specs: Vec<&StrategySpec> = if a.strategy.is_empty() && a.compare.is_empty() {
        default.iter().collect()
    } else {
        a.strategy.iter().chain(&a.compare).collect()
    };
    let mut strategies = Vec::with_capacity(specs.len());
    for spec in specs {
        if strategies.iter().any(|s: &Strategy| s.name == spec.text) {
            return Err(AppError::InvalidInput {
                field: "strategy",
                message: format!("strategy {:?} is listed twice; list each once", spec.text),
            });
        }
        strategies.push(strategy_of(&tickers, spec)?);
    }
    Ok(BacktestRequest {
        tickers,
        start: a.window.start,
        end: a.window.end,
        lookback: match a.lookback {
            LookbackArg::Sessions(n) => Lookback::Sessions(n),
            LookbackArg::Expanding => Lookback::Expanding,
        },
        schedule: a.rebalance.clone(),
        cost_bps: a.cost,
        turnover: a.turnover,
        benchmark: a.benchmark.clone(),
        invest: a.invest.map(|amount| (amount, a.allocation.into())),
        prob: a.prob,
        strategies,
    })
}

/// The window of a strategy's request is never read: each rebalance has its own.
const ANY_WINDOW: Window = Window {
    start: NaiveDate::MIN,
    end: NaiveDate::MAX,
};

fn strategy_of(tickers: &[String], spec: &StrategySpec) -> Result<Strategy> {
    let named = |e: AppError| match e {
        AppError::InvalidInput { field, message } => AppError::InvalidInput {
            field,
            message: format!("strategy {:?}: {message}", spec.text),
        },
        other => other,
    };
    let (request, rule) = match spec.verb.as_ref() {
        Verb::OptimizePortfolio {
            portfolio,
            sharpe,
            target,
        } => (
            optimizer_request(tickers, portfolio).map_err(named)?,
            Rule::Optimize(goal_of(*sharpe, *target)),
        ),
        Verb::MaxReturn { portfolio } => (
            optimizer_request(tickers, portfolio).map_err(named)?,
            Rule::Optimize(Goal::MaxReturn),
        ),
        Verb::RiskParity {
            allocation,
            budgets,
        } => {
            let budgets = match budgets {
                Some(b) => Some(in_ticker_order("budgets", tickers, &b.0).map_err(named)?),
                None => None,
            };
            allocator(tickers, allocation, AllocationMethod::RiskParity(budgets))
        }
        Verb::Hrp {
            allocation,
            linkage,
        } => allocator(
            tickers,
            allocation,
            AllocationMethod::Hrp((*linkage).into()),
        ),
        Verb::Herc {
            allocation,
            linkage,
        } => allocator(
            tickers,
            allocation,
            AllocationMethod::Herc((*linkage).into()),
        ),
        Verb::MaxDiversification(a) => allocator(tickers, a, AllocationMethod::MaxDiversification),
        Verb::InverseVolatility(a) => allocator(tickers, a, AllocationMethod::InverseVolatility),
        Verb::EqualWeight(a) => allocator(tickers, a, AllocationMethod::EqualWeight),
        _ => unreachable!("parse_strategy accepts allocation verbs only"),
    };
    Ok(Strategy {
        name: spec.text.clone(),
        request,
        rule,
    })
}

fn optimizer_request(tickers: &[String], a: &PortfolioArgs) -> Result<PortfolioRequest> {
    let mut a = a.clone();
    a.tickers = tickers.to_vec();
    // --turnover and --cost inside a strategy are measured against the drifted book, which the
    // backtest fills in at each rebalance; zeros stand in for it here.
    let mut constraints: ConstraintArgs = a.constraints.clone();
    if constraints.turnover.is_some() || constraints.cost.is_some() {
        constraints.current = Some(PerTicker(
            tickers.iter().map(|t| (t.clone(), 0.0)).collect(),
        ));
    }
    let mut request = request_of(
        tickers.to_vec(),
        ANY_WINDOW,
        Method::Moments,
        &a,
        &constraints,
    )?;
    request.convention = ReturnConvention::Simple;
    Ok(request)
}

fn allocator(
    tickers: &[String],
    a: &AllocationArgs,
    method: AllocationMethod,
) -> (PortfolioRequest, Rule) {
    (
        allocation_request(
            tickers.to_vec(),
            ANY_WINDOW,
            Method::Moments,
            ReturnConvention::Simple,
            a,
        ),
        Rule::Allocate(method),
    )
}

pub(super) async fn backtest(analytics: &Analytics, a: &BacktestArgs) -> Result<Output> {
    let request = backtest_request(analytics, a).await?;
    let result = analytics.backtest(&request).await?;
    let mut output = backtest_output(&request, &result);
    if a.summary {
        summarise(&mut output.json);
    }
    Ok(output)
}

/// Drops the dated paths and weights, keeping every measure and total.
fn summarise(json: &mut Value) {
    let shrink = |run: &mut Value| {
        if let Some(map) = run.as_object_mut() {
            for key in ["equity_curve", "returns", "rebalances"] {
                map.remove(key);
            }
        }
    };
    if let Some(runs) = json.get_mut("strategies").and_then(Value::as_array_mut) {
        runs.iter_mut().for_each(shrink);
    }
    if let Some(run) = json.get_mut("benchmark") {
        shrink(run);
    }
}

/// `{date: value}` of a path whose k-th value belongs to `dates[k + offset]`.
fn dated(dates: &[NaiveDate], values: &[f64], offset: usize) -> Value {
    Value::Object(
        values
            .iter()
            .enumerate()
            .map(|(k, v)| (dates[k + offset].to_string(), json!(v)))
            .collect(),
    )
}

fn run_json(result: &Backtest, run: &Run) -> Value {
    let rebalances: Vec<Value> = run
        .rebalances
        .iter()
        .map(|r| {
            let weights: Map<String, Value> = result
                .tickers
                .iter()
                .zip(&r.weights)
                .map(|(t, w)| (t.clone(), json!(w)))
                .collect();
            json!({"date": r.date.to_string(), "weights": weights, "turnover": r.turnover, "cost": r.cost})
        })
        .collect();
    json!({
        "name": run.name,
        "equity_curve": dated(&result.dates, &run.equity, 0),
        "returns": dated(&result.dates, &run.returns, 1),
        "rebalances": rebalances,
        "final_equity": run.equity.last(),
        "rebalance_count": run.rebalances.len(),
        "total_turnover": run.total_turnover(),
        "total_cost": run.total_cost(),
        "risk_report": serde_json::to_value(&run.risk_report).unwrap_or(Value::Null),
    })
}

/// The table, notes and JSON of a backtest.
pub(crate) fn backtest_output(request: &BacktestRequest, result: &Backtest) -> Output {
    let json = json!({
        "tickers": result.tickers,
        "start": result.dates.first().map(ToString::to_string),
        "end": result.dates.last().map(ToString::to_string),
        "lookback": request.lookback.name(),
        "rebalance": request.schedule.name(),
        "cost_bps": request.cost_bps,
        "risk_free": result.risk_free,
        "strategies": result.strategies.iter().map(|r| run_json(result, r)).collect::<Vec<_>>(),
        "benchmark": run_json(result, &result.benchmark),
    });
    let header = [
        "strategy",
        "total return",
        "annual return",
        "annual volatility",
        "Sharpe ratio",
        "max drawdown",
        "rebalances",
        "turnover",
        "costs",
    ]
    .map(String::from)
    .to_vec();
    let rows = result
        .strategies
        .iter()
        .chain([&result.benchmark])
        .map(|run| {
            let m = &run.risk_report;
            let is_benchmark = std::ptr::eq(run, &result.benchmark);
            cells![
                if is_benchmark {
                    format!("{} (benchmark, held)", run.name)
                } else {
                    run.name.clone()
                },
                pct(run.equity.last().copied().unwrap_or(1.0) - 1.0),
                pct(m.annual_return),
                pct(m.annual_volatility),
                num(m.sharpe_ratio),
                pct(m.max_drawdown),
                run.rebalances.len().to_string(),
                if is_benchmark {
                    "-".into()
                } else {
                    num(run.total_turnover())
                },
                if is_benchmark {
                    "-".into()
                } else {
                    pct(run.total_cost())
                },
            ]
        })
        .collect();
    Output::table(json, header, rows)
        .note(format!(
            "{} to {} ({} sessions), {} tickers; rebalanced {} on estimates from the {} lookback ending the session before; costs {} bp of the value traded",
            result.dates.first().map(ToString::to_string).unwrap_or_default(),
            result.dates.last().map(ToString::to_string).unwrap_or_default(),
            result.dates.len(),
            result.tickers.len(),
            request.schedule.name(),
            request.lookback.name(),
            request.cost_bps,
        ))
        .note(format!(
            "daily simple returns, drawdowns of the compounded path; risk-free {} for the Sharpe ratio; --json for every measure, the equity curves and each rebalance's weights",
            pct(result.risk_free)
        ))
}
