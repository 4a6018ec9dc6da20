//! Price series and their log returns.
//!
//! A return between two stored prices may span more than one trading period when a session is
//! missing from the data (a user's CSV with gaps). The number of periods Δ comes from the trading
//! calendar, so estimators scale such a return by its real length. With the bundled data every
//! Δ is 1. scrilla counted calendar days instead and treated the Good Friday gap as four days
//! (defect D6); with an exchange calendar that gap is one period.

use chrono::NaiveDate;

use crate::calendar::TradingCalendar;
use crate::error::AnalyticsError;

/// Trading periods in a year for equities (scrilla's dt = 1/252).
pub const EQUITY_PERIODS_PER_YEAR: f64 = 252.0;

/// Closing prices of one instrument, ascending by date, validated on construction.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    ticker: String,
    dates: Vec<NaiveDate>,
    closes: Vec<f64>,
}

impl PriceSeries {
    /// Builds a series from `(date, close)` points in ascending date order. Rejects NaN,
    /// infinite, zero and negative prices and dates that do not strictly increase.
    pub fn new(
        ticker: impl Into<String>,
        points: impl IntoIterator<Item = (NaiveDate, f64)>,
    ) -> Result<Self, AnalyticsError> {
        let ticker = ticker.into();
        let points = points.into_iter();
        let mut dates = Vec::with_capacity(points.size_hint().0);
        let mut closes = Vec::with_capacity(points.size_hint().0);
        for (date, close) in points {
            if !(close.is_finite() && close > 0.0) {
                return Err(AnalyticsError::InvalidPrice {
                    ticker,
                    date,
                    value: close,
                });
            }
            if dates.last().is_some_and(|last| *last >= date) {
                return Err(AnalyticsError::UnorderedDates { ticker, date });
            }
            dates.push(date);
            closes.push(close);
        }
        Ok(PriceSeries {
            ticker,
            dates,
            closes,
        })
    }

    /// The instrument's symbol.
    pub fn ticker(&self) -> &str {
        &self.ticker
    }

    /// Dates, ascending.
    pub fn dates(&self) -> &[NaiveDate] {
        &self.dates
    }

    /// Closing prices, aligned with [`dates`](Self::dates).
    pub fn closes(&self) -> &[f64] {
        &self.closes
    }

    /// Number of prices.
    pub fn len(&self) -> usize {
        self.closes.len()
    }

    /// Whether the series has no prices.
    pub fn is_empty(&self) -> bool {
        self.closes.is_empty()
    }

    /// The latest `(date, close)`.
    pub fn last(&self) -> Option<(NaiveDate, f64)> {
        Some((*self.dates.last()?, *self.closes.last()?))
    }

    /// Fails unless the series has at least `needed` prices.
    pub fn require(&self, needed: usize) -> Result<(), AnalyticsError> {
        if self.len() < needed {
            return Err(AnalyticsError::TooFewPrices {
                ticker: self.ticker.clone(),
                found: self.len(),
                needed,
            });
        }
        Ok(())
    }

    /// The sub-series whose dates are also in `other` (both ascending).
    pub fn restricted_to_dates_of(&self, other: &PriceSeries) -> PriceSeries {
        let mut dates = Vec::new();
        let mut closes = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.dates.len() && j < other.dates.len() {
            match self.dates[i].cmp(&other.dates[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dates.push(self.dates[i]);
                    closes.push(self.closes[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        PriceSeries {
            ticker: self.ticker.clone(),
            dates,
            closes,
        }
    }

    /// Log returns of consecutive prices, with the number of trading periods each spans.
    pub fn log_returns(&self, calendar: &TradingCalendar) -> LogReturns {
        let n = self.len().saturating_sub(1);
        let mut dates = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        let mut periods = Vec::with_capacity(n);
        for i in 1..self.len() {
            dates.push(self.dates[i]);
            values.push((self.closes[i] / self.closes[i - 1]).ln());
            // Two non-session dates (weekend rows in a user's file) still span a period.
            periods.push(
                calendar
                    .periods_between(self.dates[i - 1], self.dates[i])
                    .max(1),
            );
        }
        let total_log = match (self.closes.first(), self.closes.last()) {
            (Some(first), Some(last)) if n > 0 => (last / first).ln(),
            _ => 0.0,
        };
        LogReturns {
            ticker: self.ticker.clone(),
            dates,
            values,
            periods,
            total_log,
            price_count: self.len(),
        }
    }

    /// Simple returns P_t / P_{t−1} − 1 (the convention of the portfolio libraries).
    pub fn simple_returns(&self) -> Vec<f64> {
        self.closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
    }
}

/// Log returns ℓ_i = ln(P_i / P_{i−1}) with their lengths Δ_i in trading periods.
#[derive(Debug, Clone, PartialEq)]
pub struct LogReturns {
    /// The instrument.
    pub ticker: String,
    /// Date of the later price of each pair.
    pub dates: Vec<NaiveDate>,
    /// ℓ_i.
    pub values: Vec<f64>,
    /// Δ_i ≥ 1.
    pub periods: Vec<u32>,
    /// ln(P_n / P_0), the telescoped sum, exact even where summing ℓ_i would round.
    pub total_log: f64,
    /// Prices the returns were computed from.
    pub price_count: usize,
}

impl LogReturns {
    /// Number of returns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no returns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Total trading periods spanned.
    pub fn total_periods(&self) -> u64 {
        self.periods.iter().map(|&p| u64::from(p)).sum()
    }

    /// scrilla's "sample of returns": each return divided by its length and annualised,
    /// r_i = ℓ_i / Δ_i · periods_per_year.
    pub fn annualised_sample(&self, periods_per_year: f64) -> Vec<f64> {
        self.values
            .iter()
            .zip(&self.periods)
            .map(|(l, &p)| l / f64::from(p) * periods_per_year)
            .collect()
    }

    /// Returns scaled to unit time, x_i = ℓ_i / √(Δ_i·dt): the quantities whose variance is the
    /// annual variance.
    pub fn unit_time_scaled(&self, periods_per_year: f64) -> Vec<f64> {
        let dt = 1.0 / periods_per_year;
        self.values
            .iter()
            .zip(&self.periods)
            .map(|(l, &p)| l / (f64::from(p) * dt).sqrt())
            .collect()
    }

    /// Fails unless there are at least `needed` returns (`needed + 1` prices).
    pub fn require(&self, needed: usize) -> Result<(), AnalyticsError> {
        if self.len() < needed {
            return Err(AnalyticsError::TooFewPrices {
                ticker: self.ticker.clone(),
                found: self.price_count,
                needed: needed + 1,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarKind;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rejects_bad_prices_and_order() {
        let nan = PriceSeries::new("X", [(d("2022-01-03"), f64::NAN)]).unwrap_err();
        assert!(
            nan.to_string()
                .contains("invalid price for X on 2022-01-03")
        );
        let neg = PriceSeries::new("X", [(d("2022-01-03"), -1.0)]);
        assert!(matches!(neg, Err(AnalyticsError::InvalidPrice { .. })));
        let dup = PriceSeries::new("X", [(d("2022-01-03"), 1.0), (d("2022-01-03"), 2.0)]);
        assert!(matches!(dup, Err(AnalyticsError::UnorderedDates { .. })));
    }

    #[test]
    fn returns_count_periods_across_missing_sessions() {
        let cal = TradingCalendar::get(CalendarKind::Nyse);
        // Thursday before Good Friday, Monday after, then a gap over Tue/Wed to Thursday.
        let s = PriceSeries::new(
            "X",
            [
                (d("2022-04-14"), 100.0),
                (d("2022-04-18"), 110.0),
                (d("2022-04-21"), 99.0),
            ],
        )
        .unwrap();
        let r = s.log_returns(cal);
        assert_eq!(r.periods, vec![1, 3]);
        assert!((r.values[0] - (1.1f64).ln()).abs() < 1e-15);
        assert!((r.total_log - (0.99f64).ln()).abs() < 1e-15);
        let sample = r.annualised_sample(252.0);
        assert!((sample[1] - (99.0f64 / 110.0).ln() / 3.0 * 252.0).abs() < 1e-12);
    }

    #[test]
    fn too_few_prices_names_the_ticker() {
        let s = PriceSeries::new("AAPL", [(d("2022-01-03"), 1.0)]).unwrap();
        let err = s.require(2).unwrap_err().to_string();
        assert!(
            err.contains("AAPL") && err.contains("1 in the window"),
            "{err}"
        );
    }
}
