//! Risk profiles and correlations through the analytics cache, and what is built from them
//! (covariances, scrilla's risk profile, GBM value at risk).
//!
//! Every command looks its cached results up in one batch ([`stratus_store::AnalyticsCache::cached`]),
//! loads each series at most once ([`SeriesMemo`]), and writes only what it computed — or, for
//! the market-relative figures scrilla keeps beside a profile, what changed — and nothing at all
//! to a read-only store.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use stratus_core::correlation::{
    AlignedReturns, correlation as correlation_of, correlation_matrix_on_shared_dates,
};
use stratus_core::risk;
use stratus_core::{
    AnalyticsError, EQUITY_PERIODS_PER_YEAR, Method, PriceSeries, RiskProfile, Window, estimate,
};
use stratus_store::{CorrelationKey, ProfileKey, ProfileRecord};

use crate::{Analytics, AppError};

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

/// From this many tickers on, a correlation matrix over shared dates is computed in one pass.
const BATCH_CORRELATION_MIN: usize = 10;

/// One command's view of the cache: its tickers, window and method, and the series it has
/// loaded (each at most once).
struct Batch<'a> {
    analytics: &'a Analytics,
    tickers: &'a [String],
    window: Window,
    method: Method,
    series: HashMap<String, PriceSeries>,
}

/// Every pair `(i, j)` with `i < j` of `n` tickers.
fn all_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
        .collect()
}

fn basic_record(profile: &RiskProfile) -> ProfileRecord {
    ProfileRecord {
        annual_return: profile.annual_return,
        annual_volatility: profile.annual_volatility,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    }
}

/// The symmetric matrix with ones on the diagonal and `values` at `pairs`.
fn matrix_of(n: usize, pairs: &[(usize, usize)], values: &[f64]) -> Vec<Vec<f64>> {
    let mut matrix = vec![vec![1.0; n]; n];
    for (&(i, j), &rho) in pairs.iter().zip(values) {
        matrix[i][j] = rho;
        matrix[j][i] = rho;
    }
    matrix
}

impl<'a> Batch<'a> {
    fn new(
        analytics: &'a Analytics,
        tickers: &'a [String],
        window: Window,
        method: Method,
    ) -> Self {
        Batch {
            analytics,
            tickers,
            window,
            method,
            series: HashMap::new(),
        }
    }

    /// Whether computed results are written to the cache.
    fn caches(&self) -> bool {
        !self.analytics.store.capabilities().read_only
    }

    /// The series of ticker `i`, loaded on first use.
    async fn series(&mut self, i: usize) -> Result<&PriceSeries, AppError> {
        let ticker = &self.tickers[i];
        if !self.series.contains_key(ticker) {
            let loaded = self.analytics.series(ticker, self.window).await?;
            self.series.insert(ticker.clone(), loaded);
        }
        Ok(&self.series[ticker])
    }

    /// The cache key of every ticker's profile.
    fn profile_keys(&self) -> Vec<ProfileKey> {
        self.tickers
            .iter()
            .map(|ticker| ProfileKey {
                ticker: ticker.clone(),
                start: self.window.start,
                end: self.window.end,
                method: self.method,
                weekends: false,
            })
            .collect()
    }

    /// The cache key of each pair's correlation.
    fn correlation_keys(&self, pairs: &[(usize, usize)]) -> Vec<CorrelationKey> {
        pairs
            .iter()
            .map(|&(i, j)| CorrelationKey {
                ticker_1: self.tickers[i].clone(),
                ticker_2: self.tickers[j].clone(),
                start: self.window.start,
                end: self.window.end,
                method: self.method,
                weekends: false,
            })
            .collect()
    }

    /// Every ticker's profile given what the cache held for `keys`: hits as they are, the rest
    /// computed and (when `write`) cached.
    async fn profiles(
        &mut self,
        keys: &[ProfileKey],
        hits: Vec<Option<ProfileRecord>>,
        write: bool,
    ) -> Result<Vec<RiskProfile>, AppError> {
        let n = self.tickers.len() as u64;
        let mut out = Vec::with_capacity(self.tickers.len());
        for (i, hit) in hits.into_iter().enumerate() {
            self.analytics
                .report("estimating returns and volatilities", i as u64, n);
            let profile = match hit {
                Some(record) => RiskProfile {
                    annual_return: record.annual_return,
                    annual_volatility: record.annual_volatility,
                },
                None => {
                    let (calendar, method) = (self.analytics.calendar, self.method);
                    let series = self.series(i).await?;
                    series.require(3)?;
                    let profile = estimate(
                        &series.log_returns(calendar),
                        method,
                        EQUITY_PERIODS_PER_YEAR,
                    )?;
                    if write && self.caches() {
                        self.analytics
                            .store
                            .put_profile(&keys[i], &basic_record(&profile))
                            .await?;
                    }
                    profile
                }
            };
            out.push(profile);
        }
        self.analytics
            .report("estimating returns and volatilities", n, n);
        Ok(out)
    }

    /// The correlation of each pair given what the cache held for `keys`; computed ones cached.
    async fn correlations(
        &mut self,
        pairs: &[(usize, usize)],
        keys: &[CorrelationKey],
        hits: Vec<Option<f64>>,
    ) -> Result<Vec<f64>, AppError> {
        let mut out = Vec::with_capacity(pairs.len());
        for ((&(i, j), key), hit) in pairs.iter().zip(keys).zip(hits) {
            let rho = match hit {
                _ if self.tickers[i] == self.tickers[j] => 1.0,
                Some(rho) => rho,
                None => {
                    let (calendar, method) = (self.analytics.calendar, self.method);
                    let a = self.series(i).await?.clone();
                    let b = self.series(j).await?;
                    let rho = correlation_of(
                        &AlignedReturns::new(&a, b, calendar)?,
                        method,
                        EQUITY_PERIODS_PER_YEAR,
                    )?;
                    if self.caches() {
                        self.analytics.store.put_correlation(key, rho).await?;
                    }
                    rho
                }
            };
            out.push(rho);
        }
        Ok(out)
    }

    /// Whether the matrix is computed in one pass (ten or more tickers, Pearson estimators).
    fn one_pass(&self) -> bool {
        self.tickers.len() >= BATCH_CORRELATION_MIN && self.method != Method::Percentiles
    }

    /// The one-pass matrix, when the tickers share every date.
    async fn one_pass_matrix(&mut self) -> Result<Option<Vec<Vec<f64>>>, AppError> {
        let mut series = Vec::with_capacity(self.tickers.len());
        for i in 0..self.tickers.len() {
            series.push(self.series(i).await?.clone());
        }
        if !series.iter().all(|s| s.dates() == series[0].dates()) {
            return Ok(None);
        }
        Ok(Some(correlation_matrix_on_shared_dates(
            &series,
            self.analytics.calendar,
            self.method,
            EQUITY_PERIODS_PER_YEAR,
        )?))
    }

    /// The correlation matrix: in one pass where it applies, else pair by pair with the cached
    /// values `hits` (for every pair, or `None` to look them up now).
    async fn matrix(&mut self, hits: Option<Vec<Option<f64>>>) -> Result<Vec<Vec<f64>>, AppError> {
        if self.one_pass()
            && let Some(matrix) = self.one_pass_matrix().await?
        {
            return Ok(matrix);
        }
        let pairs = all_pairs(self.tickers.len());
        let keys = self.correlation_keys(&pairs);
        let hits = match hits {
            Some(hits) => hits,
            None => self.analytics.store.cached(&[], &keys).await?.correlations,
        };
        let values = self.correlations(&pairs, &keys, hits).await?;
        Ok(matrix_of(self.tickers.len(), &pairs, &values))
    }
}

impl Analytics {
    /// The (cached) return and volatility of a checked ticker.
    pub async fn profile(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
    ) -> Result<RiskProfile, AppError> {
        Ok(self
            .profiles(&[ticker.to_string()], window, method)
            .await?
            .remove(0))
    }

    /// The (cached) returns and volatilities of checked tickers, from one cache lookup.
    pub async fn profiles(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<Vec<RiskProfile>, AppError> {
        let mut batch = Batch::new(self, tickers, window, method);
        let keys = batch.profile_keys();
        let hits = self.store.cached(&keys, &[]).await?.profiles;
        batch.profiles(&keys, hits, true).await
    }

    /// The (cached) correlation of two checked tickers.
    pub async fn correlation(
        &self,
        a: &str,
        b: &str,
        window: Window,
        method: Method,
    ) -> Result<f64, AppError> {
        let matrix = self
            .correlation_matrix(&[a.to_string(), b.to_string()], window, method)
            .await?;
        Ok(matrix[0][1])
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
        Batch::new(self, tickers, window, method).matrix(None).await
    }

    /// Profiles and the correlation matrix of checked tickers, with one cache lookup for both
    /// (the inputs of a covariance matrix and of a mean–variance portfolio).
    pub async fn profiles_and_correlations(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<(Vec<RiskProfile>, Vec<Vec<f64>>), AppError> {
        let mut batch = Batch::new(self, tickers, window, method);
        let pkeys = batch.profile_keys();
        // The pairs' cached values come with the profiles, unless the matrix takes one pass.
        let ckeys = if batch.one_pass() {
            Vec::new()
        } else {
            batch.correlation_keys(&all_pairs(tickers.len()))
        };
        let cached = self.store.cached(&pkeys, &ckeys).await?;
        let profiles = batch.profiles(&pkeys, cached.profiles, true).await?;
        self.report("estimating correlations", 0, 1);
        let hits = (!batch.one_pass()).then_some(cached.correlations);
        let matrix = batch.matrix(hits).await?;
        self.report("estimating correlations", 1, 1);
        Ok((profiles, matrix))
    }

    /// The annualised covariance matrix σ_i·σ_j·ρ_ij.
    pub async fn covariance_matrix(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<Vec<Vec<f64>>, AppError> {
        let (profiles, corr) = self
            .profiles_and_correlations(tickers, window, method)
            .await?;
        Ok(corr
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, rho)| {
                        profiles[i].annual_volatility * profiles[j].annual_volatility * rho
                    })
                    .collect()
            })
            .collect())
    }

    /// scrilla's `risk-profile`: profile, Sharpe, beta and cost of equity for each ticker.
    pub async fn risk_profiles(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<Vec<(String, FullProfile)>, AppError> {
        Ok(self
            .risk_profiles_with_rate(tickers, window, method)
            .await?
            .0)
    }

    /// [`Self::risk_profiles`] with the risk-free rate they used and its publication date.
    ///
    /// One cache lookup covers every profile and every correlation with the market; the figures
    /// scrilla keeps beside a profile are written only when they are not stored already.
    pub async fn risk_profiles_with_rate(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<(Vec<(String, FullProfile)>, (NaiveDate, f64)), AppError> {
        let (market, _) = self
            .known(&self.config.market_proxy)
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
        // The market last: pairs (i, market) for every requested ticker i.
        let names: Vec<String> = tickers.iter().cloned().chain([market.clone()]).collect();
        let market_index = tickers.len();
        let mut batch = Batch::new(self, &names, window, method);
        let pairs: Vec<(usize, usize)> = (0..market_index).map(|i| (i, market_index)).collect();
        let (pkeys, ckeys) = (batch.profile_keys(), batch.correlation_keys(&pairs));
        let cached = self.store.cached(&pkeys, &ckeys).await?;
        let stored = cached.profiles.clone();
        // The requested tickers first, so a too-short window is reported against them; their
        // records are written once below, with the market-relative figures.
        let mut profiles = batch.profiles(&pkeys, cached.profiles, false).await?;
        let market_profile = profiles.pop().ok_or_else(|| AppError::NoData {
            message: "no market profile".into(),
        })?;
        if stored[market_index].is_none() && !tickers.contains(&market) && batch.caches() {
            self.store
                .put_profile(&pkeys[market_index], &basic_record(&market_profile))
                .await?;
        }
        let (published, risk_free) = self.risk_free(window.end).await?;
        let rhos = batch
            .correlations(&pairs, &ckeys, cached.correlations)
            .await?;
        let mut out = Vec::with_capacity(tickers.len());
        for (i, (ticker, profile)) in tickers.iter().zip(profiles).enumerate() {
            let beta = risk::capm_beta(&profile, &market_profile, rhos[i]);
            let full = FullProfile {
                annual_return: profile.annual_return,
                annual_volatility: profile.annual_volatility,
                sharpe_ratio: risk::sharpe_ratio(&profile, risk_free),
                asset_beta: beta,
                equity_cost: risk::cost_of_equity(beta, &market_profile, risk_free),
            };
            // Kept for scrilla users sharing the cache; Stratus itself recomputes these.
            let record = ProfileRecord {
                annual_return: full.annual_return,
                annual_volatility: full.annual_volatility,
                sharpe_ratio: Some(full.sharpe_ratio),
                asset_beta: Some(full.asset_beta),
                equity_cost: Some(full.equity_cost),
            };
            if batch.caches() && stored[i] != Some(record) {
                self.store.put_profile(&pkeys[i], &record).await?;
            }
            out.push((ticker.clone(), full));
        }
        Ok((out, (published, risk_free)))
    }

    /// GBM value at risk and conditional value at risk of one ticker as price levels, with the
    /// spot they start from: the close on the window's last date. The series is loaded once.
    pub async fn gbm_var(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
        prob: f64,
        expiry: f64,
    ) -> Result<TailRisk, AppError> {
        let tickers = [ticker.to_string()];
        let mut batch = Batch::new(self, &tickers, window, method);
        let keys = batch.profile_keys();
        let hits = self.store.cached(&keys, &[]).await?.profiles;
        let profile = batch.profiles(&keys, hits, true).await?.remove(0);
        let (_, spot) = batch
            .series(0)
            .await?
            .last()
            .ok_or_else(|| AppError::NoData {
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
        Ok(TailRisk { spot, var, cvar })
    }
}

/// Value at risk and conditional value at risk as price levels, and the spot they start from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailRisk {
    /// The last close in the window.
    pub spot: f64,
    /// Value at risk: the price undershot with the tail probability.
    pub var: f64,
    /// Conditional value at risk: the expected price given it is below the VaR.
    pub cvar: f64,
}
