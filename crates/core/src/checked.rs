//! Checked conversions from the numbers people type to the sizes and amounts code uses.
//!
//! A float that feeds a size (sessions in a horizon, shares bought, points on a frontier) went
//! through ad-hoc `as` casts before: `1e308` years saturated to `usize::MAX`, `+ 2` wrapped to 1
//! and a slice window of width 0 panicked; `NaN` became 0 and silently meant "one day". Every
//! such conversion now goes through this module, which refuses what it cannot represent with an
//! error naming the input, so an adapter answers 400 / exit 2 instead of crashing or guessing.

use crate::error::AnalyticsError;
use crate::series::EQUITY_PERIODS_PER_YEAR;

/// The longest horizon accepted anywhere, in years. A century of sessions (25 200) is beyond any
/// window of daily data, and keeps every derived size far from overflow.
pub const MAX_HORIZON_YEARS: f64 = 100.0;

/// The largest amount of money accepted (10¹⁵, a thousand times the largest fund in existence);
/// share counts computed from it stay exact in an `f64` and a `u64`.
pub const MAX_AMOUNT: f64 = 1e15;

/// Most points one frontier request may compute.
pub const MAX_FRONTIER_STEPS: usize = 2000;

/// A finite number, or an error naming `name`.
pub fn finite(name: &'static str, value: f64) -> Result<f64, AnalyticsError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(AnalyticsError::InvalidParameter {
            name,
            value: value.to_string(),
            reason: "a finite number is needed",
        })
    }
}

/// A horizon in years: finite, positive, at most [`MAX_HORIZON_YEARS`].
pub fn horizon_years(name: &'static str, years: f64) -> Result<f64, AnalyticsError> {
    if years.is_finite() && years > 0.0 && years <= MAX_HORIZON_YEARS {
        Ok(years)
    } else {
        Err(AnalyticsError::InvalidParameter {
            name,
            value: years.to_string(),
            reason: "a positive horizon in years of at most 100 is needed, e.g. 0.5 (1/252 ≈ 0.004 is one trading day)",
        })
    }
}

/// Whole trading sessions in a horizon of `years` (at least one), for historical methods that
/// step through daily prices.
pub fn horizon_sessions(name: &'static str, years: f64) -> Result<usize, AnalyticsError> {
    let years = horizon_years(name, years)?;
    // ≤ 25 200 after the check above, so the cast is exact.
    let sessions = (years * EQUITY_PERIODS_PER_YEAR).round();
    Ok((sessions as usize).max(1))
}

/// A positive amount of money, at most [`MAX_AMOUNT`].
pub fn amount(name: &'static str, value: f64) -> Result<f64, AnalyticsError> {
    if value.is_finite() && value > 0.0 && value <= MAX_AMOUNT {
        Ok(value)
    } else {
        Err(AnalyticsError::InvalidParameter {
            name,
            value: value.to_string(),
            reason: "a positive amount of at most 1e15 is needed",
        })
    }
}

/// Whole units of `price` that `budget` buys (rounded down, with a relative tolerance so that an
/// exact multiple computed in floating point is not one short).
pub fn whole_units(budget: f64, price: f64) -> Result<u64, AnalyticsError> {
    let price = if price.is_finite() && price > 0.0 {
        price
    } else {
        return Err(AnalyticsError::InvalidParameter {
            name: "price",
            value: price.to_string(),
            reason: "a finite positive price is needed",
        });
    };
    let budget = if (0.0..=MAX_AMOUNT).contains(&budget) {
        budget
    } else {
        return Err(AnalyticsError::InvalidParameter {
            name: "--invest",
            value: budget.to_string(),
            reason: "a positive amount of at most 1e15 is needed",
        });
    };
    let units = (budget / price * (1.0 + 1e-12)).floor();
    // 2⁵³: above it, f64 no longer holds every whole number, and the count would be a guess.
    if units > 9_007_199_254_740_992.0 {
        return Err(AnalyticsError::InvalidParameter {
            name: "--invest",
            value: budget.to_string(),
            reason: "the amount buys more shares than can be counted exactly; use a smaller amount",
        });
    }
    Ok(units as u64)
}

/// A number of frontier points: 2 (the two ends) to [`MAX_FRONTIER_STEPS`].
pub fn frontier_steps(name: &'static str, steps: usize) -> Result<usize, AnalyticsError> {
    if (2..=MAX_FRONTIER_STEPS).contains(&steps) {
        Ok(steps)
    } else {
        Err(AnalyticsError::InvalidParameter {
            name,
            value: steps.to_string(),
            reason: "between 2 and at most 2000 points are needed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_convert_exactly_or_are_refused() {
        assert_eq!(horizon_sessions("--expiry", 1.0 / 252.0), Ok(1));
        assert_eq!(horizon_sessions("--expiry", 0.5), Ok(126));
        assert_eq!(horizon_sessions("--expiry", 1e-9), Ok(1));
        assert_eq!(horizon_sessions("--expiry", 100.0), Ok(25_200));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e308, 100.01] {
            let e = horizon_sessions("--expiry", bad).unwrap_err();
            assert!(e.to_string().contains("--expiry"), "{e}");
        }
    }

    #[test]
    fn shares_are_whole_and_bounded() {
        assert_eq!(whole_units(100.0, 10.0), Ok(10));
        assert_eq!(whole_units(0.3 * 10.0, 0.1), Ok(30));
        assert_eq!(whole_units(99.99, 10.0), Ok(9));
        assert_eq!(whole_units(0.0, 10.0), Ok(0));
        assert!(whole_units(1e300, 10.0).is_err());
        assert!(whole_units(1e15, 1e-6).is_err());
        assert!(whole_units(f64::NAN, 10.0).is_err());
        assert!(whole_units(10.0, 0.0).is_err());
        assert!(amount("--invest", 1e300).is_err());
        assert!(amount("--invest", -5.0).is_err());
        assert_eq!(amount("--invest", 1e6), Ok(1e6));
    }

    #[test]
    fn counts_and_finite_values() {
        assert!(frontier_steps("--steps", 1).is_err());
        assert!(frontier_steps("--steps", 2001).is_err());
        assert_eq!(frontier_steps("--steps", 50), Ok(50));
        assert!(finite("--target", f64::NAN).is_err());
        assert_eq!(finite("--target", 0.2), Ok(0.2));
    }
}
