//! Settings → providers: which live source answers what, built from the layered settings.

use std::sync::Arc;

use chrono::NaiveDate;
use stratus_analytics::Providers;
use stratus_providers::alphavantage::AlphaVantage;
use stratus_providers::csv_url::CsvUrl;
use stratus_providers::fred::Fred;
use stratus_providers::treasury::Treasury;
use stratus_providers::{
    Dividend, History, HttpPolicy, Observation, PricePoint, Provider, ProviderError, YieldPoint,
};

use crate::settings::{LiveSettings, ProviderChoice};

/// The set the settings select. Keys are checked when a call needs them, not here.
pub fn providers(live: &LiveSettings) -> Result<Providers, ProviderError> {
    if live.provider == ProviderChoice::Bundled {
        return Ok(Providers::bundled());
    }
    let alpha: Arc<dyn Provider> = Arc::new(alphavantage(live, None)?);
    let prices: Arc<dyn Provider> = match (&live.provider, &live.csv_url) {
        (ProviderChoice::Csv, Some(url)) => Arc::new(csv_url(live, url)?),
        _ => alpha.clone(),
    };
    Ok(Providers {
        prices,
        dividends: alpha,
        rates: Arc::new(treasury(live, None)?),
        stats: Arc::new(fred(live, None)?),
    })
}

/// [`providers`], or — when the settings do not build one (a URL that does not parse) — a set
/// whose every call reports why, so that offline commands still run.
pub fn providers_or_report(live: &LiveSettings) -> Providers {
    providers(live).unwrap_or_else(|e| {
        let failed: Arc<dyn Provider> = Arc::new(Misconfigured(e.to_string()));
        Providers {
            prices: failed.clone(),
            dividends: failed.clone(),
            rates: failed.clone(),
            stats: failed,
        }
    })
}

/// AlphaVantage with the settings' key, function and rate; `base` overrides the URL.
pub fn alphavantage(
    live: &LiveSettings,
    base: Option<&str>,
) -> Result<AlphaVantage, ProviderError> {
    AlphaVantage::new(
        base.unwrap_or(&live.alpha_vantage_url),
        live.alpha_vantage_key
            .as_ref()
            .map(|k| k.expose().to_string()),
        live.alpha_vantage_function,
        HttpPolicy {
            calls_per_minute: live.alpha_vantage_rate,
            ..live.http.clone()
        },
    )
}

/// The Treasury feed; `base` overrides the URL.
pub fn treasury(live: &LiveSettings, base: Option<&str>) -> Result<Treasury, ProviderError> {
    Treasury::new(base.unwrap_or(&live.treasury_url), live.http.clone())
}

/// FRED with the settings' key; `base` overrides the URL.
pub fn fred(live: &LiveSettings, base: Option<&str>) -> Result<Fred, ProviderError> {
    Fred::new(
        base.unwrap_or(&live.fred_url),
        live.fred_key.as_ref().map(|k| k.expose().to_string()),
        live.http.clone(),
    )
}

/// A CSV URL provider.
pub fn csv_url(live: &LiveSettings, template: &str) -> Result<CsvUrl, ProviderError> {
    CsvUrl::new(template, live.http.clone())
}

/// Stands in for every provider when the live settings do not build one: each call reports why.
struct Misconfigured(String);

#[async_trait::async_trait]
impl Provider for Misconfigured {
    fn name(&self) -> &str {
        "misconfigured"
    }

    async fn daily_prices(
        &self,
        _ticker: &str,
        _history: History,
    ) -> Result<Vec<PricePoint>, ProviderError> {
        Err(self.error())
    }

    async fn dividends(&self, _ticker: &str) -> Result<Vec<Dividend>, ProviderError> {
        Err(self.error())
    }

    async fn treasury_yields(
        &self,
        _start: NaiveDate,
        _end: NaiveDate,
    ) -> Result<Vec<YieldPoint>, ProviderError> {
        Err(self.error())
    }

    async fn series(
        &self,
        _code: &str,
        _start: NaiveDate,
        _end: NaiveDate,
    ) -> Result<Vec<Observation>, ProviderError> {
        Err(self.error())
    }
}

impl Misconfigured {
    fn error(&self) -> ProviderError {
        ProviderError::Payload {
            provider: "settings".into(),
            url: String::new(),
            detail: self.0.clone(),
        }
    }
}
