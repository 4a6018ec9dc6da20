//! Prices from any CSV URL — a vendor export, an internal data service, an S3 presigned link.
//!
//! The body is parsed exactly like `stratus import-csv` (wide or long, every row validated, the
//! first bad row fails the whole answer). A `{ticker}` in the URL is replaced by the symbol, so
//! one template can serve per-ticker files; without it the file is fetched and filtered.

use async_trait::async_trait;

use crate::alphavantage::parse_base;
use crate::csv_import::parse_prices;
use crate::http::{HttpClient, HttpPolicy, Verdict, excerpt, redact};
use crate::{History, PricePoint, Provider, ProviderError, normalise_ticker};

const NAME: &str = "csv";

/// A CSV-over-HTTP price provider.
#[derive(Debug)]
pub struct CsvUrl {
    template: String,
    http: HttpClient,
}

impl CsvUrl {
    /// A provider reading `template` (a URL, optionally containing `{ticker}`).
    pub fn new(template: &str, policy: HttpPolicy) -> Result<Self, ProviderError> {
        parse_base(NAME, &template.replace("{ticker}", "X"))?;
        Ok(CsvUrl {
            template: template.to_string(),
            http: HttpClient::new(NAME, policy)?,
        })
    }

    /// Every price the URL serves for `ticker` (all of them when `ticker` is `None` and the URL
    /// has no placeholder).
    pub async fn fetch(&self, ticker: Option<&str>) -> Result<Vec<PricePoint>, ProviderError> {
        let text = match ticker {
            Some(t) => self.template.replace("{ticker}", t),
            None => self.template.clone(),
        };
        let url = parse_base(NAME, &text)?;
        let shown = redact(&url);
        let body = self
            .http
            .get(&url, |status, body| {
                if status == 200 {
                    Verdict::Done(body.to_vec())
                } else if status == 404 {
                    Verdict::Fail(ProviderError::UnknownSymbol {
                        provider: NAME.into(),
                        symbol: ticker.unwrap_or("(all)").into(),
                        detail: format!("HTTP 404 from {shown}"),
                    })
                } else {
                    Verdict::Fail(ProviderError::Payload {
                        provider: NAME.into(),
                        url: shown.clone(),
                        detail: format!(
                            "HTTP {status}: {}",
                            excerpt(&String::from_utf8_lossy(body))
                        ),
                    })
                }
            })
            .await?;
        parse_prices(&shown, &body)
    }
}

#[async_trait]
impl Provider for CsvUrl {
    fn name(&self) -> &str {
        NAME
    }

    async fn daily_prices(
        &self,
        ticker: &str,
        _history: History,
    ) -> Result<Vec<PricePoint>, ProviderError> {
        let ticker = normalise_ticker(ticker).ok_or_else(|| ProviderError::UnknownSymbol {
            provider: NAME.into(),
            symbol: ticker.into(),
            detail: "not a ticker symbol".into(),
        })?;
        let mut points = self.fetch(Some(&ticker)).await?;
        points.retain(|p| p.ticker == ticker);
        if points.is_empty() {
            return Err(ProviderError::UnknownSymbol {
                provider: NAME.into(),
                symbol: ticker,
                detail: format!("no rows for it at {}", self.template),
            });
        }
        points.sort_by_key(|p| p.date);
        Ok(points)
    }
}
