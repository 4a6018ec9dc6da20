//! Market-data verbs: yield curve, interest, risk-free rate, prices, closes, tickers — and the store-writing commands of the command line (import, clear).

use super::*;

pub(super) async fn yield_curve(analytics: &Analytics, date: Option<NaiveDate>) -> Result<Output> {
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

pub(super) async fn interest(
    analytics: &Analytics,
    maturities: &[String],
    w: &WindowArgs,
) -> Result<Output> {
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

pub(super) async fn risk_free(analytics: &Analytics, date: Option<NaiveDate>) -> Result<Output> {
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

pub(super) async fn prices(
    analytics: &Analytics,
    tickers: &[String],
    w: &WindowArgs,
) -> Result<Output> {
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

pub(super) async fn close(
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

pub(super) async fn asset(analytics: &Analytics, tickers: &[String]) -> Result<Output> {
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

pub(super) async fn tickers(analytics: &Analytics) -> Result<Output> {
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

pub(super) async fn import_csv(
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

pub(super) async fn clear_cache(analytics: &Analytics, all: bool, yes: bool) -> Result<Output> {
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
