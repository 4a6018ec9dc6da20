//! Where market data comes from.
//!
//! Stratus must work offline on first run, so a real dataset is compiled into the binary
//! ([`bundled`]): daily adjusted closes of 20 S&P 500 stocks, the S&P 500 index (ticker `SP500`)
//! and five iShares factor ETFs, 1990–2022, plus the US Treasury par-yield curve 1990–2025.
//! Users bring their own prices as CSV ([`csv_import`]), validated row by row before anything is
//! stored. Live HTTP providers come later behind the same record types.

use chrono::NaiveDate;
use stratus_core::Maturity;

pub mod bundled;
pub mod csv_import;

/// One daily price from a source.
#[derive(Debug, Clone, PartialEq)]
pub struct PricePoint {
    /// Upper-case symbol.
    pub ticker: String,
    /// Date.
    pub date: NaiveDate,
    /// Opening price, if the source has one.
    pub open: Option<f64>,
    /// Closing (adjusted, for the bundled data) price.
    pub close: f64,
}

/// One published Treasury yield, in percent.
#[derive(Debug, Clone, PartialEq)]
pub struct YieldPoint {
    /// Tenor.
    pub maturity: Maturity,
    /// Date.
    pub date: NaiveDate,
    /// Yield in percent, as published.
    pub percent: f64,
}

/// A source that cannot be read. Messages name the file and line and say what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// A row or header that does not parse or validate.
    #[error("{file}:{line}: {reason}")]
    Malformed {
        /// File name as the user gave it.
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A file with no data rows.
    #[error("{file}: no price rows found; expected a header and at least one row")]
    Empty {
        /// File name.
        file: String,
    },
    /// The file could not be read at all.
    #[error("cannot read {file}: {reason}")]
    Unreadable {
        /// File name.
        file: String,
        /// Why.
        reason: String,
    },
}

/// Normalises and validates a ticker symbol: upper case; letters, digits and `.-^=` only.
pub fn normalise_ticker(raw: &str) -> Option<String> {
    let ticker = raw.trim().to_ascii_uppercase();
    let valid = !ticker.is_empty()
        && ticker.len() <= 20
        && ticker
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-^=".contains(c));
    valid.then_some(ticker)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tickers_are_normalised_and_checked() {
        assert_eq!(super::normalise_ticker(" brk.b "), Some("BRK.B".into()));
        assert_eq!(super::normalise_ticker("^GSPC"), Some("^GSPC".into()));
        assert_eq!(super::normalise_ticker("A B"), None);
        assert_eq!(super::normalise_ticker(""), None);
    }
}
