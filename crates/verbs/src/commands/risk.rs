//! Risk verbs: profiles, correlations, covariance, Sharpe/CAPM, value at risk, moving averages.

use super::*;

pub(super) async fn risk_profile(analytics: &Analytics, a: &TickersArgs) -> Result<Output> {
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

pub(super) fn matrix_output(
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

pub(super) async fn correlation(analytics: &Analytics, a: &MatrixArgs) -> Result<Output> {
    need_at_least(&a.tickers, 2, "correlation")?;
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let convention = convention(a.returns);
    let model = a.risk.model();
    // scrilla's path (each pair by the chosen estimator, through the cache) stays the default.
    let (matrix, report) = if convention == ReturnConvention::Log && model == RiskModel::Sample {
        let rows = analytics
            .correlation_matrix(&tickers, window, method)
            .await?;
        (rows, None)
    } else {
        let (m, report) = analytics
            .estimated_correlation(&tickers, window, method, convention, model)
            .await?;
        (rows_of(&m), Some(report))
    };
    let (json, header, rows) = matrix_output(&tickers, &matrix, "correlation_matrix");
    let mut out =
        Output::table(json, header, rows).note(window_note(analytics, window, Some(method)));
    if let Some(report) = report {
        out = out.note(format!(
            "{} returns; {}",
            returns_name(convention),
            report.note()
        ));
    }
    Ok(out)
}

fn rows_of(m: &faer::Mat<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| (0..m.ncols()).map(|j| m[(i, j)]).collect())
        .collect()
}

fn returns_name(convention: ReturnConvention) -> &'static str {
    match convention {
        ReturnConvention::Log => "log",
        ReturnConvention::Simple => "simple",
    }
}

pub(super) async fn covariance(analytics: &Analytics, a: &MatrixArgs) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let convention = convention(a.returns);
    let (matrix, report) = analytics
        .estimated_covariance(&tickers, window, method, convention, a.risk.model())
        .await?;
    let (mut json, header, rows) = matrix_output(&tickers, &rows_of(&matrix), "covariance_matrix");
    if report.is_notable() {
        json["estimator"] = serde_json::to_value(&report).unwrap_or(Value::Null);
    }
    Ok(Output::table(json, header, rows)
        .note(window_note(analytics, window, Some(method)))
        .note(format!(
            "annualised covariance of {} returns; {}",
            returns_name(convention),
            report.note()
        )))
}

pub(super) async fn correlations(
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

pub(super) enum Metric {
    Sharpe,
    Beta,
    EquityCost,
}

pub(super) async fn per_ticker_metric(
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

pub(super) async fn value_at_risk(
    analytics: &Analytics,
    a: &VarArgs,
    conditional: bool,
) -> Result<Output> {
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
        let tail = if a.historical {
            analytics
                .historical_var(ticker, window, a.prob, a.expiry)
                .await?
        } else {
            analytics
                .gbm_var(ticker, window, method, a.prob, a.expiry)
                .await?
        };
        let value = if conditional { tail.cvar } else { tail.var };
        let spot = tail.spot;
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

pub(super) async fn mov_averages(analytics: &Analytics, a: &TickersArgs) -> Result<Output> {
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
