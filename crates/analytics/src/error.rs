//! Why a request failed, classified once.
//!
//! Every failure a service can report is an [`AppError`], and every error an adapter can meet
//! (a bad parameter, an ingest that could not export) maps to one [`ErrorClass`]. The class alone
//! decides the CLI's exit code, the HTTP status and the Lambda error type, so the three adapters
//! cannot disagree about what a failure means — and a store that is down is "unavailable"
//! everywhere, never a cached "not found".

use stratus_core::AnalyticsError;
use stratus_core::optimize::OptimizeError;
use stratus_providers::{ProviderError, ProviderErrorKind, normalise_ticker};
use stratus_store::{StoreError, StoreErrorKind};

/// What kind of failure an error is, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The request is malformed or asks something the data cannot answer; the user fixes it.
    UserInput,
    /// The thing asked for does not exist (an unknown ticker or verb).
    NotFound,
    /// This deployment does not offer it (a live-data verb without a live provider).
    Unsupported,
    /// A store or provider is down, throttling, or lacks credentials; retrying later may work.
    Unavailable,
    /// A provider answered with something unusable.
    Upstream,
    /// A provider did not answer in time.
    UpstreamTimeout,
    /// A defect or a broken environment; the message is for the operator's log only.
    Internal,
}

impl ErrorClass {
    /// The CLI's exit code: 2 for what the user can fix by changing the command, 1 otherwise.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::UserInput | ErrorClass::NotFound | ErrorClass::Unsupported => 2,
            ErrorClass::Unavailable
            | ErrorClass::Upstream
            | ErrorClass::UpstreamTimeout
            | ErrorClass::Internal => 1,
        }
    }

    /// The HTTP status.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorClass::UserInput => 400,
            ErrorClass::NotFound => 404,
            ErrorClass::Unsupported => 501,
            ErrorClass::Unavailable => 503,
            ErrorClass::Upstream => 502,
            ErrorClass::UpstreamTimeout => 504,
            ErrorClass::Internal => 500,
        }
    }

    /// The Lambda function error type (`errorType`).
    pub fn lambda_error_type(self) -> &'static str {
        match self {
            ErrorClass::UserInput => "BadRequest",
            ErrorClass::NotFound => "NotFound",
            ErrorClass::Unsupported => "Unsupported",
            ErrorClass::Unavailable => "Unavailable",
            ErrorClass::Upstream => "Upstream",
            ErrorClass::UpstreamTimeout => "UpstreamTimeout",
            ErrorClass::Internal => "Internal",
        }
    }

    /// Whether the user can fix this by changing the request.
    pub fn is_user_error(self) -> bool {
        self.exit_code() == 2
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A ticker the store has no prices for.
    #[error("unknown ticker {ticker}; known tickers: {}. Load prices with `stratus import-csv FILE`", known.join(", "))]
    UnknownTicker {
        /// The symbol asked for.
        ticker: String,
        /// What the store holds.
        known: Vec<String>,
    },
    /// Malformed input rejected by the analytics core.
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    /// A file that does not parse.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An optimisation without a solution (infeasible target or bounds, singular covariance).
    #[error(transparent)]
    Optimize(#[from] OptimizeError),
    /// A constrained portfolio without a solution (the conflicting constraints named).
    #[error(transparent)]
    Constrained(#[from] stratus_core::constrained::ConstrainedError),
    /// Data the question needs is not in the store.
    #[error("{message}")]
    NoData {
        /// What is missing and how to get it.
        message: String,
    },
    /// A request parameter that is malformed (not a fact about the data).
    #[error("{message}")]
    InvalidInput {
        /// The parameter, as an API request names it (`tickers`).
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Bad configuration or environment.
    #[error("{message}")]
    Setup {
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl AppError {
    /// The one classification every adapter uses.
    pub fn class(&self) -> ErrorClass {
        match self {
            AppError::UnknownTicker { .. } => ErrorClass::NotFound,
            AppError::Analytics(_) | AppError::NoData { .. } | AppError::InvalidInput { .. } => {
                ErrorClass::UserInput
            }
            AppError::Optimize(OptimizeError::Inconsistent(_)) => ErrorClass::Internal,
            AppError::Optimize(_) | AppError::Constrained(_) => ErrorClass::UserInput,
            AppError::Store(e) => match e.kind {
                StoreErrorKind::Unavailable
                | StoreErrorKind::Throttled
                | StoreErrorKind::NotFound => ErrorClass::Unavailable,
                StoreErrorKind::ReadOnly => ErrorClass::UserInput,
                _ => ErrorClass::Internal,
            },
            AppError::Provider(p) => match p.kind() {
                ProviderErrorKind::Input => match p {
                    ProviderError::UnknownSymbol { .. } => ErrorClass::NotFound,
                    _ => ErrorClass::UserInput,
                },
                ProviderErrorKind::Unsupported => ErrorClass::Unsupported,
                ProviderErrorKind::Payload => ErrorClass::Upstream,
                ProviderErrorKind::Unavailable if matches!(p, ProviderError::Timeout { .. }) => {
                    ErrorClass::UpstreamTimeout
                }
                ProviderErrorKind::Unavailable
                | ProviderErrorKind::Throttled
                | ProviderErrorKind::Credentials => ErrorClass::Unavailable,
            },
            AppError::Setup { .. } => ErrorClass::Internal,
        }
    }

    /// Whether the user can fix this by changing the request (as opposed to the environment).
    pub fn is_user_error(&self) -> bool {
        self.class().is_user_error()
    }

    /// The request parameter at fault, as an API request names it, where there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AppError::UnknownTicker { .. }
            | AppError::Provider(ProviderError::UnknownSymbol { .. }) => Some("tickers"),
            AppError::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// How much of a user's text an error message quotes.
const QUOTED_CHARS: usize = 24;

/// `text` for an error message: at most [`QUOTED_CHARS`] characters, with the full length noted
/// when cut.
pub fn quoted(text: &str) -> String {
    let count = text.chars().count();
    if count <= QUOTED_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(QUOTED_CHARS).collect();
        format!("{head:?}… ({count} characters)")
    }
}

/// A user's ticker, normalised, or an error saying what a ticker looks like.
pub fn checked_ticker(raw: &str) -> Result<String, AppError> {
    normalise_ticker(raw).ok_or_else(|| AppError::InvalidInput {
        field: "tickers",
        message: format!(
            "invalid ticker {}: a ticker is 1 to 20 letters, digits or . - ^ =, e.g. AAPL or BRK.B",
            quoted(raw)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_one_outcome_per_adapter() {
        let classes = [
            ErrorClass::UserInput,
            ErrorClass::NotFound,
            ErrorClass::Unsupported,
            ErrorClass::Unavailable,
            ErrorClass::Upstream,
            ErrorClass::UpstreamTimeout,
            ErrorClass::Internal,
        ];
        let statuses: std::collections::HashSet<u16> =
            classes.iter().map(|c| c.http_status()).collect();
        let types: std::collections::HashSet<&str> =
            classes.iter().map(|c| c.lambda_error_type()).collect();
        assert_eq!(statuses.len(), classes.len(), "one status per class");
        assert_eq!(types.len(), classes.len(), "one Lambda type per class");
        for class in classes {
            // A user error is a 4xx (or 501: this deployment cannot), never a retryable 5xx.
            assert_eq!(
                class.is_user_error(),
                (400..500).contains(&class.http_status()) || class.http_status() == 501,
                "{class:?}"
            );
        }
    }

    #[test]
    fn a_store_that_is_down_is_unavailable_not_missing() {
        let down = AppError::Store(StoreError::new(StoreErrorKind::Unavailable, "down"));
        assert_eq!(down.class(), ErrorClass::Unavailable);
        assert_eq!(down.class().http_status(), 503);
        assert_eq!(down.class().exit_code(), 1);
        let unknown = AppError::UnknownTicker {
            ticker: "ZZZ".into(),
            known: vec![],
        };
        assert_eq!(unknown.class().http_status(), 404);
        assert_eq!(unknown.field(), Some("tickers"));
    }
}
