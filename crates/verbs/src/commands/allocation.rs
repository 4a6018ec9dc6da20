//! Allocation verbs that need only a covariance: risk parity, HRP, maximum diversification,
//! inverse volatility and equal weight. They answer with the same allocation object as
//! `optimize-portfolio`, so clients read every method's result the same way.

use super::*;
use stratus_core::cluster::Linkage;

/// Which method, with its options as the command line gave them.
pub(super) enum Allocate<'a> {
    RiskParity(Option<&'a [(String, f64)]>),
    Hrp(Linkage),
    Herc(Linkage),
    MaxDiversification,
    InverseVolatility,
    EqualWeight,
}

pub(super) async fn allocate(
    analytics: &Analytics,
    a: &AllocationArgs,
    method: Allocate<'_>,
) -> Result<Output> {
    let (tickers, window) = analytics
        .window(&a.tickers, a.analysis.window.start, a.analysis.window.end)
        .await?;
    let request = allocation_request(
        tickers,
        window,
        method_of(analytics, &a.analysis),
        convention(a.returns),
        a,
    );
    let method = match method {
        Allocate::RiskParity(None) => AllocationMethod::RiskParity(None),
        Allocate::RiskParity(Some(given)) => {
            AllocationMethod::RiskParity(Some(in_ticker_order("budgets", &request.tickers, given)?))
        }
        Allocate::Hrp(linkage) => AllocationMethod::Hrp(linkage),
        Allocate::Herc(linkage) => AllocationMethod::Herc(linkage),
        Allocate::MaxDiversification => AllocationMethod::MaxDiversification,
        Allocate::InverseVolatility => AllocationMethod::InverseVolatility,
        Allocate::EqualWeight => AllocationMethod::EqualWeight,
    };
    let mut allocation = analytics.allocate(&request, &method).await?;
    if let Some(amount) = a.invest {
        analytics
            .invest(&mut allocation, request.window, amount, a.allocation.into())
            .await?;
    }
    Ok(allocation_output(analytics, &request, &allocation))
}

/// The request of an allocation method: no bounds beyond long only, no expected-returns model.
pub(super) fn allocation_request(
    tickers: Vec<String>,
    window: Window,
    method: Method,
    convention: ReturnConvention,
    a: &AllocationArgs,
) -> PortfolioRequest {
    PortfolioRequest {
        tickers,
        window,
        method,
        convention,
        min_weight: None,
        max_weight: None,
        max_assets: None,
        risk_free: a.risk_free,
        risk_model: a.risk.model(),
        mu: stratus_analytics::ExpectedReturns::Mean,
        constraints: None,
    }
}

/// Per-ticker values (`--budgets`, `--weights`) in ticker order; every ticker needs exactly one.
pub(super) fn in_ticker_order(
    field: &'static str,
    tickers: &[String],
    given: &[(String, f64)],
) -> Result<Vec<f64>> {
    let unknown: Vec<&str> = given
        .iter()
        .filter(|(t, _)| !tickers.contains(t))
        .map(|(t, _)| t.as_str())
        .collect();
    let missing: Vec<&str> = tickers
        .iter()
        .filter(|t| !given.iter().any(|(g, _)| g == *t))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() || !missing.is_empty() {
        return Err(AppError::InvalidInput {
            field,
            message: format!(
                "--{field} must name every ticker once{}{}",
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing {}", missing.join(", "))
                },
                if unknown.is_empty() {
                    String::new()
                } else {
                    format!("; not among the tickers: {}", unknown.join(", "))
                }
            ),
        });
    }
    Ok(tickers
        .iter()
        .map(|t| given.iter().find(|(g, _)| g == t).map_or(0.0, |(_, b)| *b))
        .collect())
}
