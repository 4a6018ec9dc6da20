//! A store that counts the calls made to it, by operation, and passes them on: how tests hold
//! the request path to a budget on any backend (a call is a round trip on a networked store).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use stratus_core::Maturity;

use crate::tables::TableKind;
use crate::{
    AnalyticsCache, Cached, Capabilities, CorrelationKey, DateRange, PriceRow, PriceStore,
    ProfileKey, ProfileRecord, Publication, RateRow, RateStore, Store, StoreResult, StoreStatus,
    TickerSummary,
};

/// Operations that change what a store holds.
pub const WRITES: &[&str] = &[
    "put_prices",
    "replace_prices",
    "put_rates",
    "put_profile",
    "put_correlation",
    "invalidate_ticker",
    "clear_analytics",
    "clear_all",
];

/// The tables an operation reads or (`true`) writes, on a store with tables: what a deployment's
/// least-privilege policy must allow for a piece of code whose operations were counted.
pub fn tables_of(operation: &str) -> Vec<(TableKind, bool)> {
    use TableKind::{Correlations, Interest, Prices, Profile};
    let (kinds, write): (&[TableKind], bool) = match operation {
        "put_prices" | "replace_prices" => (&[Prices], true),
        "prices" | "closes" | "tickers" | "latest_price_date" | "first_price_date"
        | "has_prices" | "date_ranges" => (&[Prices], false),
        "put_rates" => (&[Interest], true),
        "rates" | "latest_rate_date" | "publication" => (&[Interest], false),
        "profile" | "all_profiles" => (&[Profile], false),
        "put_profile" => (&[Profile], true),
        "correlation" | "all_correlations" => (&[Correlations], false),
        "put_correlation" => (&[Correlations], true),
        "cached" => (&[Profile, Correlations], false),
        "invalidate_ticker" | "clear_analytics" => (&[Profile, Correlations], true),
        "status" | "estimated_status" => (&TableKind::ALL, false),
        "clear_all" => (&TableKind::ALL, true),
        _ => (&TableKind::ALL, true),
    };
    kinds.iter().map(|k| (*k, write)).collect()
}

/// Counts every call to `inner`.
pub struct Counting {
    inner: Arc<dyn Store>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counting {
    /// Counts calls to `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Counting {
            inner,
            counts: Mutex::default(),
        }
    }

    fn count(&self, operation: &'static str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(operation).or_default() += 1;
        }
    }

    /// The calls since the last `take`, by operation, and starts counting afresh.
    pub fn take(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .map(|mut counts| std::mem::take(&mut *counts))
            .unwrap_or_default()
    }
}

#[async_trait]
impl PriceStore for Counting {
    async fn put_prices(&self, rows: &[PriceRow]) -> StoreResult<usize> {
        self.count("put_prices");
        self.inner.put_prices(rows).await
    }
    async fn replace_prices(&self, ticker: &str, rows: &[PriceRow]) -> StoreResult<usize> {
        self.count("replace_prices");
        self.inner.replace_prices(ticker, rows).await
    }
    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>> {
        self.count("prices");
        self.inner.prices(ticker, start, end).await
    }
    async fn closes(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, f64)>> {
        self.count("closes");
        self.inner.closes(ticker, start, end).await
    }
    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        self.count("tickers");
        self.inner.tickers().await
    }
    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.count("latest_price_date");
        self.inner.latest_price_date(ticker).await
    }
    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.count("first_price_date");
        self.inner.first_price_date(ticker).await
    }
    async fn has_prices(&self) -> StoreResult<bool> {
        self.count("has_prices");
        self.inner.has_prices().await
    }
    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        self.count("date_ranges");
        self.inner.date_ranges(tickers).await
    }
}

#[async_trait]
impl RateStore for Counting {
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize> {
        self.count("put_rates");
        self.inner.put_rates(rows).await
    }
    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        self.count("rates");
        self.inner.rates(maturity, start, end).await
    }
    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        self.count("latest_rate_date");
        self.inner.latest_rate_date(on_or_before).await
    }
    async fn publication(
        &self,
        on_or_before: NaiveDate,
        wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        self.count("publication");
        self.inner.publication(on_or_before, wanted).await
    }
}

#[async_trait]
impl AnalyticsCache for Counting {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        self.count("profile");
        self.inner.profile(key).await
    }
    async fn put_profile(&self, key: &ProfileKey, record: &ProfileRecord) -> StoreResult<()> {
        self.count("put_profile");
        self.inner.put_profile(key, record).await
    }
    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        self.count("correlation");
        self.inner.correlation(key).await
    }
    async fn put_correlation(&self, key: &CorrelationKey, value: f64) -> StoreResult<()> {
        self.count("put_correlation");
        self.inner.put_correlation(key, value).await
    }
    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        self.count("all_profiles");
        self.inner.all_profiles().await
    }
    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>> {
        self.count("all_correlations");
        self.inner.all_correlations().await
    }
    async fn invalidate_ticker(&self, ticker: &str) -> StoreResult<()> {
        self.count("invalidate_ticker");
        self.inner.invalidate_ticker(ticker).await
    }
    async fn clear_analytics(&self) -> StoreResult<()> {
        self.count("clear_analytics");
        self.inner.clear_analytics().await
    }
    async fn cached(
        &self,
        profiles: &[ProfileKey],
        correlations: &[CorrelationKey],
    ) -> StoreResult<Cached> {
        self.count("cached");
        self.inner.cached(profiles, correlations).await
    }
}

#[async_trait]
impl Store for Counting {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn status(&self) -> StoreResult<StoreStatus> {
        self.count("status");
        self.inner.status().await
    }
    async fn estimated_status(&self) -> StoreResult<StoreStatus> {
        self.count("estimated_status");
        self.inner.estimated_status().await
    }
    async fn clear_all(&self) -> StoreResult<()> {
        self.count("clear_all");
        self.inner.clear_all().await
    }
}
