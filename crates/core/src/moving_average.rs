//! Moving averages of the return, scrilla's `mov-averages`.
//!
//! For each date and period p, the estimate over the p returns ending at that date, taken by
//! position in the price history. With the moments method this is the log drift
//! ln(P_t / P_{t−p}) per year, **without** the Itô term (as scrilla defines it); with percentiles
//! or likelihood it is that estimator's annual return over the slice.

use chrono::NaiveDate;
use serde::Serialize;

use crate::calendar::TradingCalendar;
use crate::error::AnalyticsError;
use crate::estimators::{Method, estimate};
use crate::series::PriceSeries;

/// Moving averages for a range of dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MovingAverages {
    /// The periods, in the order of each row's values.
    pub periods: Vec<usize>,
    /// One row per date: the average for each period, `None` where the history is too short.
    pub rows: Vec<(NaiveDate, Vec<Option<f64>>)>,
}

/// Checks that periods are positive and increasing (scrilla's MA_1 < MA_2 < MA_3 rule).
pub fn check_periods(periods: &[usize]) -> Result<(), AnalyticsError> {
    let increasing = periods.windows(2).all(|w| w[0] < w[1]);
    if periods.is_empty() || periods[0] < 2 || !increasing {
        return Err(AnalyticsError::InvalidParameter {
            name: "moving-average periods",
            value: format!("{periods:?}"),
            reason: "periods must be increasing whole numbers of at least 2, e.g. 20,60,100",
        });
    }
    Ok(())
}

/// Moving averages of `series` for every price dated on or after `from`.
pub fn moving_averages(
    series: &PriceSeries,
    calendar: &TradingCalendar,
    periods: &[usize],
    from: NaiveDate,
    method: Method,
    periods_per_year: f64,
) -> Result<MovingAverages, AnalyticsError> {
    check_periods(periods)?;
    series.require(3)?;
    let returns = series.log_returns(calendar);
    let dt = 1.0 / periods_per_year;
    let mut rows = Vec::new();
    for (j, &date) in series.dates().iter().enumerate() {
        if date < from {
            continue;
        }
        let mut values = Vec::with_capacity(periods.len());
        for &p in periods {
            if j < p {
                values.push(None);
                continue;
            }
            // Returns j−p … j−1 end at prices j−p+1 … j.
            let span = j - p..j;
            let value = match method {
                Method::Moments => {
                    let elapsed: u32 = returns.periods[span].iter().sum();
                    (series.closes()[j] / series.closes()[j - p]).ln() / (f64::from(elapsed) * dt)
                }
                _ => {
                    let slice = PriceSeries::new(
                        series.ticker(),
                        series.dates()[j - p..=j]
                            .iter()
                            .copied()
                            .zip(series.closes()[j - p..=j].iter().copied()),
                    )?;
                    estimate(&slice.log_returns(calendar), method, periods_per_year)?.annual_return
                }
            };
            values.push(Some(value));
        }
        rows.push((date, values));
    }
    Ok(MovingAverages {
        periods: periods.to_vec(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarKind;

    #[test]
    fn moments_average_is_the_log_drift_by_position() {
        let cal = TradingCalendar::get(CalendarKind::Nyse);
        let dates = cal.sessions("2022-01-03".parse().unwrap(), "2022-01-31".parse().unwrap());
        let closes: Vec<f64> = (0..dates.len())
            .map(|i| 100.0 * (1.0 + 0.01 * i as f64))
            .collect();
        let s = PriceSeries::new("X", dates.iter().copied().zip(closes.iter().copied())).unwrap();
        let ma = moving_averages(&s, cal, &[2, 5], dates[3], Method::Moments, 252.0).unwrap();
        assert_eq!(ma.rows.len(), dates.len() - 3);
        let (date, values) = &ma.rows[0];
        assert_eq!(*date, dates[3]);
        assert!(values[1].is_none()); // only 3 returns of history at index 3
        let want = (closes[3] / closes[1]).ln() / (2.0 / 252.0);
        assert!((values[0].unwrap() - want).abs() < 1e-12);
        assert!(check_periods(&[20, 10]).is_err());
    }
}
