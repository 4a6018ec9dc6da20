//! Loading the bundled data files for the reference tests (tests may do I/O; the crate may not).

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io::Read;

use stratus_core::{NaiveDate, PriceSeries};

pub fn data_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

pub fn read_text(name: &str) -> String {
    let bytes = std::fs::read(data_path(name)).expect("bundled data file");
    if name.ends_with(".gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("gzip");
        text
    } else {
        String::from_utf8(bytes).expect("utf-8")
    }
}

/// One CSV row: a date and one optional value per column.
pub type Row = (NaiveDate, Vec<Option<f64>>);

/// Wide CSV → (header tickers, rows).
pub fn wide(name: &str) -> (Vec<String>, Vec<Row>) {
    let text = read_text(name);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .skip(1)
        .map(String::from)
        .collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cells = l.split(',');
            let date: NaiveDate = cells.next().unwrap().parse().unwrap();
            (date, cells.map(|c| c.trim().parse::<f64>().ok()).collect())
        })
        .collect();
    (header, rows)
}

pub fn series(name: &str, ticker: &str, from: NaiveDate, to: NaiveDate) -> PriceSeries {
    let (header, rows) = wide(name);
    let col = header
        .iter()
        .position(|h| h == ticker)
        .expect("ticker in file");
    PriceSeries::new(
        ticker,
        rows.iter()
            .filter(|(d, _)| *d >= from && *d <= to)
            .map(|(d, v)| (*d, v[col].unwrap())),
    )
    .unwrap()
}

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
