//! Where market data comes from.
//!
//! Stratus must work offline on first run, so a real dataset is compiled into the binary
//! ([`bundled`]): daily adjusted closes of 20 S&P 500 stocks, the S&P 500 index (ticker `SP500`)
//! and five iShares factor ETFs, 1990–2022, plus the US Treasury par-yield curve 1990–2025.
//! Users bring their own prices as CSV ([`csv_import`]), validated row by row before anything is
//! stored. Live sources — AlphaVantage, the US Treasury feed, FRED, any CSV URL — sit behind
//! one trait, [`Provider`], so the services, the ingest job and the tests (which serve fixture
//! payloads from 127.0.0.1) never care which one is in use.

use async_trait::async_trait;
use chrono::NaiveDate;
use stratus_core::Maturity;

pub mod alphavantage;
pub mod bundled;
pub mod csv_import;
pub mod csv_url;
pub mod fred;
pub mod http;
#[cfg(feature = "mock")]
pub mod mock;
pub mod treasury;

pub use http::{HttpClient, HttpPolicy};

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

/// One dividend payment.
#[derive(Debug, Clone, PartialEq)]
pub struct Dividend {
    /// Upper-case symbol.
    pub ticker: String,
    /// Payment date (the ex-dividend date when the payment date is not published).
    pub date: NaiveDate,
    /// Cash amount per share.
    pub amount: f64,
}

/// One observation of an economic series (FRED).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Series code, upper case.
    pub series: String,
    /// Date.
    pub date: NaiveDate,
    /// Value in the series' own unit.
    pub value: f64,
}

/// How much price history to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Everything the source has.
    Full,
    /// About the last 100 sessions (AlphaVantage's `compact`); others may return everything.
    Recent,
}

/// What a failure means for the caller, independent of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The request names something the source does not have, or input that does not parse.
    Input,
    /// The provider refuses the credentials, or needs one that is not set.
    Credentials,
    /// Rate-limited; try later.
    Throttled,
    /// Unreachable, timed out or failing.
    Unavailable,
    /// The answer does not have the documented shape.
    Payload,
    /// The selected provider cannot answer this kind of question.
    Unsupported,
}

/// A market-data source. Every method has a default that says the source does not offer it, so
/// each provider implements only what it has.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short name used in messages and reports (`alphavantage`, `treasury`, …).
    fn name(&self) -> &str;

    /// Daily prices of `ticker`, ascending by date.
    async fn daily_prices(
        &self,
        ticker: &str,
        history: History,
    ) -> Result<Vec<PricePoint>, ProviderError> {
        let _ = (ticker, history);
        Err(self.unsupported("daily prices"))
    }

    /// Dividend history of `ticker`, ascending by date.
    async fn dividends(&self, ticker: &str) -> Result<Vec<Dividend>, ProviderError> {
        let _ = ticker;
        Err(self.unsupported("dividends"))
    }

    /// Treasury par yields published in `[start, end]`, ascending by date.
    async fn treasury_yields(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<YieldPoint>, ProviderError> {
        let _ = (start, end);
        Err(self.unsupported("Treasury yields"))
    }

    /// Observations of an economic series in `[start, end]`, ascending by date.
    async fn series(
        &self,
        code: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<Observation>, ProviderError> {
        let _ = (code, start, end);
        Err(self.unsupported("economic series"))
    }

    /// The error for a question this provider does not answer.
    fn unsupported(&self, what: &str) -> ProviderError {
        ProviderError::Unsupported {
            provider: self.name().to_string(),
            what: what.to_string(),
        }
    }
}

/// A source that cannot be read. Messages name the provider or file and say what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider does not know the symbol or series.
    #[error("{provider} has no data for {symbol}: {detail}")]
    UnknownSymbol {
        /// Provider name.
        provider: String,
        /// Symbol or series code.
        symbol: String,
        /// The provider's own words.
        detail: String,
    },
    /// A key the provider needs is not set.
    #[error("{provider} needs an API key: set {variable}")]
    MissingKey {
        /// Provider name.
        provider: String,
        /// The environment variable to set.
        variable: String,
    },
    /// The provider rejects the key or the plan does not cover the call.
    #[error("{provider} refused the request: {detail}. Check {variable}")]
    BadKey {
        /// Provider name.
        provider: String,
        /// The variable holding the key or setting.
        variable: String,
        /// The provider's own words.
        detail: String,
    },
    /// Rate-limited after every retry.
    #[error(
        "{provider} is rate-limiting this key: {detail}; wait and retry, or lower the call rate"
    )]
    Throttled {
        /// Provider name.
        provider: String,
        /// The provider's own words.
        detail: String,
    },
    /// No answer within the timeout, after every retry.
    #[error(
        "{provider} did not answer within {seconds} s ({url}); retry later or raise STRATUS_HTTP_TIMEOUT"
    )]
    Timeout {
        /// Provider name.
        provider: String,
        /// URL without credentials.
        url: String,
        /// The timeout.
        seconds: f64,
    },
    /// Unreachable or failing, after every retry.
    #[error("cannot reach {provider} at {url}: {detail}")]
    Unavailable {
        /// Provider name.
        provider: String,
        /// URL without credentials.
        url: String,
        /// Cause.
        detail: String,
    },
    /// An answer without the documented shape.
    #[error("unexpected answer from {provider} ({url}): {detail}")]
    Payload {
        /// Provider name.
        provider: String,
        /// URL without credentials.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The provider does not offer this kind of data.
    #[error(
        "{what} need live data, which the {provider} provider does not offer; set STRATUS_PROVIDER=alphavantage (with ALPHA_VANTAGE_KEY) or see `stratus --help`"
    )]
    Unsupported {
        /// Provider name.
        provider: String,
        /// What was asked for.
        what: String,
    },
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

impl ProviderError {
    /// The same error with every occurrence of `secret` replaced by `***`: providers quote the
    /// key back in some messages ("We have detected your API key as …").
    pub fn scrub(self, secret: &str) -> ProviderError {
        if secret.is_empty() {
            return self;
        }
        let clean = |text: String| text.replace(secret, "***");
        match self {
            ProviderError::UnknownSymbol {
                provider,
                symbol,
                detail,
            } => ProviderError::UnknownSymbol {
                provider,
                symbol,
                detail: clean(detail),
            },
            ProviderError::BadKey {
                provider,
                variable,
                detail,
            } => ProviderError::BadKey {
                provider,
                variable,
                detail: clean(detail),
            },
            ProviderError::Throttled { provider, detail } => ProviderError::Throttled {
                provider,
                detail: clean(detail),
            },
            ProviderError::Unavailable {
                provider,
                url,
                detail,
            } => ProviderError::Unavailable {
                provider,
                url: clean(url),
                detail: clean(detail),
            },
            ProviderError::Payload {
                provider,
                url,
                detail,
            } => ProviderError::Payload {
                provider,
                url: clean(url),
                detail: clean(detail),
            },
            ProviderError::Timeout {
                provider,
                url,
                seconds,
            } => ProviderError::Timeout {
                provider,
                url: clean(url),
                seconds,
            },
            other => other,
        }
    }

    /// What the failure means for the caller.
    pub fn kind(&self) -> ProviderErrorKind {
        match self {
            ProviderError::UnknownSymbol { .. }
            | ProviderError::Malformed { .. }
            | ProviderError::Empty { .. }
            | ProviderError::Unreadable { .. } => ProviderErrorKind::Input,
            ProviderError::MissingKey { .. } | ProviderError::BadKey { .. } => {
                ProviderErrorKind::Credentials
            }
            ProviderError::Throttled { .. } => ProviderErrorKind::Throttled,
            ProviderError::Timeout { .. } | ProviderError::Unavailable { .. } => {
                ProviderErrorKind::Unavailable
            }
            ProviderError::Payload { .. } => ProviderErrorKind::Payload,
            ProviderError::Unsupported { .. } => ProviderErrorKind::Unsupported,
        }
    }
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
