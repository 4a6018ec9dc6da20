//! One HTTP client for every live provider, so each of them gets the same discipline: a request
//! timeout, bounded retries with exponential backoff for failures that may pass (timeouts,
//! refused connections, 5xx, 429, a provider's own "slow down" payload), a minimum interval
//! between calls (AlphaVantage's free tier allows a handful per minute), and error messages that
//! name the provider and the URL with every credential removed.

use std::time::{Duration, Instant};

use reqwest::Url;

use crate::ProviderError;

/// Limits for one provider's calls.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPolicy {
    /// Give up on one attempt after this long.
    pub timeout: Duration,
    /// Further attempts after the first, for failures that may pass.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Most calls per minute (0 = unlimited).
    pub calls_per_minute: u32,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_secs(2),
            calls_per_minute: 0,
        }
    }
}

/// What a provider makes of one answer.
#[derive(Debug)]
pub enum Verdict<T> {
    /// The answer is usable.
    Done(T),
    /// A "slow down" or transient answer: try again after the backoff.
    Retry(ProviderError),
    /// A definite failure (unknown symbol, bad key): no retry.
    Fail(ProviderError),
}

/// Query parameters whose values are credentials and never appear in messages.
const SECRET_PARAMETERS: [&str; 4] = ["apikey", "api_key", "token", "key"];

/// `url` with credential values replaced by `***`.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = SECRET_PARAMETERS.contains(&k.to_ascii_lowercase().as_str());
            (
                k.into_owned(),
                if secret { "***".into() } else { v.into_owned() },
            )
        })
        .collect();
    if pairs.is_empty() {
        return shown.to_string();
    }
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

/// A rate-limited, retrying HTTP client for one provider.
#[derive(Debug)]
pub struct HttpClient {
    provider: &'static str,
    client: reqwest::Client,
    policy: HttpPolicy,
    next_slot: tokio::sync::Mutex<Option<Instant>>,
}

impl HttpClient {
    /// A client for `provider` (its name appears in errors).
    pub fn new(provider: &'static str, policy: HttpPolicy) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("stratus/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Unavailable {
                provider: provider.into(),
                url: String::new(),
                detail: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(HttpClient {
            provider,
            client,
            policy,
            next_slot: tokio::sync::Mutex::new(None),
        })
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The limits in force.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Waits for the rate limiter's next free slot.
    async fn pace(&self) {
        if self.policy.calls_per_minute == 0 {
            return;
        }
        let interval = Duration::from_secs(60) / self.policy.calls_per_minute;
        let mut next = self.next_slot.lock().await;
        let now = Instant::now();
        if let Some(at) = *next
            && at > now
        {
            tokio::time::sleep(at - now).await;
        }
        *next = Some(Instant::now() + interval);
    }

    /// GETs `url` and lets `judge` decide on each answer `(status, body)`; retries what may pass.
    pub async fn get<T>(
        &self,
        url: &Url,
        judge: impl Fn(u16, &[u8]) -> Verdict<T>,
    ) -> Result<T, ProviderError> {
        let shown = redact(url);
        let mut attempt = 0u32;
        loop {
            self.pace().await;
            let outcome = match self.client.get(url.clone()).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(body) => match status {
                            429 | 500..=599 => Verdict::Retry(self.transient(
                                &shown,
                                status,
                                &String::from_utf8_lossy(&body),
                            )),
                            _ => judge(status, &body),
                        },
                        Err(e) => Verdict::Retry(self.transport(&shown, &e)),
                    }
                }
                Err(e) => Verdict::Retry(self.transport(&shown, &e)),
            };
            match outcome {
                Verdict::Done(value) => return Ok(value),
                Verdict::Fail(error) => return Err(error),
                Verdict::Retry(error) if attempt >= self.policy.retries => return Err(error),
                Verdict::Retry(_) => {
                    tokio::time::sleep(self.policy.backoff * 2u32.saturating_pow(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    fn transient(&self, url: &str, status: u16, body: &str) -> ProviderError {
        let detail = format!("HTTP {status}: {}", excerpt(body));
        if status == 429 {
            ProviderError::Throttled {
                provider: self.provider.into(),
                detail,
            }
        } else {
            ProviderError::Unavailable {
                provider: self.provider.into(),
                url: url.into(),
                detail,
            }
        }
    }

    fn transport(&self, url: &str, error: &reqwest::Error) -> ProviderError {
        if error.is_timeout() {
            ProviderError::Timeout {
                provider: self.provider.into(),
                url: url.into(),
                seconds: self.policy.timeout.as_secs_f64(),
            }
        } else {
            // reqwest's message repeats the URL with its credentials; name the cause only.
            let mut cause: &dyn std::error::Error = error;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            ProviderError::Unavailable {
                provider: self.provider.into(),
                url: url.into(),
                detail: cause.to_string(),
            }
        }
    }
}

/// Checks that `url` is an absolute http(s) URL (`{ticker}` placeholders allowed).
pub fn check_url(url: &str) -> Result<(), String> {
    match Url::parse(&url.replace("{ticker}", "X")) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => Err(format!(
            "expected an http(s) URL, got scheme {:?}",
            u.scheme()
        )),
        Err(e) => Err(format!("not a URL ({e})")),
    }
}

/// The first 200 characters of a payload, on one line, for error messages.
pub fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_appear_in_shown_urls() {
        let url = Url::parse("https://x.test/query?symbol=IBM&apikey=SECRET&api_key=S2").unwrap();
        let shown = redact(&url);
        assert!(
            !shown.contains("SECRET") && !shown.contains("S2"),
            "{shown}"
        );
        assert!(shown.contains("symbol=IBM"), "{shown}");
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("a\n  b"), "a b");
        assert_eq!(excerpt(&"x".repeat(500)).chars().count(), 201);
    }
}
