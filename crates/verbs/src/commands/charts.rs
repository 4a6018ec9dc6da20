//! Chart verbs: each renders a figure from the same numbers its table verb shows.

use super::*;

pub(super) fn chart_error(e: stratus_charts::ChartError) -> AppError {
    AppError::Setup {
        message: e.to_string(),
    }
}

pub(super) fn chart_output(json: Value, bytes: Vec<u8>, note: String) -> Output {
    let mut out = Output::table(json, vec![], vec![]).note(note);
    out.chart = Some(bytes);
    out
}

pub(super) async fn plot_frontier(
    analytics: &Analytics,
    a: &PortfolioArgs,
    steps: usize,
    format: Format,
) -> Result<Output> {
    let request = portfolio_request(analytics, a).await?;
    let points = analytics.frontier(&request, steps).await?;
    let min_variance = analytics.optimize(&request, Goal::MinVariance).await?;
    // No maximum-Sharpe marker when nothing earns the risk-free rate (the frontier still draws).
    let max_sharpe = match analytics.optimize(&request, Goal::MaxSharpe).await {
        Ok(p) => Some(p),
        Err(AppError::Constrained(
            stratus_core::constrained::ConstrainedError::NothingBeatsRiskFree { .. },
        )) => None,
        Err(e) => return Err(e),
    };
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
    let mut marked = vec![(
        "minimum variance".to_string(),
        min_variance.portfolio_volatility * 100.0,
        min_variance.portfolio_return * 100.0,
    )];
    if let Some(max_sharpe) = &max_sharpe {
        marked.push((
            format!("maximum Sharpe ({:.2})", max_sharpe.sharpe_ratio),
            max_sharpe.portfolio_volatility * 100.0,
            max_sharpe.portfolio_return * 100.0,
        ));
    }
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

pub(super) async fn plot_risk_profile(
    analytics: &Analytics,
    a: &TickersArgs,
    format: Format,
) -> Result<Output> {
    let method = method_of(analytics, &a.analysis);
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let profiles = analytics.profiles(&tickers, window, method).await?;
    let assets: Vec<(String, f64, f64)> = tickers
        .iter()
        .zip(profiles)
        .map(|(t, p)| {
            (
                t.clone(),
                p.annual_volatility * 100.0,
                p.annual_return * 100.0,
            )
        })
        .collect();
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

pub(super) async fn plot_correlations(
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

pub(super) async fn plot_heat_map(
    analytics: &Analytics,
    a: &TickersArgs,
    format: Format,
) -> Result<Output> {
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

pub(super) async fn plot_moving_averages(
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

pub(super) async fn plot_yield_curve(
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

pub(super) async fn plot_returns(
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
