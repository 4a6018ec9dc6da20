//! Storage for Stratus: market data (prices, Treasury rates) and the analytics cache (risk
//! profiles, correlations).
//!
//! The traits are shaped after what the cache tables guarantee, not after SQL: every read is by
//! key or by a key plus a date range, every write is an idempotent upsert of whole records, and
//! "which tickers do you hold" is the only listing. That is exactly what a DynamoDB table with a
//! hash and range key offers, so SQLite, DynamoDB and the in-memory store can all implement the
//! same contract, and the [`conformance`] suite (feature `testsuite`) holds each of them to it.
//!
//! Errors carry a [`StoreErrorKind`] so callers can branch (retry when throttled, tell the user
//! the store is down when unavailable) without parsing messages.

use async_trait::async_trait;
use chrono::NaiveDate;
use stratus_core::{Maturity, Method};

mod memory;
pub mod tables;
pub use memory::MemoryStore;

#[cfg(any(test, feature = "testsuite"))]
pub mod conformance;
#[cfg(any(test, feature = "testsuite"))]
pub mod counting;

/// What went wrong, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The thing asked for does not exist.
    NotFound,
    /// A write conflicted with existing data.
    Conflict,
    /// The backend asked us to slow down; retrying later may succeed.
    Throttled,
    /// The backend cannot be reached or opened.
    Unavailable,
    /// Stored data is malformed, or a request was invalid.
    Invalid,
    /// The store itself is damaged (a file that is not a database); it must be rebuilt.
    Corrupt,
    /// A write to a read-only store (a snapshot): the caller must write somewhere else.
    ReadOnly,
    /// Anything else.
    Internal,
}

/// A storage failure with a kind and a message that names the store and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// The kind, for branching.
    pub kind: StoreErrorKind,
    /// Human-readable description.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A new error without a source.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A new error wrapping a source.
    pub fn with_source(
        kind: StoreErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Refuses NaN and infinities before they reach a backend (SQLite would turn NaN into NULL,
/// DynamoDB rejects it): every backend calls this on every number it is asked to store.
pub fn check_finite(what: &str, value: f64) -> StoreResult<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(StoreError::new(
            StoreErrorKind::Invalid,
            format!("refusing to store a non-finite {what}: {value}"),
        ))
    }
}

/// One stored daily price.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRow {
    /// Upper-case symbol.
    pub ticker: String,
    /// Trading date.
    pub date: NaiveDate,
    /// Opening price, where the source has one.
    pub open: Option<f64>,
    /// Closing price.
    pub close: f64,
}

/// One stored Treasury yield, in **percent** as published (the cache format scrilla shares).
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    /// Tenor.
    pub maturity: Maturity,
    /// Publication date.
    pub date: NaiveDate,
    /// Yield in percent.
    pub percent: f64,
}

/// What the store holds for one ticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerSummary {
    /// Symbol.
    pub ticker: String,
    /// First date.
    pub first: NaiveDate,
    /// Last date.
    pub last: NaiveDate,
    /// Number of prices.
    pub count: u64,
}

/// Identity of a cached risk profile: scrilla's (ticker, start_date, end_date, method, weekends).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileKey {
    /// Symbol.
    pub ticker: String,
    /// Window start.
    pub start: NaiveDate,
    /// Window end.
    pub end: NaiveDate,
    /// Estimator.
    pub method: Method,
    /// scrilla's weekend flag: true only for crypto-only analyses.
    pub weekends: bool,
}

/// A cached risk profile. Sharpe ratio, beta and cost of equity are stored for scrilla users
/// reading a shared cache; Stratus recomputes them from their inputs (they depend on the
/// risk-free rate and the market proxy, which are not part of the key — scrilla defect D5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileRecord {
    /// GBM drift per year.
    pub annual_return: f64,
    /// Volatility per year.
    pub annual_volatility: f64,
    /// Sharpe ratio, if computed.
    pub sharpe_ratio: Option<f64>,
    /// CAPM beta, if computed.
    pub asset_beta: Option<f64>,
    /// CAPM cost of equity, if computed.
    pub equity_cost: Option<f64>,
}

/// Identity of a cached correlation. Lookups match either ticker order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CorrelationKey {
    /// First symbol.
    pub ticker_1: String,
    /// Second symbol.
    pub ticker_2: String,
    /// Window start.
    pub start: NaiveDate,
    /// Window end.
    pub end: NaiveDate,
    /// Estimator.
    pub method: Method,
    /// Weekend flag.
    pub weekends: bool,
}

impl CorrelationKey {
    /// The same key with the tickers swapped.
    pub fn swapped(&self) -> CorrelationKey {
        CorrelationKey {
            ticker_1: self.ticker_2.clone(),
            ticker_2: self.ticker_1.clone(),
            ..self.clone()
        }
    }
}

/// Health and size of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreStatus {
    /// Backend name and location, for messages (never credentials).
    pub description: String,
    /// Stored prices.
    pub prices: u64,
    /// Stored rates.
    pub rates: u64,
    /// Cached profiles.
    pub profiles: u64,
    /// Cached correlations (each stored once per ticker order).
    pub correlations: u64,
}

/// The version of Stratus's estimators, stamped on every cached profile and correlation a
/// backend writes. A backend serves only rows carrying this version: rows another tool wrote
/// into a shared cache (scrilla's, with its defects) or an older Stratus wrote are recomputed,
/// never trusted. Bump it whenever an estimator's numbers change.
pub const ANALYTICS_VERSION: i64 = 1;

/// Refuses price rows with a close or open that is not a finite number.
pub fn check_price_rows(rows: &[PriceRow]) -> StoreResult<()> {
    for row in rows {
        check_finite("close", row.close)?;
        if let Some(open) = row.open {
            check_finite("open", open)?;
        }
    }
    Ok(())
}

/// Refuses a replacement history that holds rows of another ticker.
pub fn check_one_ticker(ticker: &str, rows: &[PriceRow]) -> StoreResult<()> {
    match rows.iter().find(|r| r.ticker != ticker) {
        Some(other) => Err(StoreError::new(
            StoreErrorKind::Invalid,
            format!(
                "a replacement history of {ticker} holds a row of {}",
                other.ticker
            ),
        )),
        None => Ok(()),
    }
}

/// What a store can do. Callers ask this instead of which backend a store is, so a new backend
/// needs no branch anywhere but the resolver that builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Writes are refused (a snapshot): analytics are computed and not cached, and commands
    /// that write say the store is read-only.
    pub read_only: bool,
    /// Other processes and users read and write the same data (a cloud table): it is filled
    /// deliberately, never seeded behind a user's back, and emptying it needs confirmation.
    pub shared: bool,
    /// An empty store is filled from the bundled dataset on first use.
    pub seeded: bool,
}

impl Capabilities {
    /// A private, writable store seeded from the bundled data (an embedded file, memory).
    pub const LOCAL: Capabilities = Capabilities {
        read_only: false,
        shared: false,
        seeded: true,
    };
    /// A writable store shared with other processes, filled deliberately (a cloud table).
    pub const SHARED: Capabilities = Capabilities {
        read_only: false,
        shared: true,
        seeded: false,
    };
    /// A snapshot: read, never written.
    pub const READ_ONLY: Capabilities = Capabilities {
        read_only: true,
        shared: false,
        seeded: false,
    };
}

/// The first and last stored dates of a ticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First date with a price.
    pub first: NaiveDate,
    /// Last date with a price.
    pub last: NaiveDate,
}

/// Daily prices by ticker and date.
#[async_trait]
pub trait PriceStore: Send + Sync {
    /// Inserts or replaces rows (keyed on ticker and date); returns how many were written.
    /// All rows are written or none.
    async fn put_prices(&self, rows: &[PriceRow]) -> StoreResult<usize>;
    /// Makes `rows` (all for `ticker`) the whole price history of `ticker`: every other stored
    /// date of it is deleted. Returns how many rows were written.
    async fn replace_prices(&self, ticker: &str, rows: &[PriceRow]) -> StoreResult<usize>;
    /// Prices of `ticker` dated in `[start, end]`, ascending.
    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>>;
    /// The dates and closes of `ticker` in `[start, end]`, ascending — all the analytics read,
    /// and the read a long backtest repeats for every ticker. The default projects
    /// [`Self::prices`]; a backend that can read less (no open, no ticker per row) overrides it.
    async fn closes(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, f64)>> {
        Ok(self
            .prices(ticker, start, end)
            .await?
            .into_iter()
            .map(|row| (row.date, row.close))
            .collect())
    }
    /// Every ticker held, sorted by symbol.
    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>>;
    /// The last date with a price for `ticker`, or `None` if the ticker is unknown.
    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>>;
    /// The first date with a price for `ticker`, or `None` if the ticker is unknown.
    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>>;
    /// Whether any price is stored at all.
    async fn has_prices(&self) -> StoreResult<bool>;
    /// The stored date range of each ticker (`None` for a ticker without prices), in the order
    /// asked. Backends answer in one round trip where they can.
    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        let mut out = Vec::with_capacity(tickers.len());
        for ticker in tickers {
            let last = self.latest_price_date(ticker).await?;
            let first = match last {
                Some(_) => self.first_price_date(ticker).await?,
                None => None,
            };
            out.push(
                first
                    .zip(last)
                    .map(|(first, last)| DateRange { first, last }),
            );
        }
        Ok(out)
    }
}

/// One day's Treasury publication: its date and the yields it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// Publication date.
    pub date: NaiveDate,
    /// Yields published that day: every tenor asked for that was published, and every other
    /// tenor of that day whenever one asked for is missing (a curve must be interpolated).
    pub rows: Vec<RateRow>,
}

/// Treasury yields by maturity and date.
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Inserts or replaces rows (keyed on maturity and date). All or none.
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize>;
    /// Yields of one maturity dated in `[start, end]`, ascending.
    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>>;
    /// The latest date on or before `date` with any published yield, if there is one.
    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>>;
    /// The latest publication on or before `date`, holding at least the `wanted` tenors it
    /// published (see [`Publication::rows`]); `None` before the first publication.
    async fn publication(
        &self,
        on_or_before: NaiveDate,
        wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        let _ = wanted;
        let Some(date) = self.latest_rate_date(on_or_before).await? else {
            return Ok(None);
        };
        let mut rows = Vec::new();
        for maturity in Maturity::ALL {
            rows.extend(self.rates(maturity, date, date).await?);
        }
        Ok(Some(Publication { date, rows }))
    }
}

/// Cached results found for a batch of keys, in the order asked (`None`: not cached).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cached {
    /// One entry per profile key.
    pub profiles: Vec<Option<ProfileRecord>>,
    /// One entry per correlation key.
    pub correlations: Vec<Option<f64>>,
}

/// Cached analytics results.
#[async_trait]
pub trait AnalyticsCache: Send + Sync {
    /// The cached profile with exactly this identity.
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>>;
    /// Stores a profile, replacing one with the same identity.
    async fn put_profile(&self, key: &ProfileKey, record: &ProfileRecord) -> StoreResult<()>;
    /// The cached correlation with this identity, in either ticker order.
    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>>;
    /// Stores a correlation under both ticker orders, idempotently.
    async fn put_correlation(&self, key: &CorrelationKey, value: f64) -> StoreResult<()>;
    /// Every cached profile (for migration between backends).
    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>>;
    /// Every cached correlation, once per stored ticker order (for migration).
    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>>;
    /// Drops cached results that involve `ticker` (its prices changed).
    async fn invalidate_ticker(&self, ticker: &str) -> StoreResult<()>;
    /// Drops every cached profile and correlation.
    async fn clear_analytics(&self) -> StoreResult<()>;
    /// Looks up many profiles and correlations at once (backends answer in as few round trips
    /// as they can); the same answers as [`Self::profile`] and [`Self::correlation`] one by one.
    async fn cached(
        &self,
        profiles: &[ProfileKey],
        correlations: &[CorrelationKey],
    ) -> StoreResult<Cached> {
        let mut out = Cached::default();
        for key in profiles {
            out.profiles.push(self.profile(key).await?);
        }
        for key in correlations {
            out.correlations.push(self.correlation(key).await?);
        }
        Ok(out)
    }
}

/// A complete store: market data, cache, and housekeeping.
#[async_trait]
pub trait Store: PriceStore + RateStore + AnalyticsCache {
    /// What this store can do.
    fn capabilities(&self) -> Capabilities;
    /// The backend's short name (`sqlite`, `dynamodb`), for messages only — never branched on.
    fn backend(&self) -> &'static str;
    /// Reachability and exact sizes (may read every item).
    async fn status(&self) -> StoreResult<StoreStatus>;
    /// Sizes as the backend keeps them without reading the data (DynamoDB's item counts are
    /// refreshed about every six hours); the exact ones where counting is cheap.
    async fn estimated_status(&self) -> StoreResult<StoreStatus> {
        self.status().await
    }
    /// Empties everything, market data included.
    async fn clear_all(&self) -> StoreResult<()>;
}
