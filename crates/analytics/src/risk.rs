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

/// The series one command has loaded, by ticker (all over the same window).
#[derive(Default)]
pub(crate) struct SeriesMemo(HashMap<String, PriceSeries>);

impl SeriesMemo {
    /// The series of `ticker` over `window`, loaded on first use.
    pub(crate) async fn get<'a>(
        &'a mut self,
        analytics: &Analytics,
        ticker: &str,
        window: Window,
    ) -> Result<&'a PriceSeries, AppError> {
        if !self.0.contains_key(ticker) {
            let series = analytics.series(ticker, window).await?;
            self.0.insert(ticker.to_string(), series);
        }
        Ok(&self.0[ticker])
    }
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

fn correlation_key(a: &str, b: &str, window: Window, method: Method) -> CorrelationKey {
    CorrelationKey {
        ticker_1: a.to_string(),
        ticker_2: b.to_string(),
        start: window.start,
        end: window.end,
        method,
        weekends: false,
    }
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

fn from_record(record: &ProfileRecord) -> RiskProfile {
    RiskProfile {
        annual_return: record.annual_return,
        annual_volatility: record.annual_volatility,
    }
}

/// Every pair `(i, j)` with `i < j` of `n` tickers.
fn pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
        .collect()
}

impl Analytics {
    /// Whether computed results are written to the cache.
    fn caches(&self) -> bool {
        !self.store.capabilities().read_only
    }

    fn estimate_series(
        &self,
        series: &PriceSeries,
        method: Method,
    ) -> Result<RiskProfile, AppError> {
        series.require(3)?;
        Ok(estimate(
            &series.log_returns(self.calendar),
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?)
    }

    fn correlate(&self, a: &PriceSeries, b: &PriceSeries, method: Method) -> Result<f64, AppError> {
        Ok(correlation_of(
            &AlignedReturns::new(a, b, self.calendar)?,
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?)
    }

    /// The (cached) return and volatility of a checked ticker.
    pub async fn profile(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
    ) -> Result<RiskProfile, AppError> {
        let mut memo = SeriesMemo::default();
        self.profile_with(ticker, window, method, &mut memo).await
    }

    async fn profile_with(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
        memo: &mut SeriesMemo,
    ) -> Result<RiskProfile, AppError> {
        let tickers = [ticker.to_string()];
        let keys = [profile_key(ticker, window, method)];
        let hits = self.store.cached(&keys, &[]).await?.profiles;
        let mut profiles = self
            .fill_profiles(&tickers, &keys, hits, window, method, memo, true)
            .await?;
        Ok(profiles.remove(0))
    }

    /// Profiles of `tickers` given what the cache held for `keys`: hits as they are, the rest
    /// computed and (when `write`) cached.
    #[allow(clippy::too_many_arguments)]
    async fn fill_profiles(
        &self,
        tickers: &[String],
        keys: &[ProfileKey],
        hits: Vec<Option<ProfileRecord>>,
        window: Window,
        method: Method,
        memo: &mut SeriesMemo,
        write: bool,
    ) -> Result<Vec<RiskProfile>, AppError> {
        let n = tickers.len() as u64;
        let mut out = Vec::with_capacity(tickers.len());
        for (i, (ticker, hit)) in tickers.iter().zip(hits).enumerate() {
            self.report("estimating returns and volatilities", i as u64, n);
            let profile = match hit {
                Some(record) => from_record(&record),
                None => {
                    let series = memo.get(self, ticker, window).await?;
                    let profile = self.estimate_series(series, method)?;
                    if write && self.caches() {
                        self.store
                            .put_profile(&keys[i], &basic_record(&profile))
                            .await?;
                    }
                    profile
                }
            };
            out.push(profile);
        }
        self.report("estimating returns and volatilities", n, n);
        Ok(out)
    }

    /// Correlations of the `pairs` of `tickers` given what the cache held for `keys`.
    #[allow(clippy::too_many_arguments)]
    async fn fill_correlations(
        &self,
        tickers: &[String],
        pairs: &[(usize, usize)],
        keys: &[CorrelationKey],
        hits: Vec<Option<f64>>,
        window: Window,
        method: Method,
        memo: &mut SeriesMemo,
    ) -> Result<Vec<f64>, AppError> {
        let mut out = Vec::with_capacity(pairs.len());
        for ((&(i, j), key), hit) in pairs.iter().zip(keys).zip(hits) {
            let rho = match hit {
                _ if tickers[i] == tickers[j] => 1.0,
                Some(rho) => rho,
                None => {
                    let a = memo.get(self, &tickers[i], window).await?.clone();
                    let b = memo.get(self, &tickers[j], window).await?;
                    let rho = self.correlate(&a, b, method)?;
                    if self.caches() {
                        self.store.put_correlation(key, rho).await?;
                    }
                    rho
                }
            };
            out.push(rho);
        }
        Ok(out)
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
        let mut memo = SeriesMemo::default();
        if let Some(matrix) = self
            .batch_matrix(tickers, window, method, &mut memo)
            .await?
        {
            return Ok(matrix);
        }
        let pairs = pairs(tickers.len());
        let keys: Vec<CorrelationKey> = pairs
            .iter()
            .map(|&(i, j)| correlation_key(&tickers[i], &tickers[j], window, method))
            .collect();
        let hits = self.store.cached(&[], &keys).await?.correlations;
        let values = self
            .fill_correlations(tickers, &pairs, &keys, hits, window, method, &mut memo)
            .await?;
        Ok(matrix_of(tickers.len(), &pairs, &values))
    }

    /// The one-pass matrix, when it applies.
    async fn batch_matrix(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
        memo: &mut SeriesMemo,
    ) -> Result<Option<Vec<Vec<f64>>>, AppError> {
        if tickers.len() < BATCH_CORRELATION_MIN || method == Method::Percentiles {
            return Ok(None);
        }
        let mut series = Vec::with_capacity(tickers.len());
        for t in tickers {
            series.push(memo.get(self, t, window).await?.clone());
        }
        if !series.iter().all(|s| s.dates() == series[0].dates()) {
            return Ok(None);
        }
        Ok(Some(correlation_matrix_on_shared_dates(
            &series,
            self.calendar,
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?))
    }

    /// Profiles and the correlation matrix of checked tickers, with one cache lookup for both
    /// (the inputs of a covariance matrix and of a mean–variance portfolio).
    pub async fn profiles_and_correlations(
        &self,
        tickers: &[String],
        window: Window,
        method: Method,
    ) -> Result<(Vec<RiskProfile>, Vec<Vec<f64>>), AppError> {
        let mut memo = SeriesMemo::default();
        let one_pass = tickers.len() >= BATCH_CORRELATION_MIN && method != Method::Percentiles;
        let pairs = if one_pass {
            Vec::new()
        } else {
            pairs(tickers.len())
        };
        let pkeys: Vec<ProfileKey> = tickers
            .iter()
            .map(|t| profile_key(t, window, method))
            .collect();
        let ckeys: Vec<CorrelationKey> = pairs
            .iter()
            .map(|&(i, j)| correlation_key(&tickers[i], &tickers[j], window, method))
            .collect();
        let cached = self.store.cached(&pkeys, &ckeys).await?;
        let profiles = self
            .fill_profiles(
                tickers,
                &pkeys,
                cached.profiles,
                window,
                method,
                &mut memo,
                true,
            )
            .await?;
        self.report("estimating correlations", 0, 1);
        let matrix = match self
            .batch_matrix(tickers, window, method, &mut memo)
            .await?
        {
            Some(matrix) => matrix,
            None if one_pass => {
                // Not on shared dates after all: pair by pair.
                self.correlation_matrix(tickers, window, method).await?
            }
            None => {
                let values = self
                    .fill_correlations(
                        tickers,
                        &pairs,
                        &ckeys,
                        cached.correlations,
                        window,
                        method,
                        &mut memo,
                    )
                    .await?;
                matrix_of(tickers.len(), &pairs, &values)
            }
        };
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
        let mut names = tickers.to_vec();
        names.push(market.clone());
        let pkeys: Vec<ProfileKey> = names
            .iter()
            .map(|t| profile_key(t, window, method))
            .collect();
        let ckeys: Vec<CorrelationKey> = tickers
            .iter()
            .map(|t| correlation_key(t, &market, window, method))
            .collect();
        let cached = self.store.cached(&pkeys, &ckeys).await?;
        let stored: Vec<Option<ProfileRecord>> = cached.profiles.clone();
        let mut memo = SeriesMemo::default();
        // The requested tickers first, so a too-short window is reported against them; their
        // records are written once below, with the market-relative figures.
        let mut profiles = self
            .fill_profiles(
                &names,
                &pkeys,
                cached.profiles,
                window,
                method,
                &mut memo,
                false,
            )
            .await?;
        let market_profile = profiles.pop().ok_or_else(|| AppError::NoData {
            message: "no market profile".into(),
        })?;
        let market_index = tickers.len();
        if stored[market_index].is_none() && !tickers.contains(&market) && self.caches() {
            self.store
                .put_profile(&pkeys[market_index], &basic_record(&market_profile))
                .await?;
        }
        let (published, risk_free) = self.risk_free(window.end).await?;
        let pairs: Vec<(usize, usize)> = (0..tickers.len()).map(|i| (i, market_index)).collect();
        let rhos = self
            .fill_correlations(
                &names,
                &pairs,
                &ckeys,
                cached.correlations,
                window,
                method,
                &mut memo,
            )
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
            if self.caches() && stored[i] != Some(record) {
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
        let mut memo = SeriesMemo::default();
        let profile = self.profile_with(ticker, window, method, &mut memo).await?;
        let (_, spot) = memo
            .get(self, ticker, window)
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

/// The symmetric matrix with ones on the diagonal and `values` at `pairs`.
fn matrix_of(n: usize, pairs: &[(usize, usize)], values: &[f64]) -> Vec<Vec<f64>> {
    let mut matrix = vec![vec![1.0; n]; n];
    for (&(i, j), &rho) in pairs.iter().zip(values) {
        matrix[i][j] = rho;
        matrix[j][i] = rho;
    }
    matrix
}
