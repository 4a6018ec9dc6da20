//! Analytics over a store.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use stratus_core::correlation::{AlignedReturns, correlation as correlation_of};
use stratus_core::covariance::{Par, correlation_from_covariance, covariance_matrix};
use stratus_core::moving_average::{MovingAverages, moving_averages};
use stratus_core::risk;
use stratus_core::yield_curve::{CurvePoint, complete_curve};
use stratus_core::{
    AnalyticsError, CalendarKind, EQUITY_PERIODS_PER_YEAR, Maturity, Method, PriceSeries,
    RiskProfile, TradingCalendar, Window, estimate, resolve_window,
};
use stratus_providers::{
    Dividend, History, PricePoint, Provider, ProviderError, ProviderErrorKind, bundled,
    normalise_ticker,
};
use stratus_store::{
    CorrelationKey, PriceRow, ProfileKey, ProfileRecord, RateRow, Store, StoreError, TickerSummary,
};

use crate::live::{self, LiveState, Providers};
use crate::settings::Settings;

/// Why a request failed. Adapters map [`AppError::is_user_error`] to exit code 2 or HTTP 4xx.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A ticker the store has no prices for.
    #[error("unknown ticker {ticker}; known tickers: {}. Load prices with `stratus import-csv FILE`", known.join(", "))]
    UnknownTicker {
        /// The symbol asked for.
        ticker: String,
        /// What the store holds.
        known: Vec<String>,
    },
    /// Malformed input rejected by the analytics core.
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    /// A file that does not parse.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An optimisation without a solution (infeasible target or bounds, singular covariance).
    #[error(transparent)]
    Optimize(#[from] stratus_core::optimize::OptimizeError),
    /// Data the question needs is not in the store.
    #[error("{message}")]
    NoData {
        /// What is missing and how to get it.
        message: String,
    },
    /// A request parameter that is malformed (not a fact about the data).
    #[error("{message}")]
    InvalidInput {
        /// The parameter, as an API request names it (`tickers`).
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Bad configuration or environment.
    #[error("{message}")]
    Setup {
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl AppError {
    /// Whether the user can fix this by changing the request (as opposed to the environment).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            AppError::UnknownTicker { .. }
                | AppError::Analytics(_)
                | AppError::NoData { .. }
                | AppError::InvalidInput { .. }
        ) || matches!(self, AppError::Optimize(e) if !matches!(e, stratus_core::optimize::OptimizeError::Inconsistent(_)))
            || matches!(self, AppError::Provider(e) if matches!(e.kind(), ProviderErrorKind::Input | ProviderErrorKind::Unsupported))
    }
}

/// Progress of loading the bundled dataset.
#[derive(Debug, Clone, Copy)]
pub struct SeedProgress {
    /// Rows written so far.
    pub done: u64,
    /// Rows to write.
    pub total: u64,
}

/// A risk profile with its market-relative figures (scrilla's `risk-profile` record).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FullProfile {
    /// GBM drift per year.
    pub annual_return: f64,
    /// Volatility per year.
    pub annual_volatility: f64,
    /// (μ − r_f)/σ with r_f as of the window end.
    pub sharpe_ratio: f64,
    /// CAPM beta against the market proxy.
    pub asset_beta: f64,
    /// CAPM cost of equity.
    pub equity_cost: f64,
}

/// Observer of long operations: (stage, done, total).
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// The analytics services over one store.
pub struct Analytics {
    store: Arc<dyn Store>,
    settings: Settings,
    calendar: &'static TradingCalendar,
    progress: Option<Progress>,
    providers: Providers,
    live: LiveState,
    listing: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<TickerSummary>>)>>,
}

/// What merging fetched prices into the store did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// Rows written.
    pub written: usize,
    /// Whether the ticker's whole history was replaced (the provider restated adjusted prices).
    pub restated: bool,
}

const SEED_CHUNK: usize = 25_000;

/// Gaps up to this many sessions are fetched with the provider's short answer (AlphaVantage's
/// `compact` holds 100 sessions; the margin covers a holiday the calendars disagree on).
const RECENT_SESSIONS: usize = 90;

fn far_future() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date")
}

/// Stands in for every provider when the live settings do not build one (a URL that does not
/// parse): each call reports why.
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
    ) -> Result<Vec<stratus_providers::YieldPoint>, ProviderError> {
        Err(self.error())
    }

    async fn series(
        &self,
        _code: &str,
        _start: NaiveDate,
        _end: NaiveDate,
    ) -> Result<Vec<stratus_providers::Observation>, ProviderError> {
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

/// How long a ticker listing is reused (writes by this process drop it at once; writes by
/// another process sharing the store show within this time).
pub const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// How much of a user's text an error message quotes.
const QUOTED_CHARS: usize = 24;

/// `text` for an error message: at most [`QUOTED_CHARS`] characters, with the full length noted
/// when cut.
pub fn quoted(text: &str) -> String {
    let count = text.chars().count();
    if count <= QUOTED_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(QUOTED_CHARS).collect();
        format!("{head:?}… ({count} characters)")
    }
}

/// A user's ticker, normalised, or an error saying what a ticker looks like.
pub fn checked_ticker(raw: &str) -> Result<String, AppError> {
    normalise_ticker(raw).ok_or_else(|| AppError::InvalidInput {
        field: "tickers",
        message: format!(
            "invalid ticker {}: a ticker is 1 to 20 letters, digits or . - ^ =, e.g. AAPL or BRK.B",
            quoted(raw)
        ),
    })
}

/// From this many tickers on, a correlation matrix over shared dates is computed in one pass.
const BATCH_CORRELATION_MIN: usize = 10;

/// A published yield as the store keeps it.
fn rate_row(y: &stratus_providers::YieldPoint) -> RateRow {
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
    /// Services over `store` with `settings`.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let providers = Providers::from_settings(&settings.live).unwrap_or_else(|e| {
            let failed: Arc<dyn Provider> = Arc::new(Misconfigured(e.to_string()));
            Providers {
                prices: failed.clone(),
                dividends: failed.clone(),
                rates: failed.clone(),
                stats: failed,
            }
        });
        Analytics {
            store,
            settings,
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
        live::today(&self.settings.live)
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

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The equity calendar.
    pub fn calendar(&self) -> &'static TradingCalendar {
        self.calendar
    }

    /// Loads the bundled dataset into an empty store. Returns whether anything was loaded.
    ///
    /// Yields go first, in chunks; prices last, in one all-or-nothing write. "Has prices" is
    /// therefore the marker of a complete load: a load interrupted at any point is simply redone.
    pub async fn ensure_seeded(
        &self,
        progress: &(dyn Fn(SeedProgress) + Sync),
    ) -> Result<bool, AppError> {
        if self.providers.is_live() {
            return self.seed_rates_only(progress).await;
        }
        if self.store.has_prices().await? {
            return Ok(false);
        }
        if self.settings.cache_mode == crate::settings::CacheMode::Dynamodb {
            // A shared cloud cache is filled deliberately, never behind a user's back.
            return Err(AppError::NoData {
                message: "the DynamoDB store holds no prices; fill it with `stratus cache migrate --from sqlite --to dynamodb`"
                    .into(),
            });
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
        if self.store.latest_rate_date(far_future()).await?.is_some()
            || self.settings.cache_mode == crate::settings::CacheMode::Dynamodb
        {
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

    /// How much history to fetch for `ticker`: `None` when the store already holds every
    /// completed session, `Recent` for a gap the provider's short answer covers, else `Full`.
    pub async fn history_needed(&self, ticker: &str) -> Result<Option<History>, AppError> {
        Ok(self.history_after(self.store.latest_price_date(ticker).await?))
    }

    /// [`Self::history_needed`] for a ticker whose last stored date is `latest`.
    fn history_after(&self, latest: Option<NaiveDate>) -> Option<History> {
        let expected = live::last_complete_session(&self.settings.live, self.calendar);
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
                .is_some_and(|close| live::restated(row.close, *close))
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
    async fn refresh_prices(&self, ticker: &str) -> Result<(), AppError> {
        if !self.providers.is_live() {
            return Ok(());
        }
        // Once per ticker and trading day: a long-running server checks again the next day.
        let expected = live::last_complete_session(&self.settings.live, self.calendar);
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
    async fn refresh_rates(&self) -> Result<(), AppError> {
        if !self.providers.is_live() {
            return Ok(());
        }
        let expected = live::last_complete_session(&self.settings.live, self.calendar);
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

    /// Normalises a user's ticker and checks the store has it; returns its last price date.
    async fn known(&self, raw: &str) -> Result<(String, NaiveDate), AppError> {
        let ticker = checked_ticker(raw)?;
        self.refresh_prices(&ticker).await?;
        match self.store.latest_price_date(&ticker).await? {
            Some(last) => Ok((ticker, last)),
            None => Err(AppError::UnknownTicker {
                ticker,
                known: self.ticker_names().await?,
            }),
        }
    }

    /// Normalises and checks a user's ticker list (each once, each known to the store); returns
    /// each ticker with its last price date.
    pub async fn known_tickers(
        &self,
        tickers: &[String],
    ) -> Result<Vec<(String, NaiveDate)>, AppError> {
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
        self.check_fetch_budget(&names).await?;
        let mut out = Vec::with_capacity(names.len());
        for name in &names {
            out.push(self.known(name).await?);
        }
        Ok(out)
    }

    /// With a live provider, refuses a request that would fetch more new tickers than
    /// `STRATUS_MAX_NEW_TICKERS` allows, before making any call.
    async fn check_fetch_budget(&self, names: &[String]) -> Result<(), AppError> {
        let limit = self.settings.live.max_new_tickers;
        if !self.providers.is_live() || limit == 0 || names.len() <= limit {
            return Ok(());
        }
        let mut new = Vec::new();
        for name in names {
            if self.store.latest_price_date(name).await?.is_none() {
                new.push(name.as_str());
            }
        }
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
        let checked = self.known_tickers(tickers).await?;
        let latest =
            checked
                .iter()
                .map(|(_, last)| *last)
                .max()
                .ok_or_else(|| AppError::InvalidInput {
                    field: "tickers",
                    message: "no tickers given; name at least one, e.g. AAPL".into(),
                })?;
        let names: Vec<String> = checked.into_iter().map(|(name, _)| name).collect();
        let mut window = resolve_window(
            start,
            end,
            latest,
            self.settings.window_returns,
            self.calendar,
        )?;
        // The latest first date among the tickers bounds the dates they all share.
        let mut cut: Option<(NaiveDate, &str)> = None;
        for name in &names {
            if let Some(first) = self.store.first_price_date(name).await?
                && first > window.start
                && cut.is_none_or(|(date, _)| first > date)
            {
                cut = Some((first, name));
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
        Ok((names, window))
    }

    /// Prices of one (checked) ticker in a window.
    pub async fn series(&self, ticker: &str, window: Window) -> Result<PriceSeries, AppError> {
        let rows = self.store.prices(ticker, window.start, window.end).await?;
        Ok(PriceSeries::new(
            ticker,
            rows.into_iter().map(|r| (r.date, r.close)),
        )?)
    }

    fn profile_key(ticker: &str, window: Window, method: Method) -> ProfileKey {
        ProfileKey {
            ticker: ticker.to_string(),
            start: window.start,
            end: window.end,
            method,
            weekends: false,
        }
    }

    /// The (cached) return and volatility of a checked ticker.
    pub async fn profile(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
    ) -> Result<RiskProfile, AppError> {
        let key = Self::profile_key(ticker, window, method);
        if let Some(hit) = self.store.profile(&key).await? {
            return Ok(RiskProfile {
                annual_return: hit.annual_return,
                annual_volatility: hit.annual_volatility,
            });
        }
        let series = self.series(ticker, window).await?;
        series.require(3)?;
        let profile = estimate(
            &series.log_returns(self.calendar),
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?;
        let record = ProfileRecord {
            annual_return: profile.annual_return,
            annual_volatility: profile.annual_volatility,
            sharpe_ratio: None,
            asset_beta: None,
            equity_cost: None,
        };
        self.store.put_profile(&key, &record).await?;
        Ok(profile)
    }

    /// The (cached) correlation of two checked tickers.
    pub async fn correlation(
        &self,
        a: &str,
        b: &str,
        window: Window,
        method: Method,
    ) -> Result<f64, AppError> {
        if a == b {
            return Ok(1.0);
        }
        let key = CorrelationKey {
            ticker_1: a.to_string(),
            ticker_2: b.to_string(),
            start: window.start,
            end: window.end,
            method,
            weekends: false,
        };
        if let Some(hit) = self.store.correlation(&key).await? {
            return Ok(hit);
        }
        let (sa, sb) = (self.series(a, window).await?, self.series(b, window).await?);
        let rho = correlation_of(
            &AlignedReturns::new(&sa, &sb, self.calendar)?,
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?;
        self.store.put_correlation(&key, rho).await?;
        Ok(rho)
    }

    /// The correlation matrix of checked tickers. Ten or more tickers sharing the same dates are
    /// computed in one pass (one covariance matrix of all returns, which gives the same Pearson
    /// correlations as pair by pair); otherwise, and for the percentile copula, pair by pair
    /// through the cache.
    pub async fn correlation_matrix(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<Vec<Vec<f64>>, AppError> {
        let n = tickers.len();
        if n >= BATCH_CORRELATION_MIN && method != Method::Percentiles {
            let mut series = Vec::with_capacity(n);
            for t in tickers {
                series.push(self.series(t, window).await?);
            }
            if series.iter().all(|s| s.dates() == series[0].dates()) {
                return Ok(self.batch_correlation(&series, method)?);
            }
        }
        let mut matrix = vec![vec![1.0; n]; n];
        for i in 0..n {
            for j in (i + 1)..n {
                let rho = self
                    .correlation(&tickers[i], &tickers[j], window, method)
                    .await?;
                matrix[i][j] = rho;
                matrix[j][i] = rho;
            }
        }
        Ok(matrix)
    }

    fn batch_correlation(
        &self,
        series: &[PriceSeries],
        method: Method,
    ) -> Result<Vec<Vec<f64>>, AnalyticsError> {
        series[0].require(3)?;
        let columns: Vec<Vec<f64>> = series
            .iter()
            .map(|s| {
                let r = s.log_returns(self.calendar);
                match method {
                    Method::Moments => r.unit_time_scaled(EQUITY_PERIODS_PER_YEAR),
                    _ => r.annualised_sample(EQUITY_PERIODS_PER_YEAR),
                }
            })
            .collect();
        let rows = columns[0].len();
        let matrix = faer::Mat::from_fn(rows, columns.len(), |t, j| columns[j][t]);
        let cov = covariance_matrix(matrix.as_ref(), 1.0, Par::Seq);
        for (j, s) in series.iter().enumerate() {
            if cov[(j, j)].is_nan() || cov[(j, j)] <= 0.0 {
                return Err(AnalyticsError::Undefined {
                    what: "correlation",
                    ticker: s.ticker().to_string(),
                    reason: "the series does not move in the window (zero variance)",
                });
            }
        }
        let corr = correlation_from_covariance(cov.as_ref());
        Ok((0..columns.len())
            .map(|i| {
                (0..columns.len())
                    .map(|j| corr[(i, j)].clamp(-1.0, 1.0))
                    .collect()
            })
            .collect())
    }

    /// The annualised covariance matrix σ_i·σ_j·ρ_ij.
    pub async fn covariance_matrix(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<Vec<Vec<f64>>, AppError> {
        let corr = self.correlation_matrix(tickers, window, method).await?;
        let mut vols = Vec::with_capacity(tickers.len());
        for t in tickers {
            vols.push(self.profile(t, window, method).await?.annual_volatility);
        }
        Ok(corr
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, rho)| vols[i] * vols[j] * rho)
                    .collect()
            })
            .collect())
    }

    /// The yield curve as of `date` (the latest publication on or before it), rates as decimals,
    /// with every tenor in `wanted` present (gaps filled and marked).
    pub async fn yield_curve(
        &self,
        date: NaiveDate,
        wanted: &[Maturity],
    ) -> Result<(NaiveDate, Vec<CurvePoint>), AppError> {
        let no_data = || AppError::NoData {
            message: format!(
                "no Treasury yields on or before {date}; the bundled history starts 1990-01-02"
            ),
        };
        self.refresh_rates().await?;
        let published = self
            .store
            .latest_rate_date(date)
            .await?
            .ok_or_else(no_data)?;
        let mut observed = Vec::new();
        for maturity in Maturity::ALL {
            if let Some(row) = self
                .store
                .rates(maturity, published, published)
                .await?
                .first()
            {
                observed.push((maturity, row.percent / 100.0));
            }
        }
        let curve = complete_curve(&observed, wanted).ok_or_else(no_data)?;
        Ok((published, curve))
    }

    /// The risk-free rate (decimal) as of `date`, and the publication date it comes from.
    pub async fn risk_free(&self, date: NaiveDate) -> Result<(NaiveDate, f64), AppError> {
        let (published, curve) = self.yield_curve(date, &[self.settings.risk_free]).await?;
        Ok((published, curve[0].rate))
    }

    /// scrilla's `risk-profile`: profile, Sharpe, beta and cost of equity for each ticker.
    pub async fn risk_profiles(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<Vec<(String, FullProfile)>, AppError> {
        let (market, _) = self
            .known(&self.settings.market_proxy)
            .await
            .map_err(|e| match e {
                AppError::UnknownTicker { ticker, known } => AppError::NoData {
                    message: format!(
                        "the market proxy {ticker} has no prices; set MARKET_PROXY to one of {}",
                        known.join(", ")
                    ),
                },
                other => other,
            })?;
        // The requested tickers first, so a too-short window is reported against them.
        let mut profiles = Vec::with_capacity(tickers.len());
        for ticker in tickers {
            profiles.push(self.profile(ticker, window, method).await?);
        }
        let market_profile = self.profile(&market, window, method).await?;
        let (_, risk_free) = self.risk_free(window.end).await?;
        let mut out = Vec::with_capacity(tickers.len());
        for (ticker, profile) in tickers.iter().zip(profiles) {
            let rho = self.correlation(ticker, &market, window, method).await?;
            let beta = risk::capm_beta(&profile, &market_profile, rho);
            let full = FullProfile {
                annual_return: profile.annual_return,
                annual_volatility: profile.annual_volatility,
                sharpe_ratio: risk::sharpe_ratio(&profile, risk_free),
                asset_beta: beta,
                equity_cost: risk::cost_of_equity(beta, &market_profile, risk_free),
            };
            // Written for scrilla users sharing the cache; Stratus itself recomputes these.
            let record = ProfileRecord {
                annual_return: full.annual_return,
                annual_volatility: full.annual_volatility,
                sharpe_ratio: Some(full.sharpe_ratio),
                asset_beta: Some(full.asset_beta),
                equity_cost: Some(full.equity_cost),
            };
            self.store
                .put_profile(&Self::profile_key(ticker, window, method), &record)
                .await?;
            out.push((ticker.clone(), full));
        }
        Ok(out)
    }

    /// GBM value at risk and conditional value at risk (price levels) of one ticker, with the
    /// spot taken as the close on the window's last date.
    pub async fn gbm_var(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
        prob: f64,
        expiry: f64,
    ) -> Result<(f64, f64), AppError> {
        let profile = self.profile(ticker, window, method).await?;
        let series = self.series(ticker, window).await?;
        let (_, spot) = series.last().ok_or_else(|| AppError::NoData {
            message: format!("no prices for {ticker} in the window"),
        })?;
        let var = risk::gbm_value_at_risk(spot, &profile, expiry, prob)?;
        let cvar = risk::gbm_conditional_value_at_risk(spot, &profile, expiry, prob)?;
        if !(var.is_finite() && cvar.is_finite()) {
            return Err(AppError::Analytics(AnalyticsError::Undefined {
                what: "the GBM value at risk",
                ticker: ticker.to_string(),
                reason: "the tail is beyond floating-point range at this --prob and --expiry; use a larger --prob or a shorter --expiry",
            }));
        }
        Ok((var, cvar))
    }

    /// Historical value at risk and expected shortfall of one ticker as price levels: the loss
    /// fractions of overlapping `horizon`-session returns in the window (order-statistic rule),
    /// applied to the last close.
    pub async fn historical_var(
        &self,
        ticker: &str,
        window: Window,
        prob: f64,
        expiry: f64,
    ) -> Result<(f64, f64), AppError> {
        let horizon = stratus_core::checked::horizon_sessions("--expiry", expiry)?;
        let series = self.series(ticker, window).await?;
        series.require(horizon + 2)?;
        let closes = series.closes();
        let returns: Vec<f64> = closes
            .windows(horizon + 1)
            .map(|w| w[horizon] / w[0] - 1.0)
            .collect();
        let spot = closes[closes.len() - 1];
        let var = risk::historical_var(&returns, prob)?;
        let cvar = risk::historical_cvar(&returns, prob)?;
        Ok((spot * (1.0 - var), spot * (1.0 - cvar)))
    }

    /// Moving averages of one ticker for every session of the window.
    pub async fn moving_averages(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
    ) -> Result<MovingAverages, AppError> {
        let periods = &self.settings.moving_average_periods;
        let longest = periods.iter().copied().max().unwrap_or(1);
        let history = Window {
            start: self.calendar.sessions_back(window.start, longest),
            end: window.end,
        };
        let series = self.series(ticker, history).await?;
        Ok(moving_averages(
            &series,
            self.calendar,
            periods,
            window.start,
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?)
    }

    /// scrilla's `correlations`: for each session of the window, the moments correlation of the
    /// pair over the default-length window ending on that session.
    pub async fn correlation_series(
        &self,
        a: &str,
        b: &str,
        window: Window,
    ) -> Result<Vec<(NaiveDate, f64)>, AppError> {
        let lookback = self.settings.window_returns;
        let history = Window {
            start: self.calendar.sessions_back(window.start, lookback),
            end: window.end,
        };
        let (sa, sb) = (
            self.series(a, history).await?,
            self.series(b, history).await?,
        );
        let joint_a = sa.restricted_to_dates_of(&sb);
        let joint_b = sb.restricted_to_dates_of(&sa);
        let mut out = Vec::new();
        for (index, &date) in joint_a.dates().iter().enumerate() {
            if date < window.start || index < lookback {
                continue;
            }
            let slice = |s: &PriceSeries| {
                PriceSeries::new(
                    s.ticker(),
                    s.dates()[index - lookback..=index]
                        .iter()
                        .copied()
                        .zip(s.closes()[index - lookback..=index].iter().copied()),
                )
            };
            let aligned = AlignedReturns::new(&slice(&joint_a)?, &slice(&joint_b)?, self.calendar)?;
            out.push((
                date,
                correlation_of(&aligned, Method::Moments, EQUITY_PERIODS_PER_YEAR)?,
            ));
        }
        if out.is_empty() {
            return Err(AppError::Analytics(AnalyticsError::TooLittleOverlap {
                first: a.to_string(),
                second: b.to_string(),
                common: joint_a.len(),
                needed: lookback + 1,
            }));
        }
        Ok(out)
    }

    /// Yield history per maturity in the window, as decimals.
    pub async fn interest(
        &self,
        maturities: &[Maturity],
        window: Window,
    ) -> Result<BTreeMap<Maturity, Vec<(NaiveDate, f64)>>, AppError> {
        self.refresh_rates().await?;
        let mut out = BTreeMap::new();
        for &m in maturities {
            let rows = self.store.rates(m, window.start, window.end).await?;
            out.insert(
                m,
                rows.into_iter()
                    .map(|r| (r.date, r.percent / 100.0))
                    .collect(),
            );
        }
        Ok(out)
    }

    /// The latest date with any Treasury yield.
    pub async fn latest_rate_date(&self) -> Result<NaiveDate, AppError> {
        self.refresh_rates().await?;
        self.store
            .latest_rate_date(far_future())
            .await?
            .ok_or_else(|| AppError::NoData {
                message: "the store holds no Treasury yields".into(),
            })
    }
}
