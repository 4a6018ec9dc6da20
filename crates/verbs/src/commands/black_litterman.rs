//! The `black-litterman` verb and the views every optimiser takes with `--mu bl:VIEWS`.

use super::*;
use crate::args::{BlackLittermanArgs, Views};
use stratus_analytics::{BlackLittermanSpec, ExpectedReturns};
use stratus_core::black_litterman::View;

/// Views as coefficient vectors in ticker order; a ticker a view names must be among them.
pub(super) fn views_in_order(tickers: &[String], views: &Views) -> Result<Vec<View>> {
    views
        .0
        .iter()
        .map(|v| {
            let mut picks = vec![0.0; tickers.len()];
            for (ticker, coefficient) in &v.terms {
                let Some(i) = tickers.iter().position(|t| t == ticker) else {
                    return Err(AppError::InvalidInput {
                        field: "views",
                        message: format!(
                            "a view names {ticker}, which is not among the tickers ({}); add it or change the view",
                            tickers.join(", ")
                        ),
                    });
                };
                picks[i] = *coefficient;
            }
            Ok(View {
                picks,
                target: v.target,
                confidence: v.confidence.unwrap_or(0.5),
            })
        })
        .collect()
}

pub(super) async fn black_litterman(
    analytics: &Analytics,
    a: &BlackLittermanArgs,
) -> Result<Output> {
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let spec = BlackLittermanSpec {
        views: views_in_order(&tickers, &a.views)?,
        market_caps: match &a.market_caps {
            Some(caps) => Some(in_ticker_order("market_caps", &tickers, &caps.0)?),
            None => None,
        },
        tau: a.tau,
        delta: a.delta,
    };
    let request = PortfolioRequest {
        tickers,
        window,
        method: method_of(analytics, &a.analysis),
        convention: convention(a.returns),
        min_weight: None,
        max_weight: None,
        max_assets: None,
        risk_free: a.risk_free,
        risk_model: a.risk.model(),
        mu: ExpectedReturns::Mean,
        constraints: None,
    };
    let (problem, report) = analytics.problem(&request).await?;
    let (post, delta) = analytics
        .black_litterman(&request, &problem.covariance, &spec)
        .await?;
    let n = request.tickers.len();
    let covariance: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| post.covariance[(i, j)]).collect())
        .collect();
    let json = json!({
        "tickers": request.tickers,
        "prior_returns": post.prior,
        "posterior_returns": post.returns,
        "posterior_covariance": covariance,
        "view_variances": post.view_variances,
        "delta": delta,
        "tau": a.tau,
    });
    let rows = request
        .tickers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            cells![
                t.clone(),
                pct(problem.mean[i]),
                pct(post.prior[i]),
                pct(post.returns[i]),
                pct(post.covariance[(i, i)].sqrt()),
            ]
        })
        .collect();
    let header = [
        "ticker",
        "historical return",
        "prior (market-implied)",
        "posterior",
        "posterior volatility",
    ]
    .map(String::from)
    .to_vec();
    let mut out = Output::table(json, header, rows)
        .note(window_note(analytics, request.window, Some(request.method)))
        .note(format!(
            "δ {delta:.4}, τ {}; prior from {}; {} view{}",
            a.tau,
            if spec.market_caps.is_some() {
                "market capitalisations"
            } else {
                "equal weights"
            },
            spec.views.len(),
            if spec.views.len() == 1 { "" } else { "s" }
        ));
    if report.is_notable() {
        out = out.note(report.note());
    }
    Ok(out)
}
