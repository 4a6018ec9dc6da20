//! Risk reports and their charts: measures per asset and per portfolio, drawdown paths, and each
//! asset's share of the portfolio's risk.

use super::*;
use stratus_analytics::measures::{ReportRequest, RiskReports};

async fn reports(
    analytics: &Analytics,
    a: &ReportArgs,
    default_equal: bool,
) -> Result<RiskReports> {
    let (tickers, window) = analytics
        .window(&a.tickers, a.window.start, a.window.end)
        .await?;
    let weights = match &a.weights {
        Some(given) => Some(in_ticker_order("weights", &tickers, &given.0)?),
        None if default_equal => Some(vec![1.0 / tickers.len() as f64; tickers.len()]),
        None => None,
    };
    analytics
        .risk_reports(&ReportRequest {
            tickers,
            window,
            weights,
            risk_free: a.risk_free,
            prob: a.prob,
        })
        .await
}

fn report_note(analytics: &Analytics, r: &RiskReports) -> String {
    let window = Window {
        start: r.dates.first().copied().unwrap_or_default(),
        end: r.dates.last().copied().unwrap_or_default(),
    };
    format!(
        "{}; daily simple returns on the dates all share, drawdowns of the compounded path; risk-free {}",
        window_note(analytics, window, None),
        pct(r.risk_free)
    )
}

pub(super) async fn risk_report(analytics: &Analytics, a: &ReportArgs) -> Result<Output> {
    let r = reports(analytics, a, false).await?;
    let mut json = Map::new();
    for (ticker, report) in r.tickers.iter().zip(&r.assets) {
        json.insert(
            ticker.clone(),
            serde_json::to_value(report).unwrap_or(Value::Null),
        );
    }
    let mut names: Vec<String> = r.tickers.clone();
    let mut columns: Vec<&stratus_core::measures::RiskReport> = r.assets.iter().collect();
    if let Some((portfolio, _)) = &r.portfolio {
        json.insert(
            "portfolio".into(),
            serde_json::to_value(portfolio).unwrap_or(Value::Null),
        );
        names.push("portfolio".into());
        columns.push(&portfolio.measures);
    }
    // One row per measure, one column per ticker: reports are read down a column.
    type Measure = fn(&stratus_core::measures::RiskReport) -> Cell;
    fn optional(v: Option<f64>) -> Cell {
        v.map_or(Cell::from("-"), num)
    }
    let rows_of: [(&str, Measure); 19] = [
        ("annual return", |m| pct(m.annual_return)),
        ("annual volatility", |m| pct(m.annual_volatility)),
        ("Sharpe ratio", |m| num(m.sharpe_ratio)),
        ("Sortino ratio", |m| optional(m.sortino_ratio)),
        ("Calmar ratio", |m| optional(m.calmar_ratio)),
        ("Omega ratio", |m| optional(m.omega_ratio)),
        ("max drawdown", |m| pct(m.max_drawdown)),
        ("average drawdown", |m| pct(m.average_drawdown)),
        ("CDaR", |m| pct(m.cdar)),
        ("EDaR", |m| pct(m.edar)),
        ("Ulcer index", |m| pct(m.ulcer_index)),
        ("historical VaR (1 day)", |m| pct(m.historical_var)),
        ("historical CVaR (1 day)", |m| pct(m.historical_cvar)),
        ("Gaussian VaR (1 day)", |m| pct(m.gaussian_var)),
        ("Gaussian CVaR (1 day)", |m| pct(m.gaussian_cvar)),
        ("EVaR (1 day)", |m| pct(m.evar)),
        ("skew", |m| num(m.skew)),
        ("kurtosis", |m| num(m.kurtosis)),
        ("tail ratio", |m| optional(m.tail_ratio)),
    ];
    let rows = rows_of
        .iter()
        .map(|(label, cell)| {
            std::iter::once(Cell::from(label.to_string()))
                .chain(columns.iter().map(|m| cell(m)))
                .collect()
        })
        .collect();
    let header = std::iter::once("measure".to_string())
        .chain(names.iter().cloned())
        .collect();
    let mut out = Output::table(Value::Object(json), header, rows)
        .note(report_note(analytics, &r))
        .note(format!("tail probability {}", a.prob));
    if let Some((portfolio, _)) = &r.portfolio {
        let shares: Vec<String> = r
            .tickers
            .iter()
            .zip(&portfolio.volatility_contribution)
            .zip(&portfolio.cvar_contribution)
            .map(|((t, v), c)| format!("{t} {} / {}", pct(*v), pct(*c)))
            .collect();
        out = out.note(format!("share of volatility / CVaR: {}", shares.join(", ")));
    }
    Ok(out)
}

pub(super) async fn plot_drawdown(
    analytics: &Analytics,
    a: &ReportArgs,
    format: Format,
) -> Result<Output> {
    let r = reports(analytics, a, false).await?;
    let dated = |path: &[f64]| -> Vec<(NaiveDate, f64)> {
        r.dates
            .iter()
            .zip(path)
            .map(|(d, v)| (*d, v * 100.0))
            .collect()
    };
    let mut series: Vec<(String, Vec<(NaiveDate, f64)>)> = r
        .tickers
        .iter()
        .zip(&r.asset_drawdowns)
        .map(|(t, dd)| (t.clone(), dated(dd)))
        .collect();
    if let Some((portfolio, path)) = &r.portfolio {
        series.push((
            format!("portfolio (max {})", pct(portfolio.measures.max_drawdown)),
            dated(path),
        ));
    }
    let title = format!(
        "Drawdown from the running peak, {} to {}",
        r.dates.first().copied().unwrap_or_default(),
        r.dates.last().copied().unwrap_or_default()
    );
    let bytes = stratus_charts::time_series(&title, "drawdown (%)", &series, format)
        .map_err(chart_error)?;
    let json = json!({
        "max_drawdown": r.tickers.iter().zip(&r.assets)
            .map(|(t, m)| (t.clone(), json!(m.max_drawdown)))
            .collect::<Map<String, Value>>()
    });
    Ok(chart_output(json, bytes, report_note(analytics, &r)))
}

pub(super) async fn plot_risk_contribution(
    analytics: &Analytics,
    a: &ReportArgs,
    format: Format,
) -> Result<Output> {
    need_at_least(&a.tickers, 2, "plot-risk-contribution")?;
    let r = reports(analytics, a, true).await?;
    let Some((portfolio, _)) = &r.portfolio else {
        return Err(AppError::Setup {
            message: "a risk-contribution chart needs a portfolio".into(),
        });
    };
    let percent = |v: &[f64]| v.iter().map(|x| x * 100.0).collect::<Vec<f64>>();
    let series = vec![
        ("weight".to_string(), percent(&portfolio.weights)),
        (
            "share of volatility".to_string(),
            percent(&portfolio.volatility_contribution),
        ),
        (
            format!("share of CVaR ({})", a.prob),
            percent(&portfolio.cvar_contribution),
        ),
    ];
    let title = format!(
        "Risk contributions, {} to {}",
        r.dates.first().copied().unwrap_or_default(),
        r.dates.last().copied().unwrap_or_default()
    );
    let bytes = stratus_charts::grouped_bars(&title, &r.tickers, &series, "% of total", format)
        .map_err(chart_error)?;
    let json = serde_json::to_value(portfolio).unwrap_or(Value::Null);
    Ok(chart_output(json, bytes, report_note(analytics, &r)))
}
