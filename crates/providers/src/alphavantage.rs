//! AlphaVantage: daily (adjusted) prices and dividends.
//!
//! AlphaVantage reports most failures with HTTP 200 and a one-key JSON object, so the payload
//! decides: `"Note"` (or an `"Information"` about the call frequency) is a throttle and is
//! retried after the backoff — scrilla slept 30 s and retried forever; we retry a bounded number
//! of times and then say so. `"Error Message"` is an unknown symbol or a bad key, and
//! `"Information"` about premium endpoints or the daily limit is a refusal that no retry fixes.
//!
//! Prices: `TIME_SERIES_DAILY_ADJUSTED` by default, storing the **adjusted** close (and the open
//! scaled by the same factor) so that returns across splits and dividends are right. Free keys
//! may only call `TIME_SERIES_DAILY` (raw prices); set `STRATUS_ALPHA_VANTAGE_FUNCTION` to it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use reqwest::Url;
use serde_json::Value;

use crate::http::{HttpClient, HttpPolicy, Verdict, excerpt, redact};
use crate::{Dividend, History, PricePoint, Provider, ProviderError, normalise_ticker};

/// The production endpoint.
pub const DEFAULT_URL: &str = "https://www.alphavantage.co/query";
/// The key's environment variable.
pub const KEY_VARIABLE: &str = "ALPHA_VANTAGE_KEY";
const NAME: &str = "alphavantage";

/// Which time-series function to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceFunction {
    /// `TIME_SERIES_DAILY_ADJUSTED`: adjusted closes (premium on current plans).
    DailyAdjusted,
    /// `TIME_SERIES_DAILY`: raw opens and closes (free).
    Daily,
}

impl std::str::FromStr for PriceFunction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "TIME_SERIES_DAILY_ADJUSTED" => Ok(PriceFunction::DailyAdjusted),
            "TIME_SERIES_DAILY" => Ok(PriceFunction::Daily),
            _ => Err("expected TIME_SERIES_DAILY_ADJUSTED or TIME_SERIES_DAILY".into()),
        }
    }
}

impl PriceFunction {
    fn name(self) -> &'static str {
        match self {
            PriceFunction::DailyAdjusted => "TIME_SERIES_DAILY_ADJUSTED",
            PriceFunction::Daily => "TIME_SERIES_DAILY",
        }
    }
}

/// The AlphaVantage provider.
#[derive(Debug)]
pub struct AlphaVantage {
    base: Url,
    key: Option<String>,
    function: PriceFunction,
    http: HttpClient,
}

impl AlphaVantage {
    /// A provider calling `base` (normally [`DEFAULT_URL`]) with `key`. A missing key is
    /// reported when a call needs it, so commands that do not fetch still work.
    pub fn new(
        base: &str,
        key: Option<String>,
        function: PriceFunction,
        policy: HttpPolicy,
    ) -> Result<Self, ProviderError> {
        Ok(AlphaVantage {
            base: parse_base(NAME, base)?,
            key: key.filter(|k| !k.trim().is_empty()),
            function,
            http: HttpClient::new(NAME, policy)?,
        })
    }

    fn url(&self, params: &[(&str, &str)]) -> Result<Url, ProviderError> {
        let key = self
            .key
            .as_deref()
            .ok_or_else(|| ProviderError::MissingKey {
                provider: NAME.into(),
                variable: KEY_VARIABLE.into(),
            })?;
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .extend_pairs(params)
            .append_pair("apikey", key);
        Ok(url)
    }

    async fn call(&self, symbol: &str, url: Url) -> Result<Value, ProviderError> {
        let shown = redact(&url);
        self.http
            .get(&url, |status, body| judge(symbol, &shown, status, body))
            .await
            .map_err(|e| e.scrub(self.key.as_deref().unwrap_or_default()))
    }
}

/// Parses a configured base URL, naming the provider when it is not one.
pub(crate) fn parse_base(provider: &str, base: &str) -> Result<Url, ProviderError> {
    Url::parse(base).map_err(|e| ProviderError::Payload {
        provider: provider.into(),
        url: base.into(),
        detail: format!("the configured URL does not parse ({e})"),
    })
}

/// Classifies one AlphaVantage answer.
fn judge(symbol: &str, url: &str, status: u16, body: &[u8]) -> Verdict<Value> {
    let payload = |detail: String| ProviderError::Payload {
        provider: NAME.into(),
        url: url.into(),
        detail,
    };
    if status != 200 {
        return Verdict::Fail(payload(format!(
            "HTTP {status}: {}",
            excerpt(&String::from_utf8_lossy(body))
        )));
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Fail(payload(format!(
                "not JSON ({e}): {}",
                excerpt(&String::from_utf8_lossy(body))
            )));
        }
    };
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(note) = text("Note") {
        return Verdict::Retry(ProviderError::Throttled {
            provider: NAME.into(),
            detail: excerpt(&note),
        });
    }
    if let Some(info) = text("Information") {
        let lower = info.to_ascii_lowercase();
        // Per-minute limits pass; the daily limit and premium-only endpoints do not.
        if lower.contains("per minute") || lower.contains("call frequency") {
            return Verdict::Retry(ProviderError::Throttled {
                provider: NAME.into(),
                detail: excerpt(&info),
            });
        }
        if lower.contains("rate limit") || lower.contains("requests per day") {
            return Verdict::Fail(ProviderError::Throttled {
                provider: NAME.into(),
                detail: excerpt(&info),
            });
        }
        if lower.contains("premium") {
            return Verdict::Fail(ProviderError::BadKey {
                provider: NAME.into(),
                variable: "STRATUS_ALPHA_VANTAGE_FUNCTION (TIME_SERIES_DAILY is free) or ALPHA_VANTAGE_KEY".into(),
                detail: excerpt(&info),
            });
        }
        return Verdict::Fail(ProviderError::BadKey {
            provider: NAME.into(),
            variable: KEY_VARIABLE.into(),
            detail: excerpt(&info),
        });
    }
    if let Some(message) = text("Error Message") {
        let lower = message.to_ascii_lowercase();
        return Verdict::Fail(if lower.contains("apikey") || lower.contains("api key") {
            ProviderError::BadKey {
                provider: NAME.into(),
                variable: KEY_VARIABLE.into(),
                detail: excerpt(&message),
            }
        } else {
            ProviderError::UnknownSymbol {
                provider: NAME.into(),
                symbol: symbol.into(),
                detail: excerpt(&message),
            }
        });
    }
    Verdict::Done(value)
}

fn field<'a>(entry: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| entry.get(*n).and_then(Value::as_str))
}

fn number(text: Option<&str>) -> Option<f64> {
    text.and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// Turns a daily time series into price points, ascending. Adjusted series store the adjusted
/// close and the open scaled by the same factor.
pub fn parse_time_series(
    ticker: &str,
    url: &str,
    value: &Value,
) -> Result<Vec<PricePoint>, ProviderError> {
    let payload = |detail: String| ProviderError::Payload {
        provider: NAME.into(),
        url: url.into(),
        detail,
    };
    let series = value
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.starts_with("Time Series")))
        .and_then(|(_, v)| v.as_object())
        .ok_or_else(|| {
            payload(format!(
                "no \"Time Series (Daily)\" object in {}",
                excerpt(&value.to_string())
            ))
        })?;
    let mut points = BTreeMap::new();
    for (day, entry) in series {
        let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| payload(format!("bad date {day:?}")))?;
        // A value that does not parse becomes NaN: callers validate records one by one and
        // report the bad ones instead of losing the whole answer.
        let close = field(entry, &["4. close", "4a. close (USD)"])
            .ok_or_else(|| payload(format!("{day}: no \"4. close\" field")))
            .map(|text| text.trim().parse::<f64>().unwrap_or(f64::NAN))?;
        let open = number(field(entry, &["1. open", "1a. open (USD)"]));
        let (open, close) = match field(entry, &["5. adjusted close"]) {
            Some(text) => {
                let adjusted = text.trim().parse::<f64>().unwrap_or(f64::NAN);
                let scale = adjusted / close;
                (open.map(|o| o * scale).filter(|o| o.is_finite()), adjusted)
            }
            None => (open, close),
        };
        points.insert(
            date,
            PricePoint {
                ticker: ticker.to_string(),
                date,
                open,
                close,
            },
        );
    }
    Ok(points.into_values().collect())
}

/// Turns a `DIVIDENDS` answer into payments, ascending.
pub fn parse_dividends(
    ticker: &str,
    url: &str,
    value: &Value,
) -> Result<Vec<Dividend>, ProviderError> {
    let rows =
        value
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| ProviderError::Payload {
                provider: NAME.into(),
                url: url.into(),
                detail: format!("no \"data\" array in {}", excerpt(&value.to_string())),
            })?;
    let date = |text: Option<&str>| {
        text.and_then(|t| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok())
    };
    let mut out: Vec<Dividend> = rows
        .iter()
        .filter_map(|row| {
            let day =
                date(field(row, &["payment_date"])).or(date(field(row, &["ex_dividend_date"])))?;
            let amount = number(field(row, &["amount"])).filter(|a| *a > 0.0)?;
            Some(Dividend {
                ticker: ticker.to_string(),
                date: day,
                amount,
            })
        })
        .collect();
    out.sort_by_key(|d| d.date);
    out.dedup_by_key(|d| d.date);
    Ok(out)
}

fn checked(ticker: &str) -> Result<String, ProviderError> {
    normalise_ticker(ticker).ok_or_else(|| ProviderError::UnknownSymbol {
        provider: NAME.into(),
        symbol: ticker.into(),
        detail: "not a ticker symbol (letters, digits and .-^= only)".into(),
    })
}

#[async_trait]
impl Provider for AlphaVantage {
    fn name(&self) -> &str {
        NAME
    }

    async fn daily_prices(
        &self,
        ticker: &str,
        history: History,
    ) -> Result<Vec<PricePoint>, ProviderError> {
        let ticker = checked(ticker)?;
        let size = match history {
            History::Full => "full",
            History::Recent => "compact",
        };
        let url = self.url(&[
            ("function", self.function.name()),
            ("symbol", &ticker),
            ("outputsize", size),
        ])?;
        let shown = redact(&url);
        let value = self.call(&ticker, url).await?;
        parse_time_series(&ticker, &shown, &value)
    }

    async fn dividends(&self, ticker: &str) -> Result<Vec<Dividend>, ProviderError> {
        let ticker = checked(ticker)?;
        let url = self.url(&[("function", "DIVIDENDS"), ("symbol", &ticker)])?;
        let shown = redact(&url);
        let value = self.call(&ticker, url).await?;
        parse_dividends(&ticker, &shown, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_errors_are_typed() {
        let body = |v: Value| v.to_string().into_bytes();
        let verdict = |v: Value| judge("ZZZZ", "u", 200, &body(v));
        assert!(matches!(
            verdict(
                json!({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute"})
            ),
            Verdict::Retry(ProviderError::Throttled { .. })
        ));
        assert!(matches!(
            verdict(
                json!({"Error Message": "Invalid API call. Please retry or visit the documentation for TIME_SERIES_DAILY."})
            ),
            Verdict::Fail(ProviderError::UnknownSymbol { .. })
        ));
        assert!(matches!(
            verdict(json!({"Error Message": "the parameter apikey is invalid or missing."})),
            Verdict::Fail(ProviderError::BadKey { .. })
        ));
        assert!(matches!(
            verdict(
                json!({"Information": "Thank you for using Alpha Vantage! This is a premium endpoint."})
            ),
            Verdict::Fail(ProviderError::BadKey { .. })
        ));
        assert!(matches!(
            verdict(
                json!({"Information": "We have detected your API key as X and our standard API rate limit is 25 requests per day."})
            ),
            Verdict::Fail(ProviderError::Throttled { .. })
        ));
        assert!(matches!(
            judge("X", "u", 200, b"<html>"),
            Verdict::Fail(ProviderError::Payload { .. })
        ));
    }

    #[test]
    fn adjusted_series_scale_the_open_and_sort_ascending() {
        let value = json!({"Meta Data": {}, "Time Series (Daily)": {
            "2024-01-03": {"1. open": "10", "4. close": "20", "5. adjusted close": "10"},
            "2024-01-02": {"1. open": "9", "4. close": "9", "5. adjusted close": "9"}
        }});
        let points = parse_time_series("X", "u", &value).unwrap();
        assert_eq!(points[0].date.to_string(), "2024-01-02");
        assert_eq!((points[1].open, points[1].close), (Some(5.0), 10.0));
    }

    #[test]
    fn dividends_fall_back_to_the_ex_date_and_skip_empty_amounts() {
        let value = json!({"symbol": "IBM", "data": [
            {"ex_dividend_date": "2024-11-12", "payment_date": "2024-12-10", "amount": "1.67"},
            {"ex_dividend_date": "2024-08-09", "payment_date": "None", "amount": "1.67"},
            {"ex_dividend_date": "2024-05-09", "payment_date": "2024-06-10", "amount": "None"}
        ]});
        let d = parse_dividends("IBM", "u", &value).unwrap();
        let dates: Vec<String> = d.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(dates, ["2024-08-09", "2024-12-10"]);
    }
}
