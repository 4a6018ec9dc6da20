//! Live data behind the services: which provider answers what, and the cache-through rules.
//!
//! The store is the cache. With a live provider selected, a command first asks whether the store
//! already holds every completed session up to today; only if not does it call the provider, and
//! then for as little as the provider allows (AlphaVantage's `compact` answer covers the last 100
//! sessions, so a short gap never downloads decades again). What the store holds is never fetched
//! again, with one exception that keeps the numbers right: adjusted closes are rescaled by the
//! provider after every dividend or split, so when the overlap between the stored and the fetched
//! prices disagrees, the ticker's whole history is replaced and its cached analytics dropped.
//!
//! A provider that fails while the store already has data for the ticker does not fail the
//! command: the stored data is used and a notice says how stale it is.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use stratus_core::TradingCalendar;
use stratus_providers::alphavantage::AlphaVantage;
use stratus_providers::bundled::Bundled;
use stratus_providers::csv_url::CsvUrl;
use stratus_providers::fred::Fred;
use stratus_providers::treasury::Treasury;
use stratus_providers::{HttpPolicy, Provider, ProviderError};

use crate::settings::{LiveSettings, ProviderChoice};

/// The provider for each kind of data.
#[derive(Clone)]
pub struct Providers {
    /// Daily prices.
    pub prices: Arc<dyn Provider>,
    /// Dividend histories.
    pub dividends: Arc<dyn Provider>,
    /// Treasury yields.
    pub rates: Arc<dyn Provider>,
    /// Economic series.
    pub stats: Arc<dyn Provider>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("prices", &self.prices.name())
            .field("dividends", &self.dividends.name())
            .field("rates", &self.rates.name())
            .field("stats", &self.stats.name())
            .finish()
    }
}

impl Providers {
    /// The offline set: the bundled dataset for prices and yields, nothing for the rest.
    pub fn bundled() -> Self {
        let bundled: Arc<dyn Provider> = Arc::new(Bundled);
        Providers {
            prices: bundled.clone(),
            dividends: bundled.clone(),
            rates: bundled.clone(),
            stats: bundled,
        }
    }

    /// The set the settings select. Keys are checked when a call needs them, not here.
    pub fn from_settings(live: &LiveSettings) -> Result<Self, ProviderError> {
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

    /// Whether prices come from a live source.
    pub fn is_live(&self) -> bool {
        self.prices.name() != "bundled"
    }
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

/// What a live session remembers: what it already refreshed (per ticker and trading day), and
/// what it had to tell the user.
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    /// Held while deciding and fetching, so concurrent requests for a new ticker (a server)
    /// wait for the one fetch instead of racing past it to "unknown ticker".
    pub(crate) fetching: tokio::sync::Mutex<()>,
    pub(crate) refreshed: Mutex<HashSet<String>>,
    pub(crate) notices: Mutex<Vec<String>>,
}

impl LiveState {
    /// Marks `key` refreshed; false if it already was.
    pub(crate) fn first_time(&self, key: &str) -> bool {
        self.refreshed
            .lock()
            .map(|mut set| set.insert(key.to_string()))
            .unwrap_or(false)
    }

    /// Forgets that `key` was refreshed, so the next request tries again.
    pub(crate) fn forget(&self, key: &str) {
        if let Ok(mut set) = self.refreshed.lock() {
            set.remove(key);
        }
    }

    /// Keeps the latest notices only, so a long-running server that never drains them does not
    /// grow without bound.
    pub(crate) fn notice(&self, text: String) {
        if let Ok(mut notices) = self.notices.lock() {
            if notices.len() >= MAX_NOTICES {
                notices.remove(0);
            }
            notices.push(text);
        }
    }
}

/// The wall clock (the core has none; the composition root is where time enters).
pub fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

/// Today's date: the pinned one, else the UTC date.
pub fn today(live: &LiveSettings) -> NaiveDate {
    live.today.unwrap_or_else(|| now().date_naive())
}

/// The last session whose closing prices are published: sessions before today, and today's
/// once the New York close has passed (22:00 UTC covers daylight saving time and the feeds'
/// lag). A pinned "today" is treated as its morning.
pub fn last_complete_session(live: &LiveSettings, calendar: &TradingCalendar) -> NaiveDate {
    let today = today(live);
    let after_close = live.today.is_none() && now().hour() >= 22;
    if after_close && calendar.is_session(today) {
        today
    } else {
        calendar.previous_session(today)
    }
}

const MAX_NOTICES: usize = 100;

/// Relative difference above which a stored and a fetched close are "not the same price".
pub(crate) const RESTATED: f64 = 1e-6;

pub(crate) fn restated(stored: f64, fetched: f64) -> bool {
    ((stored - fetched) / fetched).abs() > RESTATED
}
