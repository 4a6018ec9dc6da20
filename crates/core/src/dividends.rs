//! The dividend discount model (scrilla's `ddm`, §4.12 of the behaviour notes).
//!
//! Future dividends follow the straight line fitted (OLS) to the payment history against time
//! in years; payments continue at the history's payment interval from the first date on or after
//! `today`, and each is discounted at `rate`. Two of scrilla's defects (D21) are fixed:
//!
//! * a flat history (every amount equal) has a zero slope and the common amount as intercept,
//!   instead of scrilla's fallback that left the slope unset and crashed;
//! * the payment interval snaps to the standard frequencies (annual, semi-annual, quarterly,
//!   monthly) when the mean gap is within 15 % of one, so calendar jitter (a payment on the 9th
//!   instead of the 10th) does not stretch the schedule; other intervals are used as measured.
//!
//! The sum stops when a discounted payment falls below 1e-7 (scrilla's tolerance), or at the
//! first payment the line would make non-positive: a company does not pay negative dividends.

use chrono::NaiveDate;

use crate::AnalyticsError;

/// Discounted payments below this end the sum.
pub const NPV_TOLERANCE: f64 = 1e-7;
/// Payments after this many years are not summed (a guard; convergent sums end far earlier).
const HORIZON_YEARS: f64 = 2_000.0;
const DAYS_PER_YEAR: f64 = 365.0;

/// The fitted model and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DividendModel {
    /// Fitted amount at the first payment date (intercept).
    pub intercept: f64,
    /// Change of the amount per year (slope).
    pub slope: f64,
    /// Years between payments.
    pub period_years: f64,
    /// The next payment date (on or after `today`).
    pub next_payment: NaiveDate,
    /// Payments in the history.
    pub payments: usize,
    /// The discount rate used.
    pub rate: f64,
    /// Net present value per share of the modelled future dividends.
    pub npv: f64,
}

impl DividendModel {
    /// The modelled amount `years` after the first historical payment.
    pub fn amount_at(&self, years: f64) -> f64 {
        self.intercept + self.slope * years
    }
}

fn years_between(earlier: NaiveDate, later: NaiveDate) -> f64 {
    (later - earlier).num_days() as f64 / DAYS_PER_YEAR
}

/// Snaps a measured interval to a standard payment frequency when it is close to one.
pub fn payment_period(mean_gap_years: f64) -> f64 {
    [1.0, 0.5, 0.25, 1.0 / 12.0]
        .into_iter()
        .find(|p| ((mean_gap_years - p) / p).abs() <= 0.15)
        .unwrap_or(mean_gap_years)
}

/// Fits and values the model over `payments` (date, amount), in any order.
pub fn discount_dividend_model(
    ticker: &str,
    payments: &[(NaiveDate, f64)],
    today: NaiveDate,
    rate: f64,
) -> Result<DividendModel, AnalyticsError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(AnalyticsError::InvalidParameter {
            name: "--discount",
            value: rate.to_string(),
            reason: "the discount rate must be a positive decimal (0.08 for 8 %); with a rate at or below zero the sum of future dividends does not converge",
        });
    }
    let mut sorted: Vec<(NaiveDate, f64)> = payments.to_vec();
    sorted.sort_by_key(|(d, _)| *d);
    sorted.dedup_by_key(|(d, _)| *d);
    if sorted.len() < 3 {
        return Err(AnalyticsError::TooFewPrices {
            ticker: format!("{ticker} (dividend payments)"),
            found: sorted.len(),
            needed: 3,
        });
    }
    if let Some((date, amount)) = sorted.iter().find(|(_, a)| !(a.is_finite() && *a > 0.0)) {
        return Err(AnalyticsError::InvalidPrice {
            ticker: format!("{ticker} dividend"),
            date: *date,
            value: *amount,
        });
    }
    let first = sorted[0].0;
    let last = sorted[sorted.len() - 1].0;
    let n = sorted.len() as f64;
    let xs: Vec<f64> = sorted
        .iter()
        .map(|(d, _)| years_between(first, *d))
        .collect();
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = sorted.iter().map(|(_, a)| a).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(&sorted)
        .map(|(x, (_, y))| (x - mean_x) * (y - mean_y))
        .sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = mean_y - slope * mean_x;

    let period_years = payment_period(years_between(first, last) / (n - 1.0));
    let step_days = ((DAYS_PER_YEAR * period_years).floor() as i64).max(1);
    let mut next_payment = last;
    while next_payment < today {
        next_payment += chrono::Duration::days(step_days);
    }
    let t0 = years_between(today, next_payment);
    let time_to_today = years_between(first, today);

    let mut npv = 0.0;
    let mut i = 0u32;
    loop {
        let t = t0 + f64::from(i) * period_years;
        if t > HORIZON_YEARS {
            break;
        }
        let amount = intercept + slope * (t + time_to_today);
        if amount <= 0.0 {
            break;
        }
        let increment = amount / (1.0 + rate).powf(t);
        npv += increment;
        if increment < NPV_TOLERANCE {
            break;
        }
        i += 1;
    }
    Ok(DividendModel {
        intercept,
        slope,
        period_years,
        next_payment,
        payments: sorted.len(),
        rate,
        npv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn flat_quarterly_dividends_are_a_geometric_series() {
        // Equal payments every 91 days: slope 0, period snaps to a quarter (91 days per step).
        let start = d("2020-01-10");
        let payments: Vec<(NaiveDate, f64)> = (0..12)
            .map(|k| (start + chrono::Duration::days(91 * k), 0.5))
            .collect();
        let today = d("2023-03-01");
        let rate = 0.08;
        let m = discount_dividend_model("FLAT", &payments, today, rate).unwrap();
        assert_eq!(m.slope, 0.0);
        assert!((m.intercept - 0.5).abs() < 1e-15);
        assert_eq!(m.period_years, 0.25);
        // Next payment: step 91 days from the last (2022-10-07) until on or after today.
        assert_eq!(m.next_payment, d("2023-04-07"));
        let t0 = 37.0 / 365.0;
        let v = 1.0 / (1.0 + rate);
        // Σ 0.5·v^(t0 + i/4) = 0.5·v^t0 / (1 − v^¼), truncated where terms fall below 1e-7.
        let closed_form = 0.5 * v.powf(t0) / (1.0 - v.powf(0.25));
        assert!(
            (m.npv - closed_form).abs() < 1e-5,
            "{} vs {closed_form}",
            m.npv
        );
    }

    #[test]
    fn growing_dividends_match_an_independent_computation() {
        // Reference: numpy.polyfit and a plain Python loop of the written definition
        // (tools/reference/reference_ddm.py); tolerances 1e-9 (slope) and 1e-6 (NPV).
        let payments = [
            ("2021-03-10", 1.00),
            ("2021-06-10", 1.02),
            ("2021-09-10", 1.03),
            ("2021-12-10", 1.05),
            ("2022-03-10", 1.06),
            ("2022-06-10", 1.08),
            ("2022-09-10", 1.10),
            ("2022-12-10", 1.11),
        ];
        let payments: Vec<(NaiveDate, f64)> = payments.iter().map(|(s, a)| (d(s), *a)).collect();
        let m = discount_dividend_model("GROW", &payments, d("2023-01-15"), 0.09).unwrap();
        assert!((m.slope - REFERENCE_SLOPE).abs() < 1e-9, "{}", m.slope);
        assert_eq!(m.next_payment, d("2023-03-11"));
        assert!((m.npv - REFERENCE_NPV).abs() < 1e-6, "{}", m.npv);
    }

    // Printed by tools/reference/reference_ddm.py.
    const REFERENCE_SLOPE: f64 = 0.063_263_876_110_965_86;
    const REFERENCE_NPV: f64 = 85.847_696_504_917_12;

    #[test]
    fn bad_inputs_are_named() {
        let two = [(d("2022-01-01"), 1.0), (d("2022-04-01"), 1.0)];
        let e = discount_dividend_model("X", &two, d("2023-01-01"), 0.1).unwrap_err();
        assert!(e.to_string().contains("at least 3"), "{e}");
        let three = [
            (d("2022-01-01"), 1.0),
            (d("2022-04-01"), 1.0),
            (d("2022-07-01"), 1.0),
        ];
        let e = discount_dividend_model("X", &three, d("2023-01-01"), 0.0).unwrap_err();
        assert!(e.to_string().contains("--discount"), "{e}");
        let nan = [
            (d("2022-01-01"), 1.0),
            (d("2022-04-01"), f64::NAN),
            (d("2022-07-01"), 1.0),
        ];
        assert!(discount_dividend_model("X", &nan, d("2023-01-01"), 0.1).is_err());
    }

    #[test]
    fn periods_snap_only_when_close() {
        assert_eq!(payment_period(0.26), 0.25);
        assert_eq!(payment_period(0.09), 1.0 / 12.0);
        assert_eq!(payment_period(0.37), 0.37);
    }
}
