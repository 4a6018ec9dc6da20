//! The calendars checked against real published dates: every session of the NYSE calendar from
//! 1990 to 2022 is a row of the bundled S&P 500 price history and vice versa, and every date the
//! Treasury published par yields on is a bond-market session.

mod common;

use stratus_core::{CalendarKind, TradingCalendar};

#[test]
fn nyse_calendar_equals_the_trading_days_of_the_sp500_history() {
    let (_, rows) = common::wide("sp500_index.csv.gz");
    let data: Vec<_> = rows.iter().map(|(d, _)| *d).collect();
    let nyse = TradingCalendar::get(CalendarKind::Nyse);
    let sessions = nyse.sessions(data[0], *data.last().unwrap());
    let missing: Vec<_> = sessions
        .iter()
        .filter(|d| data.binary_search(d).is_err())
        .collect();
    let extra: Vec<_> = data.iter().filter(|d| !nyse.is_session(**d)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "calendar sessions not in data: {missing:?}; data dates the calendar closes: {extra:?}"
    );
    assert_eq!(sessions.len(), 8313);
}

#[test]
fn treasury_publication_dates_are_bond_sessions() {
    let (_, rows) = common::wide("us_treasury_par_yields_1990_2025.csv");
    let bond = TradingCalendar::get(CalendarKind::Bond);
    // 2010-10-11 (Columbus Day) is a row with every maturity blank: not a publication.
    let published: Vec<_> = rows
        .iter()
        .filter(|(_, v)| v.iter().any(Option::is_some))
        .map(|(d, _)| *d)
        .collect();
    let off_calendar: Vec<_> = published.iter().filter(|d| !bond.is_session(**d)).collect();
    let sessions = bond.sessions(published[0], *published.last().unwrap());
    let unpublished: Vec<_> = sessions
        .iter()
        .filter(|d| published.binary_search(d).is_err())
        .collect();
    assert!(
        off_calendar.is_empty(),
        "published on bond holidays: {off_calendar:?}"
    );
    assert!(
        unpublished.is_empty(),
        "bond sessions without a publication: {unpublished:?}"
    );
}
