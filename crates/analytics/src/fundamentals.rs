//! Services that need live data: dividends and the dividend discount model, the watchlist and
//! its screen, and economic series (FRED). Dividends and series are not cached, as in scrilla:
//! they are small, change rarely and are asked for rarely.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use stratus_core::dividends::{DividendModel, discount_dividend_model};
use stratus_core::{Method, Window};
use stratus_providers::{Dividend, Observation, normalise_ticker};

use crate::{Analytics, AppError};

/// One watchlist ticker judged by the dividend discount model.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenRow {
    /// Ticker.
    pub ticker: String,
    /// Model value per share.
    pub model_value: f64,
    /// Latest close.
    pub price: f64,
    /// Date of that close.
    pub price_date: NaiveDate,
    /// `model_value − price`.
    pub discount: f64,
    /// Discount rate used.
    pub rate: f64,
}

/// A watchlist ticker the screen could not value (no dividends, too few payments…).
#[derive(Debug, Clone, Serialize)]
pub struct ScreenSkip {
    /// Ticker.
    pub ticker: String,
    /// Why.
    pub reason: String,
}

impl Analytics {
    /// Dividend history of a ticker, ascending.
    pub async fn dividends(&self, ticker: &str) -> Result<Vec<Dividend>, AppError> {
        let ticker = normalise_ticker(ticker).ok_or_else(|| AppError::NoData {
            message: format!("{ticker:?} is not a ticker symbol (letters, digits and .-^= only)"),
        })?;
        Ok(self.providers().dividends.dividends(&ticker).await?)
    }

    /// The dividend discount model of a ticker. The rate is `discount`, or the CAPM cost of
    /// equity over the default window with `method` (scrilla's rule).
    pub async fn dividend_model(
        &self,
        ticker: &str,
        discount: Option<f64>,
        method: Method,
    ) -> Result<DividendModel, AppError> {
        let payments = self.dividends(ticker).await?;
        self.model_of(ticker, &payments, discount, method).await
    }

    /// The dividend discount model over payments already fetched.
    pub async fn model_of(
        &self,
        ticker: &str,
        payments: &[Dividend],
        discount: Option<f64>,
        method: Method,
    ) -> Result<DividendModel, AppError> {
        let ticker = payments
            .first()
            .map_or_else(|| ticker.to_ascii_uppercase(), |d| d.ticker.clone());
        let rate = match discount {
            Some(r) => r,
            None => self.cost_of_equity(&ticker, method).await?,
        };
        let history: Vec<(NaiveDate, f64)> = payments.iter().map(|d| (d.date, d.amount)).collect();
        Ok(discount_dividend_model(
            &ticker,
            &history,
            self.today(),
            rate,
        )?)
    }

    async fn cost_of_equity(&self, ticker: &str, method: Method) -> Result<f64, AppError> {
        let (tickers, window) = self.window(&[ticker.to_string()], None, None).await?;
        let profiles = self.risk_profiles(&tickers, window, method).await?;
        Ok(profiles[0].1.equity_cost)
    }

    /// Values every watchlist ticker; returns those whose model value exceeds the latest close
    /// (sorted by discount, largest first), all valued rows, and the tickers that could not be
    /// valued.
    pub async fn screen(
        &self,
        discount: Option<f64>,
        method: Method,
    ) -> Result<(Vec<ScreenRow>, Vec<ScreenSkip>), AppError> {
        let watchlist = load_watchlist(&self.config().home)?;
        if watchlist.is_empty() {
            return Err(AppError::NoData {
                message: "the watchlist is empty; add tickers with `stratus watch TICKER…`".into(),
            });
        }
        let mut rows = Vec::new();
        let mut skipped = Vec::new();
        for ticker in &watchlist {
            let valued = async {
                let model = self.dividend_model(ticker, discount, method).await?;
                let (tickers, window) = self
                    .window(std::slice::from_ref(ticker), None, None)
                    .await?;
                let last = self.series(&tickers[0], window).await?.last();
                let (price_date, price) = last.ok_or_else(|| AppError::NoData {
                    message: format!("no price for {ticker}"),
                })?;
                Ok::<_, AppError>(ScreenRow {
                    ticker: tickers[0].clone(),
                    model_value: model.npv,
                    price,
                    price_date,
                    discount: model.npv - price,
                    rate: model.rate,
                })
            }
            .await;
            match valued {
                Ok(row) => rows.push(row),
                // A store or configuration failure is not about this ticker: stop.
                Err(e @ (AppError::Store(_) | AppError::Setup { .. })) => return Err(e),
                Err(e) => skipped.push(ScreenSkip {
                    ticker: ticker.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        rows.sort_by(|a, b| b.discount.total_cmp(&a.discount));
        Ok((rows, skipped))
    }

    /// Observations of economic series (FRED) in `[start, end]`.
    pub async fn economic_series(
        &self,
        codes: &[String],
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<(String, Vec<Observation>)>, AppError> {
        if start > end {
            return Err(stratus_core::AnalyticsError::EmptyWindow {
                start,
                end_what: "end",
                end,
                fix: "swap --start and --end",
            }
            .into());
        }
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            let observations = self.providers().stats.series(code, start, end).await?;
            let name = observations
                .first()
                .map_or_else(|| code.to_ascii_uppercase(), |o| o.series.clone());
            out.push((name, observations));
        }
        Ok(out)
    }

    /// The window `stats` uses without dates: the last year up to today.
    pub fn default_series_window(&self) -> Window {
        let end = self.today();
        Window {
            start: end - chrono::Duration::days(365),
            end,
        }
    }

    /// Adds tickers to the watchlist after checking each has prices (fetching them with a live
    /// provider). Returns the whole list.
    pub async fn watch(&self, tickers: &[String]) -> Result<Vec<String>, AppError> {
        let (checked, _) = self.window(tickers, None, None).await?;
        let home = &self.config().home;
        let mut list = load_watchlist(home)?;
        list.extend(checked);
        list.sort();
        list.dedup();
        save_watchlist(home, &list)?;
        Ok(list)
    }

    /// The watchlist.
    pub fn watchlist(&self) -> Result<Vec<String>, AppError> {
        load_watchlist(&self.config().home)
    }
}

fn watchlist_path(home: &Path) -> PathBuf {
    home.join("watchlist.json")
}

/// Reads the watchlist (`$STRATUS_HOME/watchlist.json`, a JSON array); absent means empty.
pub fn load_watchlist(home: &Path) -> Result<Vec<String>, AppError> {
    let path = watchlist_path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(AppError::Setup {
                message: format!("cannot read {}: {e}", path.display()),
            });
        }
    };
    serde_json::from_str(&text).map_err(|e| AppError::Setup {
        message: format!(
            "{} is not a JSON array of tickers ({e}); fix or delete it",
            path.display()
        ),
    })
}

/// Writes the watchlist whole (temporary file, then rename), so a crash never leaves half a list.
fn save_watchlist(home: &Path, list: &[String]) -> Result<(), AppError> {
    let path = watchlist_path(home);
    let setup = |e: std::io::Error| AppError::Setup {
        message: format!("cannot write {}: {e}", path.display()),
    };
    std::fs::create_dir_all(home).map_err(setup)?;
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(list).unwrap_or_else(|_| "[]".into());
    std::fs::write(&tmp, text).map_err(setup)?;
    std::fs::rename(&tmp, &path).map_err(setup)
}
