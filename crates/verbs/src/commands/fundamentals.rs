//! Live-data verbs: dividends, the dividend discount model, the watchlist and screen, FRED statistics.

use super::*;

pub(super) fn live_method(analytics: &Analytics, method: Option<MethodArg>) -> Method {
    method.map_or(analytics.config().method, Method::from)
}

pub(super) async fn dividends(analytics: &Analytics, tickers: &[String]) -> Result<Output> {
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

pub(super) async fn ddm(
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

pub(super) async fn watch(analytics: &Analytics, tickers: &[String]) -> Result<Output> {
    let list = analytics.watch(tickers).await?;
    Ok(watchlist_output(list))
}

pub(super) fn watchlist(analytics: &Analytics) -> Result<Output> {
    Ok(watchlist_output(analytics.watchlist()?))
}

pub(super) fn watchlist_output(list: Vec<String>) -> Output {
    let rows = list.iter().map(|t| cells![t.clone()]).collect();
    let empty = list.is_empty();
    let out = Output::table(json!(list), vec!["watchlist".into()], rows);
    if empty {
        out.note("the watchlist is empty; add tickers with `stratus watch TICKER…`")
    } else {
        out
    }
}

pub(super) async fn screen(
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

pub(super) async fn stat(analytics: &Analytics, codes: &[String]) -> Result<Output> {
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

pub(super) async fn stats(
    analytics: &Analytics,
    codes: &[String],
    w: &WindowArgs,
) -> Result<Output> {
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

pub(super) async fn plot_dividends(
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
