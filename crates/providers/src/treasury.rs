//! The US Treasury's daily par yield curve (no key).
//!
//! scrilla paged through a feed the Treasury has since retired (and skipped page 0, D16). The
//! current feed serves one calendar year per request as Atom XML:
//! `{base}/interest-rates/pages/xml?data=daily_treasury_yield_curve&field_tdr_date_value=YYYY`,
//! each `entry` holding `m:properties` with `d:NEW_DATE` and `d:BC_1MONTH` … `d:BC_30YEAR` in
//! percent. A tenor that was not published (the 2-month before 2018, the 4-month before 2022)
//! is empty or `m:null="true"` and is simply absent here, never a crash.

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use reqwest::Url;
use stratus_core::Maturity;

use crate::alphavantage::parse_base;
use crate::http::{HttpClient, HttpPolicy, Verdict, excerpt, redact};
use crate::{Provider, ProviderError, YieldPoint};

/// The production base URL (scrilla's `TREASURY_URL`).
pub const DEFAULT_URL: &str = "https://home.treasury.gov/resource-center/data-chart-center";
const NAME: &str = "treasury";

const FIELDS: [(&str, Maturity); 13] = [
    ("BC_1MONTH", Maturity::OneMonth),
    ("BC_2MONTH", Maturity::TwoMonth),
    ("BC_3MONTH", Maturity::ThreeMonth),
    ("BC_4MONTH", Maturity::FourMonth),
    ("BC_6MONTH", Maturity::SixMonth),
    ("BC_1YEAR", Maturity::OneYear),
    ("BC_2YEAR", Maturity::TwoYear),
    ("BC_3YEAR", Maturity::ThreeYear),
    ("BC_5YEAR", Maturity::FiveYear),
    ("BC_7YEAR", Maturity::SevenYear),
    ("BC_10YEAR", Maturity::TenYear),
    ("BC_20YEAR", Maturity::TwentyYear),
    ("BC_30YEAR", Maturity::ThirtyYear),
];

/// The Treasury provider.
#[derive(Debug)]
pub struct Treasury {
    base: Url,
    http: HttpClient,
}

impl Treasury {
    /// A provider reading from `base` (normally [`DEFAULT_URL`]).
    pub fn new(base: &str, policy: HttpPolicy) -> Result<Self, ProviderError> {
        Ok(Treasury {
            base: parse_base(NAME, base.trim_end_matches('/'))?,
            http: HttpClient::new(NAME, policy)?,
        })
    }

    fn year_url(&self, year: i32) -> Url {
        let mut url = self.base.clone();
        let path = format!(
            "{}/interest-rates/pages/xml",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        url.query_pairs_mut()
            .append_pair("data", "daily_treasury_yield_curve")
            .append_pair("field_tdr_date_value", &year.to_string());
        url
    }
}

/// Parses one page of the feed.
pub fn parse_feed(url: &str, xml: &str) -> Result<Vec<YieldPoint>, ProviderError> {
    let payload = |detail: String| ProviderError::Payload {
        provider: NAME.into(),
        url: url.into(),
        detail,
    };
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| payload(format!("not XML ({e}): {}", excerpt(xml))))?;
    if doc.root_element().tag_name().name() != "feed" {
        return Err(payload(format!(
            "expected an Atom <feed>, got <{}>",
            doc.root_element().tag_name().name()
        )));
    }
    let mut out = Vec::new();
    for properties in doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "properties")
    {
        let child = |name: &str| {
            properties
                .children()
                .find(|c| c.is_element() && c.tag_name().name() == name)
        };
        let Some(date_text) = child("NEW_DATE").and_then(|n| n.text()) else {
            return Err(payload("an entry without d:NEW_DATE".into()));
        };
        let date = date_text
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| payload(format!("bad NEW_DATE {date_text:?}")))?;
        for (name, maturity) in FIELDS {
            let Some(text) = child(name).and_then(|n| n.text()).map(str::trim) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            let percent: f64 = text
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| payload(format!("{date}: bad {name} value {text:?}")))?;
            out.push(YieldPoint {
                maturity,
                date,
                percent,
            });
        }
    }
    out.sort_by_key(|y| (y.date, y.maturity));
    Ok(out)
}

#[async_trait]
impl Provider for Treasury {
    fn name(&self) -> &str {
        NAME
    }

    async fn treasury_yields(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<YieldPoint>, ProviderError> {
        let mut out = Vec::new();
        for year in start.year()..=end.year() {
            let url = self.year_url(year);
            let shown = redact(&url);
            let xml = self
                .http
                .get(&url, |status, body| {
                    if status == 200 {
                        Verdict::Done(String::from_utf8_lossy(body).into_owned())
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
            out.extend(
                parse_feed(&shown, &xml)?
                    .into_iter()
                    .filter(|y| y.date >= start && y.date <= end),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tenors_are_absent_not_errors() {
        let xml = r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices">
<entry><content type="application/xml"><m:properties>
<d:NEW_DATE m:type="Edm.DateTime">2017-01-03T00:00:00</d:NEW_DATE>
<d:BC_1MONTH m:type="Edm.Double">0.52</d:BC_1MONTH>
<d:BC_2MONTH m:type="Edm.Double" m:null="true"/>
<d:BC_10YEAR m:type="Edm.Double">2.45</d:BC_10YEAR>
</m:properties></content></entry></feed>"#;
        let points = parse_feed("u", xml).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].maturity, Maturity::TenYear);
        assert!((points[1].percent - 2.45).abs() < 1e-12);
        assert!(parse_feed("u", "<html/>").is_err());
    }
}
