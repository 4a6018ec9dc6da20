//! Price CSV files from users, in either common shape:
//!
//! * **wide** — `Date,AAPL,MSFT,…`, one row per date, one column per ticker (an empty cell is a
//!   date without a price for that ticker);
//! * **long** — columns `date`, `ticker`, `close` (any order, any case, an optional `open`), one
//!   row per price.
//!
//! Every row is validated — ISO dates, finite positive numbers, no duplicate (ticker, date) — and
//! the first bad row fails the whole file with its line number, so a caller never stores half a
//! file.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::{PricePoint, ProviderError, YieldPoint, normalise_ticker};
use stratus_core::Maturity;

struct Context<'a> {
    file: &'a str,
    /// For a user's file: the last date a price may carry (today). Dates are then also checked
    /// to be NYSE sessions from [`EARLIEST_IMPORT_DATE`] on.
    latest: Option<NaiveDate>,
}

/// The first date a user's price file may hold. The NYSE traded on Saturdays until 1952, and
/// the calendar's rules are those of the modern exchange; an earlier date is far more likely a
/// typo (1900 for 2000) than a price.
pub const EARLIEST_IMPORT_DATE: (i32, u32, u32) = (1960, 1, 1);

impl Context<'_> {
    fn malformed(&self, line: u64, reason: impl Into<String>) -> ProviderError {
        ProviderError::Malformed {
            file: self.file.to_string(),
            line,
            reason: reason.into(),
        }
    }

    fn date(&self, line: u64, text: &str) -> Result<NaiveDate, ProviderError> {
        let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| self.malformed(line, format!("bad date {text:?}; expected YYYY-MM-DD")))?;
        let Some(latest) = self.latest else {
            return Ok(date);
        };
        let (y, m, d) = EARLIEST_IMPORT_DATE;
        let earliest = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        if date > latest {
            return Err(self.malformed(
                line,
                format!("date {date} is in the future (today is {latest})"),
            ));
        }
        if date < earliest {
            return Err(self.malformed(
                line,
                format!("date {date} is before {earliest}; check the year"),
            ));
        }
        let nyse = stratus_core::TradingCalendar::get(stratus_core::CalendarKind::Nyse);
        if !nyse.is_session(date) {
            return Err(self.malformed(
                line,
                format!(
                    "{date} ({}) is not an NYSE trading session; remove the row or fix the date",
                    date.format("%A")
                ),
            ));
        }
        Ok(date)
    }

    fn price(&self, line: u64, column: &str, text: &str) -> Result<f64, ProviderError> {
        let value: f64 = text.trim().parse().map_err(|_| {
            self.malformed(
                line,
                format!("bad {column} value {text:?}; expected a number"),
            )
        })?;
        if !value.is_finite() || value <= 0.0 {
            return Err(self.malformed(
                line,
                format!("{column} value {text:?} must be a finite positive price"),
            ));
        }
        Ok(value)
    }
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes)
}

fn record_line(record: &csv::StringRecord, fallback: u64) -> u64 {
    record.position().map_or(fallback, csv::Position::line)
}

fn csv_error(ctx: &Context<'_>, error: &csv::Error) -> ProviderError {
    let line = error.position().map_or(0, csv::Position::line);
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text".to_string(),
        _ => error.to_string(),
    };
    ctx.malformed(line, reason)
}

/// Parses a wide or long price CSV. `file` names the source in error messages.
pub fn parse_prices(file: &str, bytes: &[u8]) -> Result<Vec<PricePoint>, ProviderError> {
    parse_prices_with(&Context { file, latest: None }, bytes)
}

/// Parses a user's price CSV as [`parse_prices`] does, and also refuses dates after `today`,
/// before [`EARLIEST_IMPORT_DATE`] or on which the NYSE did not trade (the checks the ingest job
/// and the calendar apply to every other source of prices).
pub fn parse_user_prices(
    file: &str,
    bytes: &[u8],
    today: NaiveDate,
) -> Result<Vec<PricePoint>, ProviderError> {
    parse_prices_with(
        &Context {
            file,
            latest: Some(today),
        },
        bytes,
    )
}

fn parse_prices_with(ctx: &Context<'_>, bytes: &[u8]) -> Result<Vec<PricePoint>, ProviderError> {
    let file = ctx.file;
    let mut rdr = reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(ctx, &e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let lower: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let find = |name: &str| lower.iter().position(|h| h == name);
    let points = match (
        find("date"),
        find("ticker").or_else(|| find("symbol")),
        find("close"),
    ) {
        (Some(date), Some(ticker), Some(close)) => {
            parse_long(ctx, &mut rdr, date, ticker, close, find("open"))?
        }
        (Some(0), _, _) => parse_wide(ctx, &mut rdr, &header)?,
        _ => {
            return Err(ctx.malformed(
                1,
                format!(
                    "unrecognised header {:?}; expected Date,TICKER1,TICKER2,… (wide) or date,ticker,close (long)",
                    header.join(",")
                ),
            ));
        }
    };
    if points.is_empty() {
        return Err(ProviderError::Empty {
            file: file.to_string(),
        });
    }
    Ok(points)
}

fn check_duplicate(
    ctx: &Context<'_>,
    seen: &mut HashMap<(String, NaiveDate), u64>,
    ticker: &str,
    date: NaiveDate,
    line: u64,
) -> Result<(), ProviderError> {
    if let Some(first) = seen.insert((ticker.to_string(), date), line) {
        return Err(ctx.malformed(
            line,
            format!("duplicate price for {ticker} on {date} (first on line {first})"),
        ));
    }
    Ok(())
}

fn parse_long(
    ctx: &Context<'_>,
    rdr: &mut csv::Reader<&[u8]>,
    date_col: usize,
    ticker_col: usize,
    close_col: usize,
    open_col: Option<usize>,
) -> Result<Vec<PricePoint>, ProviderError> {
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (index, record) in rdr.records().enumerate() {
        let record = record.map_err(|e| csv_error(ctx, &e))?;
        let line = record_line(&record, index as u64 + 2);
        let raw_ticker = &record[ticker_col];
        let ticker = normalise_ticker(raw_ticker).ok_or_else(|| {
            ctx.malformed(
                line,
                format!("bad ticker {raw_ticker:?}; use letters, digits and . - ^ = only"),
            )
        })?;
        let date = ctx.date(line, &record[date_col])?;
        let close = ctx.price(line, "close", &record[close_col])?;
        let open = match open_col.map(|c| &record[c]) {
            Some(text) if !text.is_empty() => Some(ctx.price(line, "open", text)?),
            _ => None,
        };
        check_duplicate(ctx, &mut seen, &ticker, date, line)?;
        out.push(PricePoint {
            ticker,
            date,
            open,
            close,
        });
    }
    Ok(out)
}

fn parse_wide(
    ctx: &Context<'_>,
    rdr: &mut csv::Reader<&[u8]>,
    header: &[String],
) -> Result<Vec<PricePoint>, ProviderError> {
    let mut tickers = Vec::new();
    for raw in &header[1..] {
        let ticker = normalise_ticker(raw).ok_or_else(|| {
            ctx.malformed(
                1,
                format!("bad ticker {raw:?} in the header; use letters, digits and . - ^ = only"),
            )
        })?;
        if tickers.contains(&ticker) {
            return Err(ctx.malformed(1, format!("ticker {ticker} appears twice in the header")));
        }
        tickers.push(ticker);
    }
    if tickers.is_empty() {
        return Err(ctx.malformed(1, "the header names no ticker columns after the date"));
    }
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (index, record) in rdr.records().enumerate() {
        let record = record.map_err(|e| csv_error(ctx, &e))?;
        let line = record_line(&record, index as u64 + 2);
        let date = ctx.date(line, &record[0])?;
        for (ticker, cell) in tickers.iter().zip(record.iter().skip(1)) {
            if cell.is_empty() {
                continue;
            }
            let close = ctx.price(line, ticker, cell)?;
            check_duplicate(ctx, &mut seen, ticker, date, line)?;
            out.push(PricePoint {
                ticker: ticker.clone(),
                date,
                open: None,
                close,
            });
        }
    }
    Ok(out)
}

/// Parses the Treasury par-yield CSV (`date,1M,2M,…,30Y`, percent, empty = not published).
pub fn parse_treasury(file: &str, bytes: &[u8]) -> Result<Vec<YieldPoint>, ProviderError> {
    let ctx = Context { file, latest: None };
    let mut rdr = reader(bytes);
    let header = rdr.headers().map_err(|e| csv_error(&ctx, &e))?.clone();
    if !header
        .get(0)
        .is_some_and(|h| h.eq_ignore_ascii_case("date"))
    {
        return Err(ctx.malformed(1, "expected a first column named date"));
    }
    let maturities: Vec<Maturity> = header
        .iter()
        .skip(1)
        .map(|label| {
            label
                .parse::<Maturity>()
                .map_err(|e| ctx.malformed(1, e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (index, record) in rdr.records().enumerate() {
        let record = record.map_err(|e| csv_error(&ctx, &e))?;
        let line = record_line(&record, index as u64 + 2);
        let date = ctx.date(line, &record[0])?;
        for (maturity, cell) in maturities.iter().zip(record.iter().skip(1)) {
            if cell.is_empty() {
                continue;
            }
            let percent: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    ctx.malformed(
                        line,
                        format!("bad {maturity} yield {cell:?}; expected a number in percent"),
                    )
                })?;
            out.push(YieldPoint {
                maturity: *maturity,
                date,
                percent,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("2021-01-04".to_string()),
            Just("2021-06-05".to_string()),
            Just("1900-01-02".to_string()),
            Just("2031-06-02".to_string()),
            Just("AAPL".to_string()),
            Just("NaN".to_string()),
            Just("-1".to_string()),
            Just("1e308".to_string()),
            Just("12.5".to_string()),
            Just(String::new()),
            Just("\"a,b\"".to_string()),
            "[ -~]{0,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any bytes: rows or a located error, never a panic, and never a row that breaks the
        /// rules (finite positive prices, NYSE sessions no later than today).
        #[test]
        fn any_file_is_rows_or_a_located_error(
            header in prop_oneof![Just("Date,AAPL,MSFT".to_string()), Just("date,ticker,close,open".to_string()), "[ -~]{0,30}"],
            rows in proptest::collection::vec(proptest::collection::vec(cell(), 0..5), 0..8),
            raw in proptest::collection::vec(any::<u8>(), 0..64),
            use_raw in any::<bool>(),
        ) {
            let mut text = header.clone();
            for row in &rows {
                text.push('\n');
                text.push_str(&row.join(","));
            }
            let bytes = if use_raw { raw.clone() } else { text.into_bytes() };
            let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
            match super::parse_user_prices("f.csv", &bytes, today) {
                Ok(points) => {
                    let nyse = stratus_core::TradingCalendar::get(stratus_core::CalendarKind::Nyse);
                    for p in points {
                        prop_assert!(p.close.is_finite() && p.close > 0.0);
                        prop_assert!(p.date <= today && nyse.is_session(p.date));
                    }
                }
                Err(e) => prop_assert!(e.to_string().contains("f.csv"), "{e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_prices("prices.csv", text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn wide_and_long_files_parse_to_the_same_points() {
        let wide = "Date,aapl,MSFT\n2022-01-03,1.5,2.5\n2022-01-04,,3.0\n";
        let long =
            "ticker,date,close\nAAPL,2022-01-03,1.5\nMSFT,2022-01-03,2.5\nmsft,2022-01-04,3\n";
        let mut a = parse_prices("w.csv", wide.as_bytes()).unwrap();
        let mut b = parse_prices("l.csv", long.as_bytes()).unwrap();
        let key = |p: &PricePoint| (p.ticker.clone(), p.date);
        a.sort_by_key(key);
        b.sort_by_key(key);
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn long_files_keep_an_open_column() {
        let long = "date,ticker,open,close\n2022-01-03,KO,59.5,60\n";
        let p = parse_prices("l.csv", long.as_bytes()).unwrap();
        assert_eq!(p[0].open, Some(59.5));
    }

    #[test]
    fn every_bad_row_names_file_line_and_fix() {
        assert_eq!(
            err("Date,AAPL\n2022-01-03,1\n2022-13-01,2\n"),
            "prices.csv:3: bad date \"2022-13-01\"; expected YYYY-MM-DD"
        );
        assert!(
            err("Date,AAPL\n2022-01-03,NaN\n")
                .starts_with("prices.csv:2: AAPL value \"NaN\" must be a finite positive")
        );
        assert!(
            err("Date,AAPL\n2022-01-03,abc\n").contains("prices.csv:2: bad AAPL value \"abc\"")
        );
        assert!(err("Date,AAPL\n2022-01-03,-4\n").contains("must be a finite positive price"));
        assert!(
            err("Date,AAPL\n2022-01-03,1,2\n")
                .contains("prices.csv:2: row has 3 fields but the header has 2")
        );
        assert!(
            err("Date,AAPL\n2022-01-03,1\n2022-01-03,2\n")
                .contains("prices.csv:3: duplicate price for AAPL on 2022-01-03 (first on line 2)")
        );
        assert!(err("foo,bar\n1,2\n").contains("prices.csv:1: unrecognised header"));
        assert!(err("Date,A B\n2022-01-03,1\n").contains("bad ticker \"A B\""));
        assert_eq!(
            err("Date,AAPL\n"),
            "prices.csv: no price rows found; expected a header and at least one row"
        );
    }

    #[test]
    fn treasury_gaps_stay_gaps() {
        let text = "date,1M,3M,10Y\n1990-01-02,,7.83,7.94\n";
        let y = parse_treasury("t.csv", text.as_bytes()).unwrap();
        assert_eq!(y.len(), 2);
        assert_eq!(y[1].maturity, Maturity::TenYear);
        assert!(
            parse_treasury("t.csv", b"date,1M\n1990-01-02,x\n")
                .unwrap_err()
                .to_string()
                .contains("t.csv:2")
        );
    }
}
