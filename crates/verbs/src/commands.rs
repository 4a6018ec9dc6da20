//! One function per command: ask the services, shape the rows once, render in every format.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use stratus_analytics::{Analytics, AppError};
use stratus_core::yield_curve::PointSource;
use stratus_core::{Maturity, Method, Window};

use crate::args::{
    AnalysisArgs, Command, MethodArg, PortfolioArgs, ReturnsArg, TickersArgs, VarArgs, Verb,
    WindowArgs,
};
use crate::cells;
use crate::output::{Cell, Output, money, num, pct, price};
use stratus_analytics::{Allocation, Goal, PortfolioRequest, ReturnConvention};
use stratus_charts::Format;

type Result<T> = std::result::Result<T, AppError>;

/// Runs one command of the command line that works on the store and shapes its result.
pub async fn dispatch(command: &Command, analytics: &Analytics, format: Format) -> Result<Output> {
    match command {
        Command::Verb(verb) => run_verb(verb, analytics, format).await,
        Command::ImportCsv { file, replace } => import_csv(analytics, file, *replace).await,
        Command::ClearCache { all, yes } => clear_cache(analytics, *all, *yes).await,
        Command::Watch { tickers } => watch(analytics, tickers).await,
        Command::Version
        | Command::Cache { .. }
        | Command::Serve { .. }
        | Command::Ingest { .. }
        | Command::Schedule { .. }
        | Command::Package { .. } => Err(AppError::Setup {
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
        } => {
            let goal = match (sharpe, target) {
                (true, _) => Goal::MaxSharpe,
                (false, Some(r)) => Goal::Target(*r),
                (false, None) => Goal::MinVariance,
            };
            optimize(analytics, portfolio, Some(goal), None).await
        }
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

fn method_of(analytics: &Analytics, args: &AnalysisArgs) -> Method {
    args.method.map_or(analytics.config().method, Method::from)
}

fn window_note(analytics: &Analytics, window: Window, method: Option<Method>) -> String {
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

fn need_at_least(tickers: &[String], count: usize, command: &str) -> Result<()> {
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

async fn risk_profile(analytics: &Analytics, a: &TickersArgs) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let (profiles, (rate_date, rate)) = analytics
        .risk_profiles_with_rate(&tickers, window, method)
        .await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    for (ticker, p) in &profiles {
        json.insert(
            ticker.clone(),
            serde_json::to_value(p).unwrap_or(Value::Null),
        );
        rows.push(cells![
            ticker.clone(),
            pct(p.annual_return),
            pct(p.annual_volatility),
            num(p.sharpe_ratio),
            num(p.asset_beta),
            pct(p.equity_cost),
        ]);
    }
    let header = [
        "ticker",
        "annual return",
        "annual volatility",
        "sharpe ratio",
        "beta",
        "cost of equity",
    ];
    Ok(
        Output::table(Value::Object(json), header.map(String::from).to_vec(), rows)
            .note(window_note(analytics, window, Some(method)))
            .note(format!(
                "risk-free {} {} as of {rate_date}; market proxy {}",
                analytics.config().risk_free,
                pct(rate),
                analytics.config().market_proxy
            )),
    )
}

fn matrix_output(
    tickers: &[String],
    matrix: &[Vec<f64>],
    key: &str,
) -> (Value, Vec<String>, Vec<Vec<Cell>>) {
    let json = json!({ "tickers": tickers, key: matrix });
    let header = std::iter::once(String::new())
        .chain(tickers.iter().cloned())
        .collect();
    let rows = tickers
        .iter()
        .zip(matrix)
        .map(|(t, row)| {
            std::iter::once(Cell::from(t.clone()))
                .chain(row.iter().map(|v| num(*v)))
                .collect()
        })
        .collect();
    (json, header, rows)
}

async fn correlation(analytics: &Analytics, a: &TickersArgs) -> Result<Output> {
    need_at_least(&a.tickers, 2, "correlation")?;
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let matrix = analytics
        .correlation_matrix(&tickers, window, method)
        .await?;
    let (json, header, rows) = matrix_output(&tickers, &matrix, "correlation_matrix");
    Ok(Output::table(json, header, rows).note(window_note(analytics, window, Some(method))))
}

async fn covariance(analytics: &Analytics, a: &TickersArgs) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let matrix = analytics
        .covariance_matrix(&tickers, window, method)
        .await?;
    let (json, header, rows) = matrix_output(&tickers, &matrix, "covariance_matrix");
    Ok(Output::table(json, header, rows)
        .note(window_note(analytics, window, Some(method)))
        .note("annualised covariance of log returns"))
}

async fn correlations(
    analytics: &Analytics,
    first: &str,
    second: &str,
    w: &WindowArgs,
) -> Result<Output> {
    let pair = [first.to_string(), second.to_string()];
    let (tickers, window) = analytics.window(&pair, w.start, w.end).await?;
    let series = analytics
        .correlation_series(&tickers[0], &tickers[1], window)
        .await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    for (date, rho) in &series {
        json.insert(date.to_string(), json!(rho));
        rows.push(cells![date.to_string(), num(*rho)]);
    }
    Ok(Output::table(
        Value::Object(json),
        vec!["date".into(), format!("{}/{}", tickers[0], tickers[1])],
        rows,
    )
    .note(window_note(analytics, window, Some(Method::Moments)))
    .note(format!(
        "each value over the {} returns ending that day",
        analytics.config().window_returns
    )))
}

enum Metric {
    Sharpe,
    Beta,
    EquityCost,
}

async fn per_ticker_metric(
    analytics: &Analytics,
    a: &TickersArgs,
    metric: Metric,
) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let profiles = analytics.risk_profiles(&tickers, window, method).await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    let label = match metric {
        Metric::Sharpe => "sharpe ratio",
        Metric::Beta => "beta",
        Metric::EquityCost => "cost of equity",
    };
    for (ticker, p) in profiles {
        let (value, shown) = match metric {
            Metric::Sharpe => (json!(p.sharpe_ratio), num(p.sharpe_ratio)),
            Metric::Beta => (json!({ "asset_beta": p.asset_beta }), num(p.asset_beta)),
            Metric::EquityCost => (json!({ "equity_cost": p.equity_cost }), pct(p.equity_cost)),
        };
        json.insert(ticker.clone(), value);
        rows.push(cells![ticker, shown]);
    }
    Ok(Output::table(
        Value::Object(json),
        vec!["ticker".into(), label.into()],
        rows,
    )
    .note(window_note(analytics, window, Some(method))))
}

async fn value_at_risk(analytics: &Analytics, a: &VarArgs, conditional: bool) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let key = if conditional {
        "conditional_value_at_risk"
    } else {
        "value_at_risk"
    };
    let mut json = Map::new();
    let mut rows = Vec::new();
    for ticker in &tickers {
        let (var, cvar) = if a.historical {
            analytics
                .historical_var(ticker, window, a.prob, a.expiry)
                .await?
        } else {
            analytics
                .gbm_var(ticker, window, method, a.prob, a.expiry)
                .await?
        };
        let value = if conditional { cvar } else { var };
        let spot = analytics
            .series(ticker, window)
            .await?
            .last()
            .map_or(f64::NAN, |(_, c)| c);
        json.insert(ticker.clone(), json!({ key: value }));
        rows.push(cells![
            ticker.clone(),
            money(spot),
            money(value),
            pct(value / spot - 1.0),
        ]);
    }
    let model = if a.historical {
        "historical (empirical returns)".to_string()
    } else {
        format!("GBM, method {method}")
    };
    let label = if conditional {
        "CVaR price"
    } else {
        "VaR price"
    };
    Ok(Output::table(
        Value::Object(json),
        ["ticker", "last close", label, "change"]
            .map(String::from)
            .to_vec(),
        rows,
    )
    .note(window_note(analytics, window, None))
    .note(format!(
        "{model}; tail probability {}, horizon {} years ({:.1} sessions)",
        a.prob,
        a.expiry,
        a.expiry * 252.0
    )))
}

async fn mov_averages(analytics: &Analytics, a: &TickersArgs) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let first = std::slice::from_ref(&a.tickers[0]);
    let (tickers, window) = analytics
        .window(first, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let averages = analytics
        .moving_averages(&tickers[0], window, method)
        .await?;
    let names: Vec<String> = averages.periods.iter().map(|p| format!("MA_{p}")).collect();
    let mut json = Map::new();
    let mut rows = Vec::new();
    for (date, values) in &averages.rows {
        let entry: Map<String, Value> = names
            .iter()
            .cloned()
            .zip(values.iter().map(|v| json!(v)))
            .collect();
        json.insert(date.to_string(), Value::Object(entry));
        rows.push(
            std::iter::once(Cell::from(date.to_string()))
                .chain(values.iter().map(|v| v.map_or(Cell::from("-"), pct)))
                .collect(),
        );
    }
    let header = std::iter::once("date".to_string()).chain(names).collect();
    let mut out = Output::table(Value::Object(json), header, rows).note(format!(
        "{}: annualised return over the last N sessions",
        tickers[0]
    ));
    if a.tickers.len() > 1 {
        out = out.note(format!("only the first ticker is used ({})", tickers[0]));
    }
    Ok(out.note(window_note(analytics, window, Some(method))))
}

async fn yield_curve(analytics: &Analytics, date: Option<NaiveDate>) -> Result<Output> {
    let date = match date {
        Some(d) => d,
        None => analytics.latest_rate_date().await?,
    };
    let (published, curve) = analytics.yield_curve(date, &Maturity::ALL).await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    let mut filled = Vec::new();
    for point in &curve {
        json.insert(point.maturity.name().into(), json!(point.rate));
        let source = match point.source {
            PointSource::Observed => "published",
            PointSource::Interpolated => "interpolated",
            PointSource::Extrapolated => "extrapolated (flat)",
        };
        if point.source != PointSource::Observed {
            filled.push(point.maturity.label());
        }
        rows.push(cells![
            point.maturity.name(),
            point.maturity.label(),
            pct(point.rate),
            source,
        ]);
    }
    let mut out = Output::table(
        Value::Object(json),
        ["maturity", "tenor", "yield", "source"]
            .map(String::from)
            .to_vec(),
        rows,
    )
    .note(format!("US Treasury par yield curve published {published}"));
    if published != date {
        out = out.note(format!(
            "{date} has no publication; showing the previous one"
        ));
    }
    if !filled.is_empty() {
        out = out.note(format!(
            "not published that day, filled from neighbouring tenors: {}",
            filled.join(", ")
        ));
    }
    Ok(out)
}

async fn interest(analytics: &Analytics, maturities: &[String], w: &WindowArgs) -> Result<Output> {
    let parsed: Vec<Maturity> = maturities
        .iter()
        .map(|m| m.parse())
        .collect::<std::result::Result<_, _>>()?;
    let latest = analytics.latest_rate_date().await?;
    let bond = stratus_core::TradingCalendar::get(stratus_core::CalendarKind::Bond);
    let window = stratus_core::resolve_window(
        w.start,
        w.end,
        latest,
        analytics.config().window_returns,
        bond,
    )?;
    let history = analytics.interest(&parsed, window).await?;
    let mut json = Map::new();
    let mut dates: Vec<NaiveDate> = history.values().flatten().map(|(d, _)| *d).collect();
    dates.sort_unstable();
    dates.dedup();
    for m in &parsed {
        let series: Map<String, Value> = history[m]
            .iter()
            .map(|(d, v)| (d.to_string(), json!(v)))
            .collect();
        json.insert(m.name().into(), Value::Object(series));
    }
    let rows = dates
        .iter()
        .map(|d| {
            std::iter::once(Cell::from(d.to_string()))
                .chain(parsed.iter().map(|m| {
                    history[m]
                        .iter()
                        .find(|(x, _)| x == d)
                        .map_or(Cell::from("-"), |(_, v)| pct(*v))
                }))
                .collect()
        })
        .collect();
    let header = std::iter::once("date".to_string())
        .chain(parsed.iter().map(|m| m.name().to_string()))
        .collect();
    Ok(
        Output::table(Value::Object(json), header, rows).note(format!(
            "window {} to {}; yields as decimals in JSON",
            window.start, window.end
        )),
    )
}

async fn risk_free(analytics: &Analytics, date: Option<NaiveDate>) -> Result<Output> {
    let date = match date {
        Some(d) => d,
        None => analytics.latest_rate_date().await?,
    };
    let (published, rate) = analytics.risk_free(date).await?;
    let maturity = analytics.config().risk_free;
    Ok(Output::table(
        json!({ maturity.name(): rate }),
        ["maturity", "rate", "published"].map(String::from).to_vec(),
        vec![cells![maturity.name(), pct(rate), published.to_string(),]],
    ))
}

async fn prices(analytics: &Analytics, tickers: &[String], w: &WindowArgs) -> Result<Output> {
    let (tickers, window) = analytics.window(tickers, w.start, w.end).await?;
    let mut json = Map::new();
    let mut all = Vec::new();
    for t in &tickers {
        let series = analytics.series(t, window).await?;
        let map: Map<String, Value> = series
            .dates()
            .iter()
            .zip(series.closes())
            .map(|(d, c)| (d.to_string(), json!(c)))
            .collect();
        json.insert(t.clone(), Value::Object(map));
        all.push(series);
    }
    let mut dates: Vec<NaiveDate> = all.iter().flat_map(|s| s.dates().to_vec()).collect();
    dates.sort_unstable();
    dates.dedup();
    let rows = dates
        .iter()
        .map(|d| {
            std::iter::once(Cell::from(d.to_string()))
                .chain(all.iter().map(|s| {
                    s.dates()
                        .binary_search(d)
                        .map_or(Cell::from("-"), |i| price(s.closes()[i]))
                }))
                .collect()
        })
        .collect();
    let header = std::iter::once("date".to_string())
        .chain(tickers.iter().cloned())
        .collect();
    Ok(Output::table(Value::Object(json), header, rows).note(window_note(analytics, window, None)))
}

async fn close(
    analytics: &Analytics,
    tickers: &[String],
    date: Option<NaiveDate>,
) -> Result<Output> {
    let tickers = analytics.known_tickers(tickers).await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    for (t, last) in &tickers {
        let as_of = date.unwrap_or(*last);
        let (day, last_close) = analytics
            .close_on_or_before(t, *last, as_of)
            .await?
            .ok_or_else(|| AppError::NoData {
                message: format!(
                    "no close for {t} on or before {as_of}; its prices start later (see `stratus tickers`)"
                ),
            })?;
        json.insert(t.clone(), json!(last_close));
        rows.push(cells![t.clone(), money(last_close), day.to_string()]);
    }
    Ok(Output::table(
        Value::Object(json),
        ["ticker", "close", "date"].map(String::from).to_vec(),
        rows,
    ))
}

async fn asset(analytics: &Analytics, tickers: &[String]) -> Result<Output> {
    let (tickers, _) = analytics.window(tickers, None, None).await?;
    let json: Map<String, Value> = tickers
        .iter()
        .map(|t| (t.clone(), json!("equity")))
        .collect();
    let rows = tickers
        .iter()
        .map(|t| cells![t.clone(), "equity"])
        .collect();
    Ok(Output::table(
        Value::Object(json),
        vec!["ticker".into(), "asset type".into()],
        rows,
    ))
}

async fn tickers(analytics: &Analytics) -> Result<Output> {
    let list = analytics.ticker_summaries().await?;
    let json: Vec<Value> = list
        .iter()
        .map(|t| json!({ "ticker": t.ticker, "first": t.first.to_string(), "last": t.last.to_string(), "prices": t.count }))
        .collect();
    let rows = list
        .iter()
        .map(|t| {
            cells![
                t.ticker.clone(),
                t.first.to_string(),
                t.last.to_string(),
                t.count.to_string(),
            ]
        })
        .collect();
    Ok(Output::table(
        Value::Array(json),
        ["ticker", "first", "last", "prices"]
            .map(String::from)
            .to_vec(),
        rows,
    ))
}

async fn import_csv(
    analytics: &Analytics,
    file: &std::path::Path,
    replace: bool,
) -> Result<Output> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| {
        AppError::Provider(stratus_providers::ProviderError::Unreadable {
            file: name.clone(),
            reason: e.to_string(),
        })
    })?;
    let outcome = analytics.import_csv(&name, &bytes, replace).await?;
    let mut out = Output::table(
        json!({ "file": name, "tickers": outcome.tickers, "rows": outcome.rows, "replaced": outcome.replaced }),
        vec![],
        vec![],
    )
    .note(format!(
        "imported {} prices for {} from {name}",
        outcome.rows,
        outcome.tickers.join(", ")
    ));
    if !outcome.replaced.is_empty() {
        out = out.note(format!(
            "replaced the stored history of {} and dropped its cached analytics",
            outcome.replaced.join(", ")
        ));
    }
    Ok(out)
}

async fn clear_cache(analytics: &Analytics, all: bool, yes: bool) -> Result<Output> {
    let store = analytics.store();
    if store.capabilities().shared && !yes {
        return Err(AppError::NoData {
            message: format!(
                "clear-cache empties the shared {} tables; repeat with --yes to confirm",
                store.backend()
            ),
        });
    }
    if all {
        analytics.store().clear_all().await?;
    } else {
        analytics.store().clear_analytics().await?;
    }
    let what = if all { "all" } else { "analytics" };
    let message = if all {
        "cleared prices, yields, profiles and correlations; the bundled data reloads on next use"
    } else {
        "cleared cached profiles and correlations"
    };
    Ok(Output::table(json!({ "cleared": what }), vec![], vec![]).note(message))
}

async fn portfolio_request(analytics: &Analytics, a: &PortfolioArgs) -> Result<PortfolioRequest> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    Ok(PortfolioRequest {
        tickers,
        window,
        method,
        convention: match a.returns {
            ReturnsArg::Log => ReturnConvention::Log,
            ReturnsArg::Simple => ReturnConvention::Simple,
        },
        min_weight: a.min_weight,
        max_weight: a.max_weight,
        max_assets: a.max_assets,
        risk_free: a.risk_free,
    })
}

fn allocation_rows(allocation: &Allocation) -> (Vec<String>, Vec<Vec<Cell>>) {
    let invested = allocation.holdings.iter().any(|h| h.shares.is_some());
    let mut header: Vec<String> = ["ticker", "weight", "annual return", "annual volatility"]
        .map(String::from)
        .to_vec();
    if invested {
        header.extend(["shares", "price"].map(String::from));
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
            }
            row
        })
        .collect();
    (header, rows)
}

async fn optimize(
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
            .invest(&mut allocation, request.window, amount)
            .await?;
    }
    let json = serde_json::to_value(&allocation).unwrap_or(Value::Null);
    let (header, rows) = allocation_rows(&allocation);
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
            "invested {} in whole shares, {} left in cash",
            money(total),
            money(cash)
        ));
    }
    Ok(out)
}

async fn frontier(analytics: &Analytics, a: &PortfolioArgs, steps: usize) -> Result<Output> {
    let request = portfolio_request(analytics, a).await?;
    let mut points = analytics.frontier(&request, steps).await?;
    if let Some(amount) = a.invest {
        for point in &mut points {
            analytics.invest(point, request.window, amount).await?;
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
    Ok(Output::table(json, header, rows)
        .note(window_note(analytics, request.window, Some(request.method)))
        .note(format!(
            "{steps} portfolios from minimum variance to maximum return; solver critical-line"
        )))
}

fn chart_error(e: stratus_charts::ChartError) -> AppError {
    AppError::Setup {
        message: e.to_string(),
    }
}

fn chart_output(json: Value, bytes: Vec<u8>, note: String) -> Output {
    let mut out = Output::table(json, vec![], vec![]).note(note);
    out.chart = Some(bytes);
    out
}

async fn plot_frontier(
    analytics: &Analytics,
    a: &PortfolioArgs,
    steps: usize,
    format: Format,
) -> Result<Output> {
    let request = portfolio_request(analytics, a).await?;
    let points = analytics.frontier(&request, steps).await?;
    let min_variance = analytics.optimize(&request, Goal::MinVariance).await?;
    let max_sharpe = analytics.optimize(&request, Goal::MaxSharpe).await?;
    let curve: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.portfolio_volatility * 100.0, p.portfolio_return * 100.0))
        .collect();
    let assets: Vec<(String, f64, f64)> = min_variance
        .holdings
        .iter()
        .map(|h| {
            (
                h.ticker.clone(),
                h.annual_volatility * 100.0,
                h.annual_return * 100.0,
            )
        })
        .collect();
    let marked = vec![
        (
            "minimum variance".to_string(),
            min_variance.portfolio_volatility * 100.0,
            min_variance.portfolio_return * 100.0,
        ),
        (
            format!("maximum Sharpe ({:.2})", max_sharpe.sharpe_ratio),
            max_sharpe.portfolio_volatility * 100.0,
            max_sharpe.portfolio_return * 100.0,
        ),
    ];
    let title = format!(
        "Efficient frontier, {} to {}",
        request.window.start, request.window.end
    );
    let bytes = stratus_charts::efficient_frontier(&title, &curve, &assets, &marked, format)
        .map_err(chart_error)?;
    Ok(chart_output(
        json!({ "points": points.len() }),
        bytes,
        window_note(analytics, request.window, Some(request.method)),
    ))
}

async fn plot_risk_profile(
    analytics: &Analytics,
    a: &TickersArgs,
    format: Format,
) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let mut assets = Vec::new();
    for t in &tickers {
        let p = analytics.profile(t, window, method).await?;
        assets.push((
            t.clone(),
            p.annual_volatility * 100.0,
            p.annual_return * 100.0,
        ));
    }
    let title = format!(
        "Risk profile ({method}), {} to {}",
        window.start, window.end
    );
    let bytes =
        stratus_charts::risk_return_scatter(&title, &assets, format).map_err(chart_error)?;
    Ok(chart_output(
        json!({ "tickers": tickers }),
        bytes,
        window_note(analytics, window, Some(method)),
    ))
}

async fn plot_correlations(
    analytics: &Analytics,
    first: &str,
    second: &str,
    w: &WindowArgs,
    format: Format,
) -> Result<Output> {
    let pair = [first.to_string(), second.to_string()];
    let (tickers, window) = analytics.window(&pair, w.start, w.end).await?;
    let series = analytics
        .correlation_series(&tickers[0], &tickers[1], window)
        .await?;
    let title = format!(
        "Correlation of {} and {} over rolling {}-day windows",
        tickers[0],
        tickers[1],
        analytics.config().window_returns
    );
    let bytes = stratus_charts::time_series(
        &title,
        "correlation",
        &[(format!("{}/{}", tickers[0], tickers[1]), series)],
        format,
    )
    .map_err(chart_error)?;
    Ok(chart_output(
        json!({ "tickers": tickers }),
        bytes,
        window_note(analytics, window, Some(Method::Moments)),
    ))
}

async fn plot_heat_map(analytics: &Analytics, a: &TickersArgs, format: Format) -> Result<Output> {
    need_at_least(&a.tickers, 2, "plot-correlation")?;
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let matrix = analytics
        .correlation_matrix(&tickers, window, method)
        .await?;
    let title = format!("Correlation ({method}), {} to {}", window.start, window.end);
    let bytes = stratus_charts::heat_map(&title, &tickers, &matrix, format).map_err(chart_error)?;
    Ok(chart_output(
        json!({ "tickers": tickers }),
        bytes,
        window_note(analytics, window, Some(method)),
    ))
}

async fn plot_moving_averages(
    analytics: &Analytics,
    a: &TickersArgs,
    format: Format,
) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let first = std::slice::from_ref(&a.tickers[0]);
    let (tickers, window) = analytics
        .window(first, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let averages = analytics
        .moving_averages(&tickers[0], window, method)
        .await?;
    let series: Vec<(String, Vec<(NaiveDate, f64)>)> = averages
        .periods
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let points = averages
                .rows
                .iter()
                .filter_map(|(d, v)| v[k].map(|x| (*d, x * 100.0)))
                .collect();
            (format!("{p}-day"), points)
        })
        .collect();
    let title = format!("Moving averages of the annualised return of {}", tickers[0]);
    let bytes = stratus_charts::time_series(&title, "annualised return (%)", &series, format)
        .map_err(chart_error)?;
    Ok(chart_output(
        json!({ "ticker": tickers[0] }),
        bytes,
        window_note(analytics, window, Some(method)),
    ))
}

async fn plot_yield_curve(
    analytics: &Analytics,
    date: Option<NaiveDate>,
    format: Format,
) -> Result<Output> {
    let date = match date {
        Some(d) => d,
        None => analytics.latest_rate_date().await?,
    };
    let (published, curve) = analytics.yield_curve(date, &Maturity::ALL).await?;
    let points: Vec<(String, f64, f64, bool)> = curve
        .iter()
        .map(|p| {
            (
                p.maturity.label().to_string(),
                p.maturity.years(),
                p.rate * 100.0,
                p.source == PointSource::Observed,
            )
        })
        .collect();
    let title = format!("US Treasury par yield curve, {published}");
    let bytes = stratus_charts::yield_curve(&title, &points, format).map_err(chart_error)?;
    Ok(chart_output(
        json!({ "date": published.to_string() }),
        bytes,
        format!("curve published {published}"),
    ))
}

async fn plot_returns(
    analytics: &Analytics,
    ticker: &str,
    w: &WindowArgs,
    qq: bool,
    format: Format,
) -> Result<Output> {
    let (tickers, window) = analytics
        .window(&[ticker.to_string()], w.start, w.end)
        .await?;
    let series = analytics.series(&tickers[0], window).await?;
    series.require(3)?;
    let returns = series.log_returns(analytics.calendar());
    let daily: Vec<f64> = returns
        .values
        .iter()
        .zip(&returns.periods)
        .map(|(l, p)| l / f64::from(*p) * 100.0)
        .collect();
    let mean = stratus_core::stats::mean(&daily);
    let sd = stratus_core::stats::variance(&daily, 1).sqrt();
    let bytes = if qq {
        let title = format!(
            "Daily log returns of {} against the normal, {} to {}",
            tickers[0], window.start, window.end
        );
        stratus_charts::qq_plot(
            &title,
            &stratus_core::stats::qq_points(&daily),
            (mean, sd),
            "daily log return (%)",
            format,
        )
    } else {
        let bins = ((daily.len() as f64).sqrt().round() as usize).clamp(10, 60);
        let title = format!(
            "Distribution of daily log returns of {}, {} to {}",
            tickers[0], window.start, window.end
        );
        stratus_charts::histogram(
            &title,
            &daily,
            bins,
            Some((mean, sd)),
            "daily log return (%)",
            format,
        )
    }
    .map_err(chart_error)?;
    Ok(chart_output(
        json!({ "ticker": tickers[0], "returns": daily.len() }),
        bytes,
        window_note(analytics, window, None),
    ))
}

fn live_method(analytics: &Analytics, method: Option<MethodArg>) -> Method {
    method.map_or(analytics.config().method, Method::from)
}

async fn dividends(analytics: &Analytics, tickers: &[String]) -> Result<Output> {
    let mut json = Map::new();
    let mut rows = Vec::new();
    for ticker in tickers {
        let payments = analytics.dividends(ticker).await?;
        let name = payments
            .first()
            .map_or_else(|| ticker.to_ascii_uppercase(), |d| d.ticker.clone());
        let map: Map<String, Value> = payments
            .iter()
            .map(|d| (d.date.to_string(), json!(d.amount)))
            .collect();
        for d in &payments {
            rows.push(cells![name.clone(), d.date.to_string(), money(d.amount)]);
        }
        if payments.is_empty() {
            rows.push(cells![name.clone(), "-", "no dividends"]);
        }
        json.insert(name, Value::Object(map));
    }
    Ok(Output::table(
        Value::Object(json),
        ["ticker", "payment date", "amount"]
            .map(String::from)
            .to_vec(),
        rows,
    )
    .note(format!(
        "source: {}",
        analytics.providers().dividends.name()
    )))
}

async fn ddm(
    analytics: &Analytics,
    tickers: &[String],
    discount: Option<f64>,
    method: Option<MethodArg>,
) -> Result<Output> {
    let method = live_method(analytics, method);
    let mut json = Map::new();
    let mut rows = Vec::new();
    for ticker in tickers {
        let model = analytics.dividend_model(ticker, discount, method).await?;
        let name = ticker.trim().to_ascii_uppercase();
        json.insert(
            name.clone(),
            json!({
                "discount_dividend": model.npv,
                "discount_rate": model.rate,
                "intercept": model.intercept,
                "slope_per_year": model.slope,
                "period_years": model.period_years,
                "next_payment": model.next_payment.to_string(),
                "payments": model.payments,
            }),
        );
        rows.push(cells![
            name,
            money(model.npv),
            pct(model.rate),
            format!("{:.4}/yr", model.slope),
            format!("{:.3} yr", model.period_years),
            model.next_payment.to_string(),
        ]);
    }
    let rate_note = match discount {
        Some(r) => format!("discount rate {} (given)", pct(r)),
        None => {
            format!("discount rate: CAPM cost of equity over the default window, method {method}")
        }
    };
    Ok(Output::table(
        Value::Object(json),
        [
            "ticker",
            "model value",
            "rate",
            "trend",
            "period",
            "next payment",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    )
    .note(rate_note)
    .note(format!(
        "as of {}; dividends from {}",
        analytics.today(),
        analytics.providers().dividends.name()
    )))
}

async fn watch(analytics: &Analytics, tickers: &[String]) -> Result<Output> {
    let list = analytics.watch(tickers).await?;
    Ok(watchlist_output(list))
}

fn watchlist(analytics: &Analytics) -> Result<Output> {
    Ok(watchlist_output(analytics.watchlist()?))
}

fn watchlist_output(list: Vec<String>) -> Output {
    let rows = list.iter().map(|t| cells![t.clone()]).collect();
    let empty = list.is_empty();
    let out = Output::table(json!(list), vec!["watchlist".into()], rows);
    if empty {
        out.note("the watchlist is empty; add tickers with `stratus watch TICKER…`")
    } else {
        out
    }
}

async fn screen(
    analytics: &Analytics,
    discount: Option<f64>,
    method: Option<MethodArg>,
) -> Result<Output> {
    let method = live_method(analytics, method);
    let (rows, skipped) = analytics.screen(discount, method).await?;
    let passing: Vec<&stratus_analytics::fundamentals::ScreenRow> =
        rows.iter().filter(|r| r.discount > 0.0).collect();
    let json = json!({
        "passing": passing.iter().map(|r| r.ticker.clone()).collect::<Vec<_>>(),
        "valued": rows,
        "skipped": skipped,
    });
    let table = rows
        .iter()
        .map(|r| {
            cells![
                r.ticker.clone(),
                money(r.model_value),
                money(r.price),
                money(r.discount),
                pct(r.rate),
                if r.discount > 0.0 { "yes" } else { "no" },
            ]
        })
        .collect();
    let mut out = Output::table(
        json,
        [
            "ticker",
            "model value",
            "last close",
            "discount",
            "rate",
            "passes",
        ]
        .map(String::from)
        .to_vec(),
        table,
    )
    .note(format!(
        "{} of {} valued watchlist tickers trade below their dividend-discount value",
        passing.len(),
        rows.len()
    ));
    for skip in &skipped {
        out = out.note(format!("{}: not valued: {}", skip.ticker, skip.reason));
    }
    Ok(out)
}

async fn stat(analytics: &Analytics, codes: &[String]) -> Result<Output> {
    let window = analytics.default_series_window();
    let series = analytics
        .economic_series(codes, window.start, window.end)
        .await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    for (code, observations) in series {
        let last = observations.last().ok_or_else(|| AppError::NoData {
            message: format!(
                "{code} has no observation from {} to {}; try `stratus stats {code} --start YYYY-MM-DD`",
                window.start, window.end
            ),
        })?;
        json.insert(code.clone(), json!(last.value));
        rows.push(cells![code, num(last.value), last.date.to_string()]);
    }
    Ok(Output::table(
        Value::Object(json),
        ["series", "latest", "date"].map(String::from).to_vec(),
        rows,
    )
    .note(format!("source: {}", analytics.providers().stats.name())))
}

async fn stats(analytics: &Analytics, codes: &[String], w: &WindowArgs) -> Result<Output> {
    let default = analytics.default_series_window();
    let (start, end) = (
        w.start.unwrap_or(default.start),
        w.end.unwrap_or(default.end),
    );
    let series = analytics.economic_series(codes, start, end).await?;
    let mut json = Map::new();
    let mut rows = Vec::new();
    for (code, observations) in series {
        let map: Map<String, Value> = observations
            .iter()
            .map(|o| (o.date.to_string(), json!(o.value)))
            .collect();
        for o in &observations {
            rows.push(cells![code.clone(), o.date.to_string(), num(o.value)]);
        }
        json.insert(code, Value::Object(map));
    }
    Ok(Output::table(
        Value::Object(json),
        ["series", "date", "value"].map(String::from).to_vec(),
        rows,
    )
    .note(format!(
        "{start} to {end}; source: {}",
        analytics.providers().stats.name()
    )))
}

async fn plot_dividends(
    analytics: &Analytics,
    ticker: &str,
    discount: Option<f64>,
    method: Option<MethodArg>,
    format: Format,
) -> Result<Output> {
    let method = live_method(analytics, method);
    let payments = analytics.dividends(ticker).await?;
    let model = analytics
        .model_of(ticker, &payments, discount, method)
        .await?;
    let name = ticker.trim().to_ascii_uppercase();
    let first = payments.first().map_or(model.next_payment, |d| d.date);
    let years = |d: NaiveDate| (d - first).num_days() as f64 / 365.0;
    let paid: Vec<(NaiveDate, f64)> = payments.iter().map(|d| (d.date, d.amount)).collect();
    // The trend over the history and the next eight modelled payments.
    let step = chrono::Duration::days((365.0 * model.period_years).floor().max(1.0) as i64);
    let mut trend: Vec<(NaiveDate, f64)> = vec![(first, model.amount_at(0.0))];
    let mut next = model.next_payment;
    for _ in 0..8 {
        trend.push((next, model.amount_at(years(next))));
        next += step;
    }
    let title = format!(
        "{name} dividends: model value ${:.2} at {}",
        model.npv,
        pct(model.rate)
    );
    let bytes = stratus_charts::time_series(
        &title,
        "dividend per share ($)",
        &[
            ("paid".to_string(), paid),
            ("fitted trend and next payments".to_string(), trend),
        ],
        format,
    )
    .map_err(chart_error)?;
    Ok(chart_output(
        json!({ "ticker": name, "discount_dividend": model.npv, "discount_rate": model.rate }),
        bytes,
        format!(
            "as of {}; dividends from {}",
            analytics.today(),
            analytics.providers().dividends.name()
        ),
    ))
}
