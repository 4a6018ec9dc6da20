//! Analysis windows.
//!
//! scrilla anchored default windows at "today" by the machine's clock. Stratus has no clock in its
//! core: the caller passes the latest date it holds data for, and the default window is the last
//! 100 returns (101 prices) ending there. User dates snap as scrilla's do — a weekend or holiday
//! end or start moves back to the previous session. A reversed window (start after end) is an
//! error naming both dates rather than silently swapped as scrilla did: it is almost always a
//! typo, and guessing hides it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;
use crate::calendar::TradingCalendar;

/// Returns in a default window (scrilla's `DEFAULT_ANALYSIS_PERIOD`).
pub const DEFAULT_WINDOW_RETURNS: usize = 100;

/// An inclusive date range of sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First date, inclusive.
    pub start: NaiveDate,
    /// Last date, inclusive.
    pub end: NaiveDate,
}

/// Resolves optional user dates into a window. `latest` is the last date with data; an end
/// after it is clamped to it. A start after the end, or after the data, is
/// [`AnalyticsError::EmptyWindow`].
pub fn resolve_window(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    latest: NaiveDate,
    default_returns: usize,
    calendar: &TradingCalendar,
) -> Result<Window, AnalyticsError> {
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(AnalyticsError::EmptyWindow {
            start: s,
            end_what: "end",
            end: e,
            fix: "swap --start and --end",
        });
    }
    let end = calendar.session_on_or_before(end.map_or(latest, |e| e.min(latest)));
    let start = match start {
        Some(s) => calendar.session_on_or_before(s),
        None => calendar.sessions_back(end, default_returns),
    };
    if start > end {
        return Err(AnalyticsError::EmptyWindow {
            start,
            end_what: "the last date with data",
            end,
            fix: "choose an earlier --start, or load newer data",
        });
    }
    Ok(Window { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarKind;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn default_window_holds_101_sessions() {
        let cal = TradingCalendar::get(CalendarKind::Nyse);
        let w = resolve_window(None, None, d("2022-12-28"), 100, cal).unwrap();
        assert_eq!(w.end, d("2022-12-28"));
        assert_eq!(cal.sessions(w.start, w.end).len(), 101);
    }

    #[test]
    fn snaps_weekends_back_and_refuses_empty_windows() {
        let cal = TradingCalendar::get(CalendarKind::Nyse);
        let w = resolve_window(
            Some(d("2022-01-01")),
            Some(d("2022-12-25")),
            d("2022-12-28"),
            100,
            cal,
        )
        .unwrap();
        assert_eq!(
            w,
            Window {
                start: d("2021-12-31"),
                end: d("2022-12-23")
            }
        );
        let future =
            resolve_window(None, Some(d("2030-01-01")), d("2022-12-28"), 100, cal).unwrap();
        assert_eq!(future.end, d("2022-12-28"));
        let reversed = resolve_window(
            Some(d("2022-12-25")),
            Some(d("2022-01-01")),
            d("2022-12-28"),
            100,
            cal,
        )
        .unwrap_err()
        .to_string();
        assert!(
            reversed.contains("2022-12-25")
                && reversed.contains("2022-01-01")
                && reversed.contains("swap"),
            "{reversed}"
        );
        let after_data = resolve_window(Some(d("2023-03-01")), None, d("2022-12-28"), 100, cal)
            .unwrap_err()
            .to_string();
        assert!(
            after_data.contains("last date with data 2022-12-28"),
            "{after_data}"
        );
        // A start and end on the same weekend snap to the same session: one price, not an error
        // here (the statistic then asks for more prices).
        let same = resolve_window(
            Some(d("2022-12-24")),
            Some(d("2022-12-25")),
            d("2022-12-28"),
            100,
            cal,
        )
        .unwrap();
        assert_eq!(same.start, same.end);
    }
}
