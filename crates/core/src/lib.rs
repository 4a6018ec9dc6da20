//! Stratus analytics core.
//!
//! Everything here is a pure function of its inputs: no I/O, no clock, no environment, no async.
//! That keeps the numbers reproducible and testable against independent reference values, and
//! lets every adapter (CLI, HTTP, Lambda) and every store backend share one implementation.
//! Dates that other systems take from "today" (the as-of date of a risk-free rate, the end of a
//! default window) are explicit parameters.
//!
//! The definitions follow scrilla 1.6.0 (log returns, GBM drift with the Itô term, the moments,
//! percentile and likelihood estimators) except where scrilla had a defect; each module says
//! where Stratus differs and why.

pub mod allocation;
pub mod backtest;
pub mod bivariate;
pub mod black_litterman;
pub mod calendar;
pub mod cardinality;
pub mod checked;
pub mod cluster;
pub mod constrained;
pub mod correlation;
pub mod covariance;
pub mod discrete;
pub mod dividends;
pub mod error;
pub mod estimators;
pub mod measures;
pub mod moving_average;
pub mod optimize;
pub mod portfolio_cvar;
pub mod risk;
pub mod risk_models;
pub mod series;
pub mod stats;
pub mod synthetic;
pub mod window;
pub mod yield_curve;

pub use calendar::{CalendarKind, TradingCalendar};
pub use error::AnalyticsError;
pub use estimators::{Method, RiskProfile, estimate};
pub use series::{EQUITY_PERIODS_PER_YEAR, LogReturns, PriceSeries};
pub use window::{DEFAULT_WINDOW_RETURNS, Window, resolve_window};
pub use yield_curve::Maturity;

pub use chrono::NaiveDate;
