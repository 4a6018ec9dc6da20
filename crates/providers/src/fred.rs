//! FRED (Federal Reserve Economic Data) series for `stat`/`stats`.
//!
//! scrilla reached FRED through Quandl, which no longer carries it; we call FRED's own API:
//! `{base}/series/observations?series_id=CODE&api_key=K&file_type=json&observation_start=S&observation_end=E`
//! → `{"observations": [{"date": "YYYY-MM-DD", "value": "1.23"}, …]}`, where `"."` marks a
//! period without a value (skipped). Failures come as HTTP 400 with
//! `{"error_code": 400, "error_message": "Bad Request.  The series does not exist."}` or a
//! message about `api_key`; 429 is a throttle and retried.

use async_trait::async_trait;
use chrono::NaiveDate;
use reqwest::Url;
use serde_json::Value;

use crate::alphavantage::parse_base;
use crate::http::{HttpClient, HttpPolicy, Verdict, excerpt, redact};
use crate::{Observation, Provider, ProviderError};

/// The production endpoint.
pub const DEFAULT_URL: &str = "https://api.stlouisfed.org/fred";
/// The key's environment variable.
pub const KEY_VARIABLE: &str = "FRED_KEY";
const NAME: &str = "fred";

/// The FRED provider.
#[derive(Debug)]
pub struct Fred {
    base: Url,
    key: Option<String>,
    http: HttpClient,
}

impl Fred {
    /// A provider calling `base` (normally [`DEFAULT_URL`]) with `key`.
    pub fn new(base: &str, key: Option<String>, policy: HttpPolicy) -> Result<Self, ProviderError> {
        Ok(Fred {
            base: parse_base(NAME, base.trim_end_matches('/'))?,
            key: key.filter(|k| !k.trim().is_empty()),
            http: HttpClient::new(NAME, policy)?,
        })
    }
}

fn checked_code(code: &str) -> Result<String, ProviderError> {
    let upper = code.trim().to_ascii_uppercase();
    if upper.is_empty()
        || upper.len() > 40
        || !upper.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ProviderError::UnknownSymbol {
            provider: NAME.into(),
            symbol: code.into(),
            detail: "a FRED series code has letters, digits and '_' only (e.g. GDP, DGS10)".into(),
        });
    }
    Ok(upper)
}

fn judge(code: &str, url: &str, status: u16, body: &[u8]) -> Verdict<Value> {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if status == 200 {
        return match parsed {
            Some(v) => Verdict::Done(v),
            None => Verdict::Fail(ProviderError::Payload {
                provider: NAME.into(),
                url: url.into(),
                detail: format!("not JSON: {}", excerpt(&text)),
            }),
        };
    }
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("error_message"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("HTTP {status}: {}", excerpt(&text)), excerpt);
    let lower = message.to_ascii_lowercase();
    Verdict::Fail(
        if lower.contains("api_key") || status == 401 || status == 403 {
            ProviderError::BadKey {
                provider: NAME.into(),
                variable: KEY_VARIABLE.into(),
                detail: message,
            }
        } else if lower.contains("does not exist") || status == 404 {
            ProviderError::UnknownSymbol {
                provider: NAME.into(),
                symbol: code.into(),
                detail: message,
            }
        } else {
            ProviderError::Payload {
                provider: NAME.into(),
                url: url.into(),
                detail: message,
            }
        },
    )
}

/// Turns an observations answer into values, ascending; `"."` (no value) is skipped.
pub fn parse_observations(
    code: &str,
    url: &str,
    value: &Value,
) -> Result<Vec<Observation>, ProviderError> {
    let payload = |detail: String| ProviderError::Payload {
        provider: NAME.into(),
        url: url.into(),
        detail,
    };
    let rows = value
        .get("observations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            payload(format!(
                "no \"observations\" in {}",
                excerpt(&value.to_string())
            ))
        })?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let date_text = row.get("date").and_then(Value::as_str).unwrap_or_default();
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d")
            .map_err(|_| payload(format!("bad date {date_text:?}")))?;
        let raw = row.get("value").and_then(Value::as_str).unwrap_or(".");
        if raw.trim() == "." {
            continue;
        }
        let value: f64 = raw
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| payload(format!("{date}: bad value {raw:?}")))?;
        out.push(Observation {
            series: code.to_string(),
            date,
            value,
        });
    }
    out.sort_by_key(|o| o.date);
    Ok(out)
}

#[async_trait]
impl Provider for Fred {
    fn name(&self) -> &str {
        NAME
    }

    async fn series(
        &self,
        code: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<Observation>, ProviderError> {
        let code = checked_code(code)?;
        let key = self
            .key
            .as_deref()
            .ok_or_else(|| ProviderError::MissingKey {
                provider: NAME.into(),
                variable: KEY_VARIABLE.into(),
            })?;
        let mut url = self.base.clone();
        let path = format!("{}/series/observations", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut()
            .append_pair("series_id", &code)
            .append_pair("api_key", key)
            .append_pair("file_type", "json")
            .append_pair("observation_start", &start.to_string())
            .append_pair("observation_end", &end.to_string());
        let shown = redact(&url);
        let value = self
            .http
            .get(&url, |status, body| judge(&code, &shown, status, body))
            .await
            .map_err(|e| e.scrub(key))?;
        parse_observations(&code, &shown, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_and_missing_values() {
        let bad =
            json!({"error_code": 400, "error_message": "Bad Request.  The series does not exist."});
        assert!(matches!(
            judge("NOPE", "u", 400, bad.to_string().as_bytes()),
            Verdict::Fail(ProviderError::UnknownSymbol { .. })
        ));
        let key = json!({"error_code": 400, "error_message": "Bad Request.  The value for variable api_key is not registered."});
        assert!(matches!(
            judge("GDP", "u", 400, key.to_string().as_bytes()),
            Verdict::Fail(ProviderError::BadKey { .. })
        ));
        let ok = json!({"observations": [
            {"date": "2024-01-02", "value": "3.9"}, {"date": "2024-01-01", "value": "."}
        ]});
        let obs = parse_observations("DGS10", "u", &ok).unwrap();
        assert_eq!(obs.len(), 1);
        assert!(checked_code("GDP; drop").is_err());
    }
}
