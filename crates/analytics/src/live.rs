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

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use stratus_core::TradingCalendar;
use stratus_providers::bundled::Bundled;
use stratus_providers::{History, PricePoint, Provider};
use stratus_store::{PriceRow, RateRow};

use crate::service::{far_future, price_row, rate_row};
use crate::{Analytics, AppError};

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

    /// Whether prices come from a live source.
    pub fn is_live(&self) -> bool {
        self.prices.name() != "bundled"
    }
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
pub fn today(pinned: Option<NaiveDate>) -> NaiveDate {
    pinned.unwrap_or_else(|| now().date_naive())
}

/// The last session whose closing prices are published: sessions before today, and today's
/// once the New York close has passed (22:00 UTC covers daylight saving time and the feeds'
/// lag). A pinned "today" is treated as its morning.
pub fn last_complete_session(pinned: Option<NaiveDate>, calendar: &TradingCalendar) -> NaiveDate {
    let today = today(pinned);
    let after_close = pinned.is_none() && now().hour() >= 22;
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

/// What merging fetched prices into the store did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// Rows written.
    pub written: usize,
    /// Whether the ticker's whole history was replaced (the provider restated adjusted prices).
    pub restated: bool,
}

/// Gaps up to this many sessions are fetched with the provider's short answer (AlphaVantage's
/// `compact` holds 100 sessions; the margin covers a holiday the calendars disagree on).
const RECENT_SESSIONS: usize = 90;

impl Analytics {
    /// How much history to fetch for `ticker`: `None` when the store already holds every
    /// completed session, `Recent` for a gap the provider's short answer covers, else `Full`.
    pub async fn history_needed(&self, ticker: &str) -> Result<Option<History>, AppError> {
        Ok(self.history_after(self.store.latest_price_date(ticker).await?))
    }

    /// [`Self::history_needed`] for a ticker whose last stored date is `latest`.
    fn history_after(&self, latest: Option<NaiveDate>) -> Option<History> {
        let expected = last_complete_session(self.config.today, self.calendar);
        match latest {
            None => Some(History::Full),
            Some(latest) if latest >= expected => None,
            Some(latest) => {
                let missing = self
                    .calendar
                    .sessions(latest, expected)
                    .len()
                    .saturating_sub(1);
                Some(if missing <= RECENT_SESSIONS {
                    History::Recent
                } else {
                    History::Full
                })
            }
        }
    }

    /// Stores prices of `ticker` fetched from `provider` (already cleaned; `full` if they are its
    /// whole history): new dates are added. If the overlap with what is stored disagrees
    /// (adjusted prices restated after a dividend or split), the provider's whole history —
    /// fetched now unless `points` is it, and passed through `clean` — replaces the stored one
    /// and cached analytics are dropped.
    pub async fn store_fetched(
        &self,
        provider: &dyn Provider,
        ticker: &str,
        points: &[PricePoint],
        full: bool,
        clean: impl Fn(Vec<PricePoint>) -> Vec<PricePoint> + Send,
    ) -> Result<MergeOutcome, AppError> {
        if let Some(outcome) = self.merge_prices(ticker, points, full).await? {
            return Ok(outcome);
        }
        let whole = clean(provider.daily_prices(ticker, History::Full).await?);
        Ok(self
            .merge_prices(ticker, &whole, true)
            .await?
            .unwrap_or_default())
    }

    /// Merges one answer; `None` when it shows a restatement and is not the whole history.
    async fn merge_prices(
        &self,
        ticker: &str,
        points: &[PricePoint],
        full: bool,
    ) -> Result<Option<MergeOutcome>, AppError> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(Some(MergeOutcome::default()));
        };
        let stored = self.store.prices(ticker, first.date, last.date).await?;
        let fetched: BTreeMap<NaiveDate, f64> = points.iter().map(|p| (p.date, p.close)).collect();
        let is_restated = stored.iter().any(|row| {
            fetched
                .get(&row.date)
                .is_some_and(|close| restated(row.close, *close))
        });
        if is_restated && !full {
            return Ok(None);
        }
        let held: std::collections::HashSet<NaiveDate> = stored.iter().map(|r| r.date).collect();
        let rows: Vec<PriceRow> = points
            .iter()
            .filter(|p| is_restated || !held.contains(&p.date))
            .cloned()
            .map(price_row)
            .collect();
        let written = self.store.put_prices(&rows).await?;
        self.listing_changed().await;
        if is_restated {
            self.store.invalidate_ticker(ticker).await?;
        }
        Ok(Some(MergeOutcome {
            written,
            restated: is_restated,
        }))
    }

    /// Cache-through for one ticker (live providers only): fetches what the store lacks, once
    /// per session. A provider failure is an error only when the store has nothing to fall
    /// back on.
    pub(crate) async fn refresh_prices(&self, ticker: &str) -> Result<(), AppError> {
        if !self.providers.is_live() {
            return Ok(());
        }
        // Once per ticker and trading day: a long-running server checks again the next day.
        let expected = last_complete_session(self.config.today, self.calendar);
        let _fetching = self.live.fetching.lock().await;
        let key = format!("{ticker}@{expected}");
        if !self.live.first_time(&key) {
            return Ok(());
        }
        let latest = self.store.latest_price_date(ticker).await?;
        let Some(history) = self.history_after(latest) else {
            return Ok(());
        };
        let fetched = async {
            let today = self.today();
            let provider = self.providers.prices.as_ref();
            let keep = move |mut points: Vec<PricePoint>| {
                points.retain(|p| p.date <= today && p.close.is_finite() && p.close > 0.0);
                points
            };
            let points = keep(provider.daily_prices(ticker, history).await?);
            self.store_fetched(provider, ticker, &points, history == History::Full, keep)
                .await
        }
        .await;
        match (fetched, latest) {
            (Ok(outcome), _) => {
                if outcome.restated {
                    self.live.notice(format!(
                        "{ticker}: {} restated its adjusted prices; the stored history was replaced",
                        self.providers.prices.name()
                    ));
                }
                Ok(())
            }
            (Err(AppError::Provider(e)), Some(last)) => {
                self.live
                    .notice(format!("{ticker}: using stored prices up to {last}; {e}"));
                Ok(())
            }
            // Nothing stored to fall back on: the next request asks the provider again, so an
            // outage is a 503 while it lasts, never a remembered "unknown ticker".
            (Err(e), None) => {
                self.live.forget(&key);
                Err(e)
            }
            (Err(other), _) => Err(other),
        }
    }

    /// Cache-through for Treasury yields (live providers only), once per session.
    pub(crate) async fn refresh_rates(&self) -> Result<(), AppError> {
        if !self.providers.is_live() {
            return Ok(());
        }
        let expected = last_complete_session(self.config.today, self.calendar);
        let _fetching = self.live.fetching.lock().await;
        if !self.live.first_time(&format!("\0rates@{expected}")) {
            return Ok(());
        }
        let latest = self.store.latest_rate_date(far_future()).await?;
        if latest.is_some_and(|l| l >= expected) {
            return Ok(());
        }
        let start = latest.map_or(
            NaiveDate::from_ymd_opt(1990, 1, 2).expect("valid date"),
            |l| l + chrono::Duration::days(1),
        );
        match self
            .providers
            .rates
            .treasury_yields(start, self.today())
            .await
        {
            Ok(points) => {
                let rows: Vec<RateRow> = points.iter().map(rate_row).collect();
                self.store.put_rates(&rows).await?;
                Ok(())
            }
            Err(e) if latest.is_some() => {
                self.live.notice(format!(
                    "using stored Treasury yields up to {}; {e}",
                    latest.map(|d| d.to_string()).unwrap_or_default()
                ));
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
