//! Trading calendars.
//!
//! Every estimator in Stratus depends on knowing which dates are sessions: the return of a pair of
//! adjacent prices spans one trading period only if no session lies between them, windows are
//! counted in sessions, and a weekend or holiday date given by the user must snap to a session.
//! scrilla derived its calendar from US *federal* holidays looked up by name in a third-party
//! package on every call; that made Good Friday a four-day return, MLK Day a holiday in years the
//! exchange was open, and cost most of its run time (defects D6, D7, D18 in the behaviour notes).
//!
//! Stratus computes each calendar once from explicit rules into a bitmap with a running session
//! count, so membership and "sessions between two dates" are O(1):
//!
//! * [`CalendarKind::Nyse`] — the New York Stock Exchange: weekends, the exchange's holiday rules
//!   (Good Friday included, MLK Day from 1998, Juneteenth from 2022, New Year's Day falling on a
//!   Saturday not observed) and the one-off closures since 1990 (funerals, 9/11, Hurricane Sandy).
//! * [`CalendarKind::Bond`] — the US Treasury market as the Treasury's published par-yield dates
//!   show it: the NYSE rules plus Columbus Day and Veterans Day, with federal observance rules,
//!   its own one-off closures (it opened on some days the exchange closed), and open on the Good Fridays that had an early close
//!   (a test checks this against every publication date from 1990 to 2025).
//!
//! Dates outside 1900–2199 fall back to "every weekday is a session".

use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Which market's sessions to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalendarKind {
    /// New York Stock Exchange sessions (equities).
    Nyse,
    /// US Treasury market business days (interest rates).
    Bond,
}

impl std::fmt::Display for CalendarKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CalendarKind::Nyse => "nyse",
            CalendarKind::Bond => "bond",
        })
    }
}

/// NYSE closures that follow no yearly rule (from 1990 on).
const NYSE_ONE_OFF_CLOSURES: &[(i32, u32, u32)] = &[
    (1994, 4, 27), // national day of mourning, President Nixon
    (2001, 9, 11), // September 11 attacks
    (2001, 9, 12),
    (2001, 9, 13),
    (2001, 9, 14),
    (2004, 6, 11),  // national day of mourning, President Reagan
    (2007, 1, 2),   // national day of mourning, President Ford
    (2012, 10, 29), // Hurricane Sandy
    (2012, 10, 30),
    (2018, 12, 5), // national day of mourning, President G. H. W. Bush
    (2025, 1, 9),  // national day of mourning, President Carter
];

/// Bond-market closures that follow no yearly rule, as the Treasury's publication gaps show.
const BOND_ONE_OFF_CLOSURES: &[(i32, u32, u32)] = &[
    (1994, 4, 27),
    (2001, 9, 11),
    (2001, 9, 12),
    (2004, 6, 11),
    (2012, 10, 30),
    (2018, 12, 5),
];

/// Good Fridays on which the bond market opened (an early close, recommended by SIFMA when the
/// monthly employment report fell on that day), as the Treasury's published yields show.
const BOND_GOOD_FRIDAY_SESSIONS: &[i32] = &[1996, 1999, 2007, 2010, 2012, 2015, 2021, 2023];

const FIRST_YEAR: i32 = 1900;
const LAST_YEAR: i32 = 2199;

/// A precomputed set of sessions with O(1) lookups.
#[derive(Debug)]
pub struct TradingCalendar {
    kind: CalendarKind,
    origin: NaiveDate,
    is_session: Vec<bool>,
    /// `sessions_before[i]` = number of sessions strictly before day `i`.
    sessions_before: Vec<u32>,
}

impl TradingCalendar {
    /// The shared calendar of a kind, built on first use.
    pub fn get(kind: CalendarKind) -> &'static TradingCalendar {
        static NYSE: OnceLock<TradingCalendar> = OnceLock::new();
        static BOND: OnceLock<TradingCalendar> = OnceLock::new();
        match kind {
            CalendarKind::Nyse => NYSE.get_or_init(|| TradingCalendar::build(kind)),
            CalendarKind::Bond => BOND.get_or_init(|| TradingCalendar::build(kind)),
        }
    }

    fn build(kind: CalendarKind) -> TradingCalendar {
        let origin = ymd(FIRST_YEAR, 1, 1);
        let end = ymd(LAST_YEAR, 12, 31);
        let days = usize::try_from((end - origin).num_days() + 1).expect("positive span");
        // Weekdays by counting from the origin's (date arithmetic per day was most of the cost
        // of a short command's first use of the calendar).
        let first_weekday = origin.weekday().num_days_from_monday() as usize;
        let mut is_session: Vec<bool> = (0..days)
            .map(|offset| (first_weekday + offset) % 7 < 5)
            .collect();
        for year in FIRST_YEAR..=LAST_YEAR {
            for holiday in holidays(kind, year) {
                if let Some(i) = index_of(origin, days, holiday) {
                    is_session[i] = false;
                }
            }
        }
        let one_off = match kind {
            CalendarKind::Nyse => NYSE_ONE_OFF_CLOSURES,
            CalendarKind::Bond => BOND_ONE_OFF_CLOSURES,
        };
        for &(y, m, d) in one_off {
            if let Some(i) = index_of(origin, days, ymd(y, m, d)) {
                is_session[i] = false;
            }
        }
        let mut sessions_before = Vec::with_capacity(days + 1);
        let mut running = 0u32;
        for &open in &is_session {
            sessions_before.push(running);
            running += u32::from(open);
        }
        sessions_before.push(running);
        TradingCalendar {
            kind,
            origin,
            is_session,
            sessions_before,
        }
    }

    /// Which market this calendar describes.
    pub fn kind(&self) -> CalendarKind {
        self.kind
    }

    fn index(&self, date: NaiveDate) -> Option<usize> {
        index_of(self.origin, self.is_session.len(), date)
    }

    /// Whether the market is open on `date`.
    pub fn is_session(&self, date: NaiveDate) -> bool {
        match self.index(date) {
            Some(i) => self.is_session[i],
            None => !is_weekend(date),
        }
    }

    /// The last session strictly before `date`.
    pub fn previous_session(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date - Duration::days(1);
        while !self.is_session(day) {
            day -= Duration::days(1);
        }
        day
    }

    /// `date` itself if it is a session, else the last session before it.
    pub fn session_on_or_before(&self, date: NaiveDate) -> NaiveDate {
        if self.is_session(date) {
            date
        } else {
            self.previous_session(date)
        }
    }

    /// `date` itself if it is a session, else the first session after it.
    pub fn session_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_session(day) {
            day += Duration::days(1);
        }
        day
    }

    /// The session `n` sessions before `date` (counting from the session on or before `date`);
    /// `n = 100` gives the start of a window of 101 prices and 100 returns.
    pub fn sessions_back(&self, date: NaiveDate, n: usize) -> NaiveDate {
        let mut day = self.session_on_or_before(date);
        for _ in 0..n {
            day = self.previous_session(day);
        }
        day
    }

    /// Number of sessions in the half-open interval `(earlier, later]`: the number of trading
    /// periods a return from `earlier` to `later` spans (1 for adjacent sessions).
    pub fn periods_between(&self, earlier: NaiveDate, later: NaiveDate) -> u32 {
        if later <= earlier {
            return 0;
        }
        match (self.index(earlier), self.index(later)) {
            (Some(a), Some(b)) => self.sessions_before[b + 1] - self.sessions_before[a + 1],
            _ => {
                let mut count = 0;
                let mut day = earlier + Duration::days(1);
                while day <= later {
                    count += u32::from(self.is_session(day));
                    day += Duration::days(1);
                }
                count
            }
        }
    }

    /// All sessions in `[start, end]`, inclusive, in ascending order (the arguments may be given
    /// in either order).
    pub fn sessions(&self, start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
        let (start, end) = if start <= end {
            (start, end)
        } else {
            (end, start)
        };
        let mut out = Vec::new();
        let mut day = start;
        while day <= end {
            if self.is_session(day) {
                out.push(day);
            }
            day += Duration::days(1);
        }
        out
    }
}

fn index_of(origin: NaiveDate, days: usize, date: NaiveDate) -> Option<usize> {
    let offset = (date - origin).num_days();
    usize::try_from(offset).ok().filter(|&i| i < days)
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date")
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The `nth` (1-based) given weekday of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, nth: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, nth).expect("weekday exists")
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let next_month_first = if month == 12 {
        ymd(year + 1, 1, 1)
    } else {
        ymd(year, month + 1, 1)
    };
    let mut day = next_month_first - Duration::days(1);
    while day.weekday() != weekday {
        day -= Duration::days(1);
    }
    day
}

/// Saturday → Friday, Sunday → Monday.
fn observed(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date - Duration::days(1),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

/// The weekday holidays of one year for a calendar kind (rule-based closures only).
fn holidays(kind: CalendarKind, year: i32) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(12);
    // New Year's Day: a Sunday moves to Monday; a Saturday is not observed on the Friday before
    // (the exchange and the bond market both stay open on December 31).
    let new_year = ymd(year, 1, 1);
    if new_year.weekday() == Weekday::Sun {
        out.push(new_year + Duration::days(1));
    } else {
        out.push(new_year);
    }
    if year >= 1998 || (kind == CalendarKind::Bond && year >= 1986) {
        out.push(nth_weekday(year, 1, Weekday::Mon, 3)); // Martin Luther King Jr. Day
    }
    if year >= 1971 {
        out.push(nth_weekday(year, 2, Weekday::Mon, 3)); // Washington's Birthday
        out.push(last_weekday(year, 5, Weekday::Mon)); // Memorial Day
    }
    if kind == CalendarKind::Nyse || !BOND_GOOD_FRIDAY_SESSIONS.contains(&year) {
        out.push(easter_sunday(year) - Duration::days(2)); // Good Friday
    }
    if year >= 2022 {
        out.push(observed(ymd(year, 6, 19))); // Juneteenth
    }
    out.push(observed(ymd(year, 7, 4))); // Independence Day
    out.push(nth_weekday(year, 9, Weekday::Mon, 1)); // Labor Day
    out.push(nth_weekday(year, 11, Weekday::Thu, 4)); // Thanksgiving
    out.push(observed(ymd(year, 12, 25))); // Christmas
    if kind == CalendarKind::Bond && year >= 1971 {
        out.push(nth_weekday(year, 10, Weekday::Mon, 2)); // Columbus Day
        let veterans = ymd(year, 11, 11);
        // The bond market closes on a Sunday Veterans Day's Monday, not on a Saturday's Friday.
        if veterans.weekday() == Weekday::Sun {
            out.push(veterans + Duration::days(1));
        } else {
            out.push(veterans);
        }
    }
    out.retain(|d| !is_weekend(*d));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_dates_match_published_tables() {
        assert_eq!(easter_sunday(2000), d("2000-04-23"));
        assert_eq!(easter_sunday(2019), d("2019-04-21"));
        assert_eq!(easter_sunday(2022), d("2022-04-17"));
        assert_eq!(easter_sunday(2024), d("2024-03-31"));
        assert_eq!(easter_sunday(2038), d("2038-04-25"));
    }

    #[test]
    fn nyse_known_closures_and_openings() {
        let nyse = TradingCalendar::get(CalendarKind::Nyse);
        for closed in [
            "2022-04-15", // Good Friday
            "2022-06-20", // Juneteenth observed (Sunday)
            "2022-12-26", // Christmas observed
            "2021-12-24", // Christmas on Saturday
            "2012-10-29",
            "2001-09-13",
            "1998-01-19", // first MLK closure
        ] {
            assert!(!nyse.is_session(d(closed)), "{closed} should be closed");
        }
        for open in [
            "2021-12-31", // New Year's Day 2022 is a Saturday: no Friday closure
            "2021-06-18", // Juneteenth was not an NYSE holiday in 2021
            "1997-01-20", // MLK Day before 1998
            "2022-10-10", // Columbus Day
            "2022-11-11", // Veterans Day
        ] {
            assert!(nyse.is_session(d(open)), "{open} should be open");
        }
    }

    #[test]
    fn every_day_of_the_table_is_a_session_exactly_when_a_weekday_and_no_closure() {
        for kind in [CalendarKind::Nyse, CalendarKind::Bond] {
            let calendar = TradingCalendar::get(kind);
            let mut closed: std::collections::HashSet<NaiveDate> = (FIRST_YEAR..=LAST_YEAR)
                .flat_map(|y| holidays(kind, y))
                .collect();
            let one_off = match kind {
                CalendarKind::Nyse => NYSE_ONE_OFF_CLOSURES,
                CalendarKind::Bond => BOND_ONE_OFF_CLOSURES,
            };
            closed.extend(one_off.iter().map(|&(y, m, d)| ymd(y, m, d)));
            let mut day = ymd(FIRST_YEAR, 1, 1);
            while day <= ymd(LAST_YEAR, 12, 31) {
                let expected = !is_weekend(day) && !closed.contains(&day);
                assert_eq!(calendar.is_session(day), expected, "{kind:?} {day}");
                day += Duration::days(1);
            }
        }
    }

    #[test]
    fn bond_calendar_closes_columbus_and_veterans_day() {
        let bond = TradingCalendar::get(CalendarKind::Bond);
        assert!(!bond.is_session(d("2022-10-10")));
        assert!(!bond.is_session(d("2022-11-11")));
        assert!(!bond.is_session(d("2022-04-15")));
        assert!(bond.is_session(d("2021-12-31")));
    }

    #[test]
    fn periods_and_navigation() {
        let nyse = TradingCalendar::get(CalendarKind::Nyse);
        // Thursday before Good Friday to the Monday after: one trading period.
        assert_eq!(nyse.periods_between(d("2022-04-14"), d("2022-04-18")), 1);
        assert_eq!(nyse.periods_between(d("2022-04-11"), d("2022-04-18")), 4);
        assert_eq!(nyse.previous_session(d("2022-04-18")), d("2022-04-14"));
        assert_eq!(nyse.session_on_or_before(d("2022-04-16")), d("2022-04-14"));
        assert_eq!(nyse.session_on_or_after(d("2022-04-16")), d("2022-04-18"));
        assert_eq!(nyse.sessions_back(d("2022-04-18"), 1), d("2022-04-14"));
        let window = nyse.sessions(nyse.sessions_back(d("2022-12-28"), 100), d("2022-12-28"));
        assert_eq!(window.len(), 101);
        // Outside the precomputed range weekdays are sessions.
        assert!(nyse.is_session(d("2250-01-04")));
        assert_eq!(nyse.periods_between(d("2250-01-02"), d("2250-01-06")), 2);
    }
}
