//! The services' state and the steps every command shares: seeding an empty store, checking
//! tickers, resolving the window, loading series.

use std::sync::Arc;

use chrono::NaiveDate;
use stratus_core::{CalendarKind, PriceSeries, TradingCalendar, Window, resolve_window};
use stratus_providers::{PricePoint, bundled};
use stratus_store::{DateRange, PriceRow, RateRow, Store, TickerSummary};

use crate::config::AnalyticsConfig;
use crate::error::{AppError, checked_ticker};
use crate::live::{self, LiveState, Providers};

pub use crate::live::MergeOutcome;

/// Progress of loading the bundled dataset.
#[derive(Debug, Clone, Copy)]
pub struct SeedProgress {
    /// Rows written so far.
    pub done: u64,
    /// Rows to write.
    pub total: u64,
}

/// Observer of long operations: (stage, done, total).
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// The analytics services over one store.
pub struct Analytics {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: AnalyticsConfig,
    pub(crate) calendar: &'static TradingCalendar,
    progress: Option<Progress>,
    pub(crate) providers: Providers,
    pub(crate) live: LiveState,
    listing: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<TickerSummary>>)>>,
}

const SEED_CHUNK: usize = 25_000;

pub(crate) fn far_future() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date")
}

/// How long a ticker listing is reused (writes by this process drop it at once; writes by
/// another process sharing the store show within this time).
pub const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// A published yield as the store keeps it.
pub(crate) fn rate_row(y: &stratus_providers::YieldPoint) -> RateRow {
    RateRow {
        maturity: y.maturity,
        date: y.date,
        percent: y.percent,
    }
}

pub(crate) fn price_row(point: PricePoint) -> PriceRow {
    PriceRow {
        ticker: point.ticker,
        date: point.date,
        open: point.open,
        close: point.close,
    }
}

impl Analytics {
    /// Services over `store`, asking `providers` for live data, with `config`'s defaults.
    pub fn new(store: Arc<dyn Store>, providers: Providers, config: AnalyticsConfig) -> Self {
        Analytics {
            store,
            config,
            calendar: TradingCalendar::get(CalendarKind::Nyse),
            progress: None,
            providers,
            live: LiveState::default(),
            listing: tokio::sync::Mutex::new(None),
        }
    }

    /// The providers in use.
    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// Today (pinned by `STRATUS_TODAY`, else the UTC date).
    pub fn today(&self) -> NaiveDate {
        live::today(self.config.today)
    }

    /// Messages about live data the user should see (stale data used after a provider failed,
    /// restated histories); drained by the caller.
    pub fn take_notices(&self) -> Vec<String> {
        self.live
            .notices
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }

    /// Reports the progress of long operations (portfolio inputs, frontiers) to `observer`.
    pub fn set_progress(&mut self, observer: Progress) {
        self.progress = Some(observer);
    }

    pub(crate) fn report(&self, stage: &str, done: u64, total: u64) {
        if let Some(observer) = &self.progress {
            observer(stage, done, total);
        }
    }

    /// The defaults in force.
    pub fn config(&self) -> &AnalyticsConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The equity calendar.
    pub fn calendar(&self) -> &'static TradingCalendar {
        self.calendar
    }

    /// Loads the bundled dataset into an empty store that is seeded from it
    /// ([`stratus_store::Capabilities::seeded`]). Returns whether anything was loaded.
    ///
    /// Yields go first, in chunks; prices last, in one all-or-nothing write. "Has prices" is
    /// therefore the marker of a complete load: a load interrupted at any point is simply redone.
    pub async fn ensure_seeded(
        &self,
        progress: &(dyn Fn(SeedProgress) + Sync),
    ) -> Result<bool, AppError> {
        // A shared cache is filled deliberately, never behind a user's back; a snapshot never.
        if !self.store.capabilities().seeded {
            return Ok(false);
        }
        if self.providers.is_live() {
            return self.seed_rates_only(progress).await;
        }
        if self.store.has_prices().await? {
            return Ok(false);
        }
        let prices = bundled::prices()?;
        let rates = bundled::treasury_yields()?;
        let total = (prices.len() + rates.len()) as u64;
        let mut done = 0u64;
        progress(SeedProgress { done, total });
        for chunk in rates.chunks(SEED_CHUNK) {
            let rows: Vec<RateRow> = chunk.iter().map(rate_row).collect();
            done += self.store.put_rates(&rows).await? as u64;
            progress(SeedProgress { done, total });
        }
        let rows: Vec<PriceRow> = prices.into_iter().map(price_row).collect();
        done += self.store.put_prices(&rows).await? as u64;
        self.listing_changed().await;
        progress(SeedProgress { done, total });
        Ok(true)
    }

    /// With a live price provider, only the bundled Treasury history (the same publisher as the
    /// live feed) is loaded; prices come from the provider as commands ask for them.
    async fn seed_rates_only(
        &self,
        progress: &(dyn Fn(SeedProgress) + Sync),
    ) -> Result<bool, AppError> {
        if self.store.latest_rate_date(far_future()).await?.is_some() {
            return Ok(false);
        }
        let rates: Vec<RateRow> = bundled::treasury_yields()?.iter().map(rate_row).collect();
        let total = rates.len() as u64;
        progress(SeedProgress { done: 0, total });
        let written = self.store.put_rates(&rates).await? as u64;
        progress(SeedProgress {
            done: written,
            total,
        });
        Ok(true)
    }

    /// The error for a ticker the store does not hold: the known tickers, or — for a store that
    /// is filled deliberately and holds nothing yet — how to fill it.
    pub(crate) async fn unknown(&self, ticker: String) -> AppError {
        let known = match self.ticker_names().await {
            Ok(known) => known,
            Err(e) => return e,
        };
        if known.is_empty() && self.store.capabilities().read_only {
            return AppError::NoData {
                message: "the read-only snapshot holds no prices; publish one from a filled store with `stratus cache snapshot --to s3://…`".into(),
            };
        }
        if known.is_empty() && !self.store.capabilities().seeded {
            let backend = self.store.backend();
            return AppError::NoData {
                message: format!(
                    "the {backend} store holds no prices; fill it with `stratus cache migrate --from sqlite --to STORE`, STORE being this store's URL (dynamodb, postgres://…, as in STRATUS_STORE)"
                ),
            };
        }
        AppError::UnknownTicker { ticker, known }
    }

    /// Normalises a user's ticker and checks the store has it; returns its last price date.
    pub(crate) async fn known(&self, raw: &str) -> Result<(String, NaiveDate), AppError> {
        let ticker = checked_ticker(raw)?;
        self.refresh_prices(&ticker).await?;
        match self.store.latest_price_date(&ticker).await? {
            Some(last) => Ok((ticker, last)),
            None => Err(self.unknown(ticker).await),
        }
    }

    /// Normalises and checks a user's ticker list (each once, each known to the store); returns
    /// each ticker with its last price date.
    pub async fn known_tickers(
        &self,
        tickers: &[String],
    ) -> Result<Vec<(String, NaiveDate)>, AppError> {
        Ok(self
            .known_ranges(tickers)
            .await?
            .into_iter()
            .map(|(name, range)| (name, range.last))
            .collect())
    }

    /// [`Self::known_tickers`] with each ticker's first date too, from one date-range lookup.
    pub(crate) async fn known_ranges(
        &self,
        tickers: &[String],
    ) -> Result<Vec<(String, DateRange)>, AppError> {
        let mut names: Vec<String> = Vec::with_capacity(tickers.len());
        for raw in tickers {
            let ticker = checked_ticker(raw)?;
            if names.contains(&ticker) {
                return Err(AppError::InvalidInput {
                    field: "tickers",
                    message: format!("{ticker} is listed twice; list each ticker once"),
                });
            }
            names.push(ticker);
        }
        if self.providers.is_live() {
            self.check_fetch_budget(&names).await?;
            for name in &names {
                self.refresh_prices(name).await?;
            }
        }
        let ranges = self.store.date_ranges(&names).await?;
        let mut out = Vec::with_capacity(names.len());
        for (name, range) in names.into_iter().zip(ranges) {
            match range {
                Some(range) => out.push((name, range)),
                None => return Err(self.unknown(name).await),
            }
        }
        Ok(out)
    }

    /// With a live provider, refuses a request that would fetch more new tickers than
    /// `STRATUS_MAX_NEW_TICKERS` allows, before making any call.
    async fn check_fetch_budget(&self, names: &[String]) -> Result<(), AppError> {
        let limit = self.config.max_new_tickers;
        if limit == 0 || names.len() <= limit {
            return Ok(());
        }
        let ranges = self.store.date_ranges(names).await?;
        let new: Vec<&str> = names
            .iter()
            .zip(&ranges)
            .filter(|(_, range)| range.is_none())
            .map(|(name, _)| name.as_str())
            .collect();
        if new.len() > limit {
            return Err(AppError::InvalidInput {
                field: "tickers",
                message: format!(
                    "{} tickers are not stored yet ({}…) and would each need a call to {}; at most {limit} per request (STRATUS_MAX_NEW_TICKERS). Ask for fewer new tickers at a time, or load them first with `stratus ingest`",
                    new.len(),
                    new.iter().take(3).copied().collect::<Vec<_>>().join(", "),
                    self.providers.prices.name()
                ),
            });
        }
        Ok(())
    }

    /// The last close of a checked ticker whose last price date is `latest` (as
    /// [`Self::known_tickers`] returns it) on or before `date`, however long before that was.
    pub async fn close_on_or_before(
        &self,
        ticker: &str,
        latest: NaiveDate,
        date: NaiveDate,
    ) -> Result<Option<(NaiveDate, f64)>, AppError> {
        let end = date.min(latest);
        // Nearly always within the last fortnight; else the whole history before `end`.
        let recent = self
            .store
            .prices(ticker, end - chrono::Duration::days(14), end)
            .await?;
        let rows = if recent.is_empty() {
            let first = NaiveDate::from_ymd_opt(1, 1, 1).expect("valid date");
            self.store.prices(ticker, first, end).await?
        } else {
            recent
        };
        Ok(rows.last().map(|row| (row.date, row.close)))
    }

    /// Every ticker the store holds.
    pub async fn ticker_names(&self) -> Result<Vec<String>, AppError> {
        Ok(self
            .ticker_summaries()
            .await?
            .iter()
            .map(|t| t.ticker.clone())
            .collect())
    }

    /// Every ticker the store holds with its date range and count, as of at most
    /// [`LISTING_TTL`] ago. Summarising a store reads every price row, so concurrent callers
    /// share one read (the lock is held while it runs) instead of each queueing their own on the
    /// store's connection ahead of other requests.
    pub async fn ticker_summaries(&self) -> Result<Arc<Vec<TickerSummary>>, AppError> {
        let mut listing = self.listing.lock().await;
        if let Some((at, list)) = listing.as_ref()
            && at.elapsed() < LISTING_TTL
        {
            return Ok(Arc::clone(list));
        }
        let list = Arc::new(self.store.tickers().await?);
        *listing = Some((std::time::Instant::now(), Arc::clone(&list)));
        Ok(list)
    }

    /// Drops the cached listing after this process wrote prices.
    pub(crate) async fn listing_changed(&self) {
        *self.listing.lock().await = None;
    }

    /// Checks the tickers and resolves the window for them: by default the last
    /// `window_returns` returns ending at the latest date any of them has a price for.
    ///
    /// A ticker listed twice is refused (one rule for every command). When a ticker's history
    /// starts inside the window, the window starts there instead, so that every statistic (a β
    /// against the market, a correlation) is computed on dates all of them have; a notice says so.
    pub async fn window(
        &self,
        tickers: &[String],
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> Result<(Vec<String>, Window), AppError> {
        let checked = self.known_ranges(tickers).await?;
        let latest = checked
            .iter()
            .map(|(_, range)| range.last)
            .max()
            .ok_or_else(|| AppError::InvalidInput {
                field: "tickers",
                message: "no tickers given; name at least one, e.g. AAPL".into(),
            })?;
        let mut window = resolve_window(
            start,
            end,
            latest,
            self.config.window_returns,
            self.calendar,
        )?;
        // The latest first date among the tickers bounds the dates they all share.
        let mut cut: Option<(NaiveDate, &str)> = None;
        for (name, range) in &checked {
            if range.first > window.start && cut.is_none_or(|(date, _)| range.first > date) {
                cut = Some((range.first, name));
            }
        }
        if let Some((first, name)) = cut
            && first <= window.end
        {
            self.live.notice(format!(
                "the window was cut to {name}'s data: {first} to {} instead of from {}",
                window.end, window.start
            ));
            window.start = first;
        }
        Ok((checked.into_iter().map(|(name, _)| name).collect(), window))
    }

    /// Prices of one (checked) ticker in a window.
    pub async fn series(&self, ticker: &str, window: Window) -> Result<PriceSeries, AppError> {
        let rows = self.store.closes(ticker, window.start, window.end).await?;
        Ok(PriceSeries::new(ticker, rows)?)
    }
}
