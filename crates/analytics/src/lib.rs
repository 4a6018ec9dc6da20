//! The analytics services every adapter (CLI, HTTP, Lambda) calls: where storage meets the pure
//! core.
//!
//! [`Analytics`] resolves windows against the data the store holds, loads price series, consults
//! and fills the profile and correlation cache, and looks up the risk-free rate **as of the
//! window's end** (scrilla used today's rate for every window, defect D5). It is built from a
//! store, a set of providers and an [`AnalyticsConfig`] — never from the whole settings — so it
//! knows nothing of which backend or which settings file it runs with; it asks the store what it
//! can do ([`stratus_store::Capabilities`]).
//!
//! The request path is kept lean because every store read may be a network round trip (a
//! DynamoDB request): tickers are checked with one date-range lookup, cached results for a whole
//! command are fetched in one batch, the risk-free rate is one lookup, a series is loaded once
//! per command, and reads write only what they computed.

pub mod allocation;
pub mod backtest;
pub mod black_litterman;
pub mod config;
mod cvar;
pub mod error;
pub mod fundamentals;
mod history;
pub mod import;
mod invest;
pub mod live;
pub mod measures;
pub mod portfolio;
mod qp;
mod rates;
mod risk;
pub mod service;

pub use allocation::{AllocationMethod, CovarianceReport};
pub use black_litterman::BlackLittermanSpec;
pub use config::AnalyticsConfig;
pub use error::{AppError, ErrorClass, checked_ticker, quoted};
pub use import::ImportOutcome;
pub use live::Providers;
pub use portfolio::{Allocation, ExpectedReturns, Goal, PortfolioRequest, ReturnConvention};
pub use risk::{FullProfile, TailRisk};
pub use service::{Analytics, LISTING_TTL, MergeOutcome, Progress, SeedProgress};
