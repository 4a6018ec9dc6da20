//! Errors for malformed input. A valid question without an answer (for example an infeasible
//! optimisation) is reported as a status in the result, not as an error.

use chrono::NaiveDate;

/// Why an analytics function refused its input. Every variant names the input and says how to
/// fix it, because these messages reach users unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    /// Not enough prices in the window for the statistic.
    #[error(
        "too few prices for {ticker}: {found} in the window, at least {needed} needed; widen the window with --start/--end"
    )]
    TooFewPrices {
        /// The series that is too short.
        ticker: String,
        /// Prices found.
        found: usize,
        /// Prices needed.
        needed: usize,
    },
    /// A price that is NaN, infinite, zero or negative.
    #[error(
        "invalid price for {ticker} on {date}: {value} (prices must be finite and positive); fix or remove that row"
    )]
    InvalidPrice {
        /// The series.
        ticker: String,
        /// Where.
        date: NaiveDate,
        /// The offending value.
        value: f64,
    },
    /// Dates not strictly increasing.
    #[error(
        "dates of {ticker} are not strictly increasing at {date}; sort the series and remove duplicates"
    )]
    UnorderedDates {
        /// The series.
        ticker: String,
        /// The first date out of order.
        date: NaiveDate,
    },
    /// A window whose start is after its end, or after the last date with data.
    #[error("empty window: start {start} is after {end_what} {end}; {fix}")]
    EmptyWindow {
        /// The start given.
        start: NaiveDate,
        /// What the end is ("end" or "the last date with data").
        end_what: &'static str,
        /// The end it is after.
        end: NaiveDate,
        /// What to do.
        fix: &'static str,
    },
    /// Two series without enough common dates.
    #[error(
        "{first} and {second} share only {common} dates in the window, at least {needed} needed; choose a window both cover"
    )]
    TooLittleOverlap {
        /// First series.
        first: String,
        /// Second series.
        second: String,
        /// Common dates found.
        common: usize,
        /// Common dates needed.
        needed: usize,
    },
    /// A parameter outside its domain.
    #[error("invalid {name} {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user knows it (e.g. `--prob`).
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// A statistic that came out undefined (for example zero variance).
    #[error("{what} is undefined for {ticker}: {reason}")]
    Undefined {
        /// The statistic.
        what: &'static str,
        /// The series.
        ticker: String,
        /// Why.
        reason: &'static str,
    },
}
