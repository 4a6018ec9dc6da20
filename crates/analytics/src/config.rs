//! What the services need to know from the settings, and nothing else: the composition root
//! fills it from the layered settings, tests fill it directly.

use std::path::PathBuf;

use chrono::NaiveDate;
use stratus_core::{Maturity, Method};

/// The analytics defaults a request does not override.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsConfig {
    /// Default estimation method.
    pub method: Method,
    /// The Treasury tenor used as the risk-free rate.
    pub risk_free: Maturity,
    /// The market proxy ticker (CAPM beta, cost of equity).
    pub market_proxy: String,
    /// Returns in a default window.
    pub window_returns: usize,
    /// Moving-average periods, increasing.
    pub moving_average_periods: Vec<usize>,
    /// The data folder (the watchlist lives there).
    pub home: PathBuf,
    /// "Today", when pinned (tests, reproducible runs); else the UTC date.
    pub today: Option<NaiveDate>,
    /// Most tickers one request may fetch from a live provider (0 = unlimited).
    pub max_new_tickers: usize,
}
