//! A backtest drawn: the `plot-backtest` figure and the self-contained HTML tear sheet of
//! `backtest --report FILE.html` — equity curves, drawdowns, rolling volatility and Sharpe ratio,
//! each strategy's weights over time, turnover, and the risk table. The report inlines its SVG
//! charts and styles (no script, no font or stylesheet fetched), so it opens offline and can be
//! mailed as one file.

use super::*;
use stratus_analytics::backtest::{Backtest, BacktestRequest, Run};
use stratus_charts::{BacktestFigure, Dated};
use stratus_core::measures::{RiskReport, drawdowns};
use stratus_core::stats;

/// Sessions of the rolling volatility and Sharpe ratio.
const ROLLING: usize = 126;

/// The series every picture of a backtest draws from.
struct Panels {
    /// Sessions of the rolling measures (126, or fewer for a short backtest).
    window: usize,
    equity: Vec<(String, Dated)>,
    drawdown: Vec<(String, Dated)>,
    volatility: Vec<(String, Dated)>,
    sharpe: Vec<(String, Dated)>,
}

fn runs(result: &Backtest) -> impl Iterator<Item = &Run> {
    result.strategies.iter().chain([&result.benchmark])
}

fn panels(result: &Backtest) -> Panels {
    let dates = &result.dates;
    let after_first = &dates[1..];
    let series = |f: &dyn Fn(&Run) -> Dated| -> Vec<(String, Dated)> {
        runs(result).map(|r| (r.name.clone(), f(r))).collect()
    };
    let window = ROLLING.min(after_first.len()).max(2);
    let rolling = |run: &Run, stat: &dyn Fn(&[f64]) -> f64| -> Dated {
        run.returns
            .windows(window)
            .enumerate()
            .map(|(k, w)| (after_first[k + window - 1], stat(w)))
            .collect()
    };
    let risk_free = result.risk_free;
    Panels {
        window,
        equity: series(&|r| {
            dates
                .iter()
                .copied()
                .zip(r.equity.iter().copied())
                .collect()
        }),
        drawdown: series(&|r| {
            after_first
                .iter()
                .copied()
                .zip(drawdowns(&r.returns).into_iter().map(|d| 100.0 * d))
                .collect()
        }),
        volatility: series(&|r| rolling(r, &|w| 100.0 * (252.0 * stats::variance(w, 1)).sqrt())),
        sharpe: series(&|r| {
            rolling(r, &|w| {
                let sd = (252.0 * stats::variance(w, 1)).sqrt();
                if sd > 0.0 {
                    (252.0 * stats::mean(w) - risk_free) / sd
                } else {
                    0.0
                }
            })
        }),
    }
}

/// A strategy's target weights as steps: each rebalance's weights held until the next.
fn weight_steps(result: &Backtest, run: &Run) -> Vec<(NaiveDate, Vec<f64>)> {
    let last = result.dates.last().copied().unwrap_or_default();
    let mut points = Vec::with_capacity(2 * run.rebalances.len());
    for (i, r) in run.rebalances.iter().enumerate() {
        points.push((r.date, r.weights.clone()));
        let until = run
            .rebalances
            .get(i + 1)
            .map_or(last, |next| next.date.pred_opt().unwrap_or(next.date));
        if until > r.date {
            points.push((until, r.weights.clone()));
        }
    }
    points
}

fn title(result: &Backtest) -> String {
    format!(
        "Backtest of {} tickers, {} to {}",
        result.tickers.len(),
        result.dates.first().copied().unwrap_or_default(),
        result.dates.last().copied().unwrap_or_default()
    )
}

pub(super) async fn plot_backtest(
    analytics: &Analytics,
    a: &crate::args::BacktestArgs,
    format: Format,
) -> Result<Output> {
    let request = backtest_request(analytics, a).await?;
    let result = analytics.backtest(&request).await?;
    let p = panels(&result);
    let first = &result.strategies[0];
    let steps = weight_steps(&result, first);
    let bytes = stratus_charts::backtest_figure(
        &BacktestFigure {
            title: &title(&result),
            equity: &p.equity,
            drawdown: &p.drawdown,
            rolling: p.window,
            volatility: &p.volatility,
            sharpe: &p.sharpe,
            weights: Some((&first.name, &result.tickers, &steps)),
        },
        format,
    )
    .map_err(chart_error)?;
    let json = json!({
        "final_equity": runs(&result)
            .map(|r| (r.name.clone(), json!(r.equity.last())))
            .collect::<Map<String, Value>>(),
    });
    let summary = backtest_output(&request, &result);
    Ok(chart_output(json, bytes, summary.notes.join("\n")))
}

/// `backtest` with its HTML tear sheet (the command line's `--report FILE.html`).
pub async fn backtest_with_report(
    analytics: &Analytics,
    a: &crate::args::BacktestArgs,
) -> Result<(Output, String)> {
    let request = backtest_request(analytics, a).await?;
    let result = analytics.backtest(&request).await?;
    let html = tear_sheet(&request, &result)?;
    Ok((backtest_output(&request, &result), html))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn svg(bytes: Vec<u8>) -> String {
    let text = String::from_utf8(bytes).unwrap_or_default();
    // plotters writes an XML declaration-free <svg>; make it scale with the page.
    text.replacen(
        "<svg ",
        "<svg class=\"chart\" preserveAspectRatio=\"xMidYMid meet\" ",
        1,
    )
}

type Measure = (&'static str, fn(&RiskReport) -> String);

const MEASURES: [Measure; 17] = [
    ("annual return", |m| percent(m.annual_return)),
    ("annual volatility", |m| percent(m.annual_volatility)),
    ("Sharpe ratio", |m| format!("{:.3}", m.sharpe_ratio)),
    ("Sortino ratio", |m| optional(m.sortino_ratio)),
    ("Calmar ratio", |m| optional(m.calmar_ratio)),
    ("Omega ratio", |m| optional(m.omega_ratio)),
    ("max drawdown", |m| percent(m.max_drawdown)),
    ("average drawdown", |m| percent(m.average_drawdown)),
    ("CDaR", |m| percent(m.cdar)),
    ("Ulcer index", |m| percent(m.ulcer_index)),
    ("historical VaR (1 day)", |m| percent(m.historical_var)),
    ("historical CVaR (1 day)", |m| percent(m.historical_cvar)),
    ("Gaussian VaR (1 day)", |m| percent(m.gaussian_var)),
    ("EVaR (1 day)", |m| percent(m.evar)),
    ("skew", |m| format!("{:.3}", m.skew)),
    ("kurtosis", |m| format!("{:.3}", m.kurtosis)),
    ("tail ratio", |m| optional(m.tail_ratio)),
];

fn percent(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

fn optional(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// The self-contained HTML tear sheet.
pub(crate) fn tear_sheet(request: &BacktestRequest, result: &Backtest) -> Result<String> {
    let p = panels(result);
    let chart = |title: &str, y: &str, series: &[(String, Dated)]| -> Result<String> {
        Ok(svg(stratus_charts::lines_chart(
            title,
            y,
            series,
            Format::Svg,
        )
        .map_err(chart_error)?))
    };
    let mut charts = vec![
        chart("Growth of 1", "equity", &p.equity)?,
        chart(
            "Drawdown from the running peak",
            "drawdown (%)",
            &p.drawdown,
        )?,
        chart(
            &format!("Rolling volatility ({} sessions)", p.window),
            "annualised volatility (%)",
            &p.volatility,
        )?,
        chart(
            &format!("Rolling Sharpe ratio ({} sessions)", p.window),
            "Sharpe ratio",
            &p.sharpe,
        )?,
    ];
    let turnover: Vec<(String, Dated)> = result
        .strategies
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.rebalances
                    .iter()
                    .skip(1)
                    .map(|b| (b.date, b.turnover))
                    .collect(),
            )
        })
        .filter(|(_, s): &(String, Dated)| !s.is_empty())
        .collect();
    if !turnover.is_empty() {
        charts.push(chart("Turnover at each rebalance", "Σ|Δw|", &turnover)?);
    }
    for run in &result.strategies {
        let steps = weight_steps(result, run);
        charts.push(svg(stratus_charts::weights_chart(
            &format!("Weights of {}", run.name),
            &result.tickers,
            &steps,
            Format::Svg,
        )
        .map_err(chart_error)?));
    }
    let mut table = String::from("<table><thead><tr><th>measure</th>");
    for run in runs(result) {
        table.push_str(&format!("<th>{}</th>", escape(&run.name)));
    }
    table.push_str("</tr></thead><tbody>");
    let mut row = |name: &str, cell: &dyn Fn(&Run) -> String| {
        table.push_str(&format!("<tr><th>{}</th>", escape(name)));
        for run in runs(result) {
            table.push_str(&format!("<td>{}</td>", escape(&cell(run))));
        }
        table.push_str("</tr>");
    };
    row("total return", &|r| {
        percent(r.equity.last().copied().unwrap_or(1.0) - 1.0)
    });
    for (name, measure) in MEASURES {
        row(name, &|r| measure(&r.risk_report));
    }
    let held = |r: &Run, text: String| {
        if std::ptr::eq(r, &result.benchmark) {
            "held".to_string()
        } else {
            text
        }
    };
    row("rebalances", &|r| held(r, r.rebalances.len().to_string()));
    row("total turnover", &|r| {
        held(r, format!("{:.3}", r.total_turnover()))
    });
    row("costs paid", &|r| held(r, percent(r.total_cost())));
    table.push_str("</tbody></table>");
    let config = format!(
        "{} tickers ({}); {} to {} ({} sessions); rebalanced {}; estimates from the {} lookback ending the session before each rebalance; costs {} bp of the value traded{}; benchmark {} held; risk-free {} for the ratios; tail probability {}.",
        result.tickers.len(),
        escape(&result.tickers.join(", ")),
        result.dates.first().copied().unwrap_or_default(),
        result.dates.last().copied().unwrap_or_default(),
        result.dates.len(),
        escape(&request.schedule.name()),
        escape(&request.lookback.name()),
        request.cost_bps,
        request
            .turnover
            .map(|t| format!("; turnover at most {t} a rebalance"))
            .unwrap_or_default(),
        escape(&result.benchmark.name),
        percent(result.risk_free),
        request.prob,
    );
    let figures: String = charts
        .into_iter()
        .map(|c| format!("<figure>{c}</figure>\n"))
        .collect();
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.5rem; }}
p.config {{ color: #444; }}
table {{ border-collapse: collapse; margin: 1rem 0 2rem; font-variant-numeric: tabular-nums; }}
th, td {{ padding: .3rem .7rem; border-bottom: 1px solid #ddd; text-align: right; }}
thead th {{ border-bottom: 2px solid #444; }}
tbody th, thead th:first-child {{ text-align: left; font-weight: normal; }}
figure {{ margin: 0 0 1.5rem; }}
svg.chart {{ width: 100%; height: auto; }}
footer {{ color: #777; font-size: .85rem; margin-top: 2rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="config">{config}</p>
<h2>Risk and performance</h2>
{table}
<h2>Charts</h2>
{figures}<footer>Stratus {version}: daily simple returns; equity starts at 1 and pays the first allocation's cost; weights drift with prices between rebalances; drawdowns are on the compounded path.</footer>
</body>
</html>
"#,
        title = escape(&title(result)),
        version = env!("CARGO_PKG_VERSION"),
    ))
}
