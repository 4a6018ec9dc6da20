//! The records an ingest run moves, their validation, and their CSV form.
//!
//! Validation is per record, so one bad row costs that row, not the source: a date in the
//! future, a value that is not finite, a price or dividend that is not positive, or a second
//! record for the same symbol and date is rejected with its reason and reported; the rest is
//! stored and exported. Dividends may be dated up to a year ahead (declared payments); yields
//! and economic series may be zero or negative (rates have been).

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::SourceKind;

/// One record from a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Ticker, maturity name or series code.
    pub key: String,
    /// Date.
    pub date: NaiveDate,
    /// Close, amount, yield in percent, or series value.
    pub value: f64,
    /// Opening price (prices only).
    pub open: Option<f64>,
}

/// A record that failed validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// Ticker, maturity or series.
    pub key: String,
    /// Date as given.
    pub date: String,
    /// Why.
    pub reason: String,
}

/// Splits `records` into those that pass and those that do not.
pub fn validate(
    kind: SourceKind,
    records: Vec<Record>,
    today: NaiveDate,
) -> (Vec<Record>, Vec<Rejected>) {
    let latest_allowed = match kind {
        SourceKind::Dividends => today + chrono::Duration::days(366),
        _ => today,
    };
    let positive = matches!(kind, SourceKind::Prices | SourceKind::Dividends);
    let mut seen = std::collections::HashSet::new();
    let mut good = Vec::with_capacity(records.len());
    let mut bad = Vec::new();
    for record in records {
        let reason = if !record.value.is_finite() {
            Some(format!("value {} is not a finite number", record.value))
        } else if positive && record.value <= 0.0 {
            Some(format!("value {} is not positive", record.value))
        } else if record.open.is_some_and(|o| !(o.is_finite() && o > 0.0)) {
            Some("open price is not a finite positive number".to_string())
        } else if record.date > latest_allowed {
            Some(format!("date is after {latest_allowed} (in the future)"))
        } else if !seen.insert((record.key.clone(), record.date)) {
            Some("duplicate of an earlier record for the same date".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => bad.push(Rejected {
                key: record.key,
                date: record.date.to_string(),
                reason,
            }),
            None => good.push(record),
        }
    }
    (good, bad)
}

/// The dataset name used in object paths.
pub fn dataset_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Prices => "prices",
        SourceKind::Dividends => "dividends",
        SourceKind::Yields => "yields",
        SourceKind::Series => "series",
    }
}

/// `(source, record)` pairs of one dataset as CSV, sorted by key and date.
pub fn to_csv(kind: SourceKind, rows: &mut [(String, Record)]) -> Vec<u8> {
    rows.sort_by(|a, b| (&a.1.key, a.1.date, &a.0).cmp(&(&b.1.key, b.1.date, &b.0)));
    let header: &[&str] = match kind {
        SourceKind::Prices => &["date", "ticker", "open", "close", "source"],
        SourceKind::Dividends => &["date", "ticker", "amount", "source"],
        SourceKind::Yields => &["date", "maturity", "percent", "source"],
        SourceKind::Series => &["date", "series", "value", "source"],
    };
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 40 + 64));
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(header);
    for (source, r) in rows.iter() {
        let date = r.date.to_string();
        let value = r.value.to_string();
        let _ = if kind == SourceKind::Prices {
            let open = r.open.map(|o| o.to_string()).unwrap_or_default();
            writer.write_record([date.as_str(), &r.key, &open, &value, source])
        } else {
            writer.write_record([date.as_str(), &r.key, &value, source])
        };
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, date: &str, value: f64) -> Record {
        Record {
            key: key.into(),
            date: date.parse().unwrap(),
            value,
            open: None,
        }
    }

    #[test]
    fn each_bad_record_is_rejected_with_its_reason() {
        let today: NaiveDate = "2024-06-10".parse().unwrap();
        let records = vec![
            rec("A", "2024-06-07", 10.0),
            rec("A", "2024-06-07", 10.0),
            rec("A", "2024-06-06", f64::NAN),
            rec("A", "2024-06-05", -1.0),
            rec("A", "2024-06-11", 10.0),
            rec("B", "2024-06-07", 10.0),
        ];
        let (good, bad) = validate(SourceKind::Prices, records, today);
        assert_eq!(good.len(), 2);
        let reasons: Vec<&str> = bad.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("duplicate"));
        assert!(reasons[1].contains("finite"));
        assert!(reasons[2].contains("positive"));
        assert!(reasons[3].contains("future"));
        // Yields may be negative; declared dividends may be ahead of today.
        let (good, _) = validate(
            SourceKind::Yields,
            vec![rec("ONE_MONTH", "2024-06-07", -0.1)],
            today,
        );
        assert_eq!(good.len(), 1);
        let (good, _) = validate(
            SourceKind::Dividends,
            vec![rec("A", "2024-09-01", 0.5)],
            today,
        );
        assert_eq!(good.len(), 1);
    }

    #[test]
    fn csv_is_sorted_with_a_header() {
        let mut rows = vec![
            ("s".to_string(), rec("B", "2024-01-02", 2.0)),
            ("s".to_string(), rec("A", "2024-01-03", 1.5)),
            ("s".to_string(), rec("A", "2024-01-02", 1.0)),
        ];
        let text = String::from_utf8(to_csv(SourceKind::Series, &mut rows)).unwrap();
        assert_eq!(
            text,
            "date,series,value,source\n2024-01-02,A,1,s\n2024-01-03,A,1.5,s\n2024-01-02,B,2,s\n"
        );
    }
}
