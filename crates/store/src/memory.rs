//! An in-memory store: the reference implementation of the contract, and a fast store for tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::NaiveDate;
use stratus_core::Maturity;

use crate::{
    AnalyticsCache, Capabilities, CorrelationKey, PriceRow, PriceStore, ProfileKey, ProfileRecord,
    RateRow, RateStore, Store, StoreError, StoreErrorKind, StoreResult, StoreStatus, TickerSummary,
    check_finite, check_one_ticker,
};

#[derive(Default)]
struct Tables {
    prices: BTreeMap<String, BTreeMap<NaiveDate, (Option<f64>, f64)>>,
    rates: BTreeMap<Maturity, BTreeMap<NaiveDate, f64>>,
    profiles: HashMap<ProfileKey, ProfileRecord>,
    correlations: HashMap<CorrelationKey, f64>,
}

/// A store held in process memory.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    outage: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates an outage: while `down`, every call fails with
    /// [`StoreErrorKind::Unavailable`], as a remote store does when it cannot be reached (for
    /// testing how adapters report a store that is down).
    pub fn set_unavailable(&self, down: bool) {
        self.outage.store(down, Ordering::SeqCst);
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Tables>> {
        if self.outage.load(Ordering::SeqCst) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "the in-memory store is marked unavailable",
            ));
        }
        self.tables.lock().map_err(|_| {
            StoreError::new(
                StoreErrorKind::Internal,
                "in-memory store poisoned by a panic",
            )
        })
    }
}

#[async_trait]
impl PriceStore for MemoryStore {
    async fn put_prices(&self, rows: &[PriceRow]) -> StoreResult<usize> {
        crate::check_price_rows(rows)?;
        let mut tables = self.lock()?;
        for row in rows {
            tables
                .prices
                .entry(row.ticker.clone())
                .or_default()
                .insert(row.date, (row.open, row.close));
        }
        Ok(rows.len())
    }

    async fn replace_prices(&self, ticker: &str, rows: &[PriceRow]) -> StoreResult<usize> {
        check_one_ticker(ticker, rows)?;
        crate::check_price_rows(rows)?;
        self.lock()?.prices.remove(ticker);
        self.put_prices(rows).await
    }

    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>> {
        let tables = self.lock()?;
        let Some(series) = tables.prices.get(ticker) else {
            return Ok(Vec::new());
        };
        if start > end {
            return Ok(Vec::new());
        }
        Ok(series
            .range(start..=end)
            .map(|(date, (open, close))| PriceRow {
                ticker: ticker.to_string(),
                date: *date,
                open: *open,
                close: *close,
            })
            .collect())
    }

    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        let tables = self.lock()?;
        Ok(tables
            .prices
            .iter()
            .filter_map(|(ticker, series)| {
                Some(TickerSummary {
                    ticker: ticker.clone(),
                    first: *series.keys().next()?,
                    last: *series.keys().next_back()?,
                    count: series.len() as u64,
                })
            })
            .collect())
    }

    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        Ok(self
            .lock()?
            .prices
            .get(ticker)
            .and_then(|s| s.keys().next_back().copied()))
    }

    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        Ok(self
            .lock()?
            .prices
            .get(ticker)
            .and_then(|s| s.keys().next().copied()))
    }

    async fn has_prices(&self) -> StoreResult<bool> {
        Ok(self.lock()?.prices.values().any(|s| !s.is_empty()))
    }
}

#[async_trait]
impl RateStore for MemoryStore {
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize> {
        for row in rows {
            check_finite("yield", row.percent)?;
        }
        let mut tables = self.lock()?;
        for row in rows {
            tables
                .rates
                .entry(row.maturity)
                .or_default()
                .insert(row.date, row.percent);
        }
        Ok(rows.len())
    }

    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        let tables = self.lock()?;
        let Some(series) = tables.rates.get(&maturity) else {
            return Ok(Vec::new());
        };
        if start > end {
            return Ok(Vec::new());
        }
        Ok(series
            .range(start..=end)
            .map(|(date, percent)| RateRow {
                maturity,
                date: *date,
                percent: *percent,
            })
            .collect())
    }

    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        let tables = self.lock()?;
        Ok(tables
            .rates
            .values()
            .filter_map(|s| s.range(..=on_or_before).next_back().map(|(d, _)| *d))
            .max())
    }
}

#[async_trait]
impl AnalyticsCache for MemoryStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        Ok(self.lock()?.profiles.get(key).copied())
    }

    async fn put_profile(&self, key: &ProfileKey, record: &ProfileRecord) -> StoreResult<()> {
        check_finite("annual return", record.annual_return)?;
        check_finite("annual volatility", record.annual_volatility)?;
        self.lock()?.profiles.insert(key.clone(), *record);
        Ok(())
    }

    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        let tables = self.lock()?;
        Ok(tables
            .correlations
            .get(key)
            .or_else(|| tables.correlations.get(&key.swapped()))
            .copied())
    }

    async fn put_correlation(&self, key: &CorrelationKey, value: f64) -> StoreResult<()> {
        check_finite("correlation", value)?;
        let mut tables = self.lock()?;
        tables.correlations.insert(key.clone(), value);
        tables.correlations.insert(key.swapped(), value);
        Ok(())
    }

    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        Ok(self
            .lock()?
            .profiles
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }

    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>> {
        Ok(self
            .lock()?
            .correlations
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }

    async fn invalidate_ticker(&self, ticker: &str) -> StoreResult<()> {
        let mut tables = self.lock()?;
        tables.profiles.retain(|k, _| k.ticker != ticker);
        tables
            .correlations
            .retain(|k, _| k.ticker_1 != ticker && k.ticker_2 != ticker);
        Ok(())
    }

    async fn clear_analytics(&self) -> StoreResult<()> {
        let mut tables = self.lock()?;
        tables.profiles.clear();
        tables.correlations.clear();
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::LOCAL
    }

    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn status(&self) -> StoreResult<StoreStatus> {
        let tables = self.lock()?;
        Ok(StoreStatus {
            description: "in-memory store".into(),
            prices: tables.prices.values().map(|s| s.len() as u64).sum(),
            rates: tables.rates.values().map(|s| s.len() as u64).sum(),
            profiles: tables.profiles.len() as u64,
            correlations: tables.correlations.len() as u64,
        })
    }

    async fn clear_all(&self) -> StoreResult<()> {
        *self.lock()? = Tables::default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    crate::conformance_tests!(crate::MemoryStore::new());
}
