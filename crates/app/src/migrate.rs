//! Copying a cache from one backend to another (`stratus cache migrate`).
//!
//! Every table is streamed through the store traits, so any pair of backends works. Writes are
//! keyed upserts, so a migration that was interrupted (a killed process, an emulator restart) is
//! simply run again: units (a ticker's prices, a maturity's yields) whose rows already match are
//! skipped, the others are rewritten, and nothing is duplicated. At the end every unit is read
//! back from the target and compared with the source, value for value.

use chrono::NaiveDate;
use serde::Serialize;
use stratus_core::Maturity;
use stratus_store::{PriceRow, RateRow, Store};

use stratus_analytics::AppError;

/// What a migration did, table by table.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TableReport {
    /// Items in the source.
    pub source: u64,
    /// Items written to the target.
    pub written: u64,
    /// Items already present and identical (skipped).
    pub skipped: u64,
}

/// The outcome of [`migrate`].
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MigrationReport {
    /// Prices.
    pub prices: TableReport,
    /// Treasury yields.
    pub interest: TableReport,
    /// Cached profiles.
    pub profiles: TableReport,
    /// Cached correlations (one per ticker order).
    pub correlations: TableReport,
    /// Cached results the target keeps only one of, because its key layout (scrilla's
    /// (ticker, start_date) for profiles) gives them the same key; the later one is kept.
    pub collided: u64,
    /// Whether reading everything back from the target matched the source.
    pub verified: bool,
    /// The first difference found, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
}

fn all_dates() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1, 1, 1).expect("valid"),
        NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid"),
    )
}

/// Copies everything in `from` into `to`, reporting `(stage, done, total)` to `progress`.
pub async fn migrate(
    from: &dyn Store,
    to: &dyn Store,
    progress: &(dyn Fn(&str, u64, u64) + Sync),
) -> Result<MigrationReport, AppError> {
    let (first, last) = all_dates();
    let mut report = MigrationReport::default();
    let tickers = from.tickers().await?;
    let total = tickers.len() as u64;
    for (i, summary) in tickers.iter().enumerate() {
        progress("prices", i as u64, total);
        let rows = from.prices(&summary.ticker, first, last).await?;
        report.prices.source += rows.len() as u64;
        if to.prices(&summary.ticker, first, last).await? == rows {
            report.prices.skipped += rows.len() as u64;
        } else {
            report.prices.written += to.put_prices(&rows).await? as u64;
        }
    }
    progress("prices", total, total);
    let maturities = Maturity::ALL.len() as u64;
    for (i, maturity) in Maturity::ALL.into_iter().enumerate() {
        progress("interest", i as u64, maturities);
        let rows = from.rates(maturity, first, last).await?;
        report.interest.source += rows.len() as u64;
        if to.rates(maturity, first, last).await? == rows {
            report.interest.skipped += rows.len() as u64;
        } else {
            report.interest.written += to.put_rates(&rows).await? as u64;
        }
    }
    progress("interest", maturities, maturities);
    let profiles = from.all_profiles().await?;
    let total = profiles.len() as u64;
    for (i, (key, record)) in profiles.iter().enumerate() {
        progress("profiles", i as u64, total);
        report.profiles.source += 1;
        if to.profile(key).await?.as_ref() == Some(record) {
            report.profiles.skipped += 1;
        } else {
            to.put_profile(key, record).await?;
            report.profiles.written += 1;
        }
    }
    progress("profiles", total, total);
    let correlations = from.all_correlations().await?;
    let total = correlations.len() as u64;
    for (i, (key, value)) in correlations.iter().enumerate() {
        progress("correlations", i as u64, total);
        report.correlations.source += 1;
        if to.correlation(key).await? == Some(*value) {
            report.correlations.skipped += 1;
        } else {
            to.put_correlation(key, *value).await?;
            report.correlations.written += 1;
        }
    }
    progress("correlations", total, total);
    let (mismatch, collided) = compare(from, to).await?;
    report.mismatch = mismatch;
    report.collided = collided;
    report.verified = report.mismatch.is_none();
    Ok(report)
}

/// Whether every price, yield, profile and correlation of `from` is in `to` with the same value
/// (cached results that collide on the target's key count as present, see [`MigrationReport`]).
pub async fn verify(from: &dyn Store, to: &dyn Store) -> Result<bool, AppError> {
    Ok(compare(from, to).await?.0.is_none())
}

/// The first item of `from` missing from `to` or different there, and how many cached results
/// were superseded by another with the same key on the target.
pub async fn compare(from: &dyn Store, to: &dyn Store) -> Result<(Option<String>, u64), AppError> {
    let (first, last) = all_dates();
    for summary in from.tickers().await? {
        let source: Vec<PriceRow> = from.prices(&summary.ticker, first, last).await?;
        let target = to.prices(&summary.ticker, first, last).await?;
        if target != source {
            let detail = source
                .iter()
                .zip(&target)
                .find(|(a, b)| a != b)
                .map_or_else(
                    || format!("{} source rows, {} target rows", source.len(), target.len()),
                    |(a, b)| format!("source {a:?}, target {b:?}"),
                );
            return Ok((Some(format!("prices of {}: {detail}", summary.ticker)), 0));
        }
    }
    for maturity in Maturity::ALL {
        let source: Vec<RateRow> = from.rates(maturity, first, last).await?;
        if to.rates(maturity, first, last).await? != source {
            return Ok((Some(format!("yields of {maturity}")), 0));
        }
    }
    let mut collided = 0;
    let profiles = from.all_profiles().await?;
    let mut present = Vec::with_capacity(profiles.len());
    for (key, record) in &profiles {
        let target = to.profile(key).await?;
        if target.is_some() && target != Some(*record) {
            return Ok((
                Some(format!(
                    "profile {key:?}: source {record:?}, target {target:?}"
                )),
                0,
            ));
        }
        present.push(target.is_some());
    }
    for (i, (key, record)) in profiles.iter().enumerate() {
        if present[i] {
            continue;
        }
        let superseded = profiles.iter().enumerate().any(|(j, (other, _))| {
            present[j] && other.ticker == key.ticker && other.start == key.start
        });
        if !superseded {
            return Ok((
                Some(format!(
                    "profile {key:?}: source {record:?}, missing from the target"
                )),
                0,
            ));
        }
        collided += 1;
    }
    let correlations = from.all_correlations().await?;
    let mut present = Vec::with_capacity(correlations.len());
    for (key, value) in &correlations {
        let target = to.correlation(key).await?;
        if target.is_some() && target != Some(*value) {
            return Ok((
                Some(format!(
                    "correlation {key:?}: source {value}, target {target:?}"
                )),
                0,
            ));
        }
        present.push(target.is_some());
    }
    for (i, (key, value)) in correlations.iter().enumerate() {
        if present[i] {
            continue;
        }
        let superseded = correlations.iter().enumerate().any(|(j, (other, _))| {
            present[j] && other.ticker_1 == key.ticker_1 && other.start == key.start
        });
        if !superseded {
            return Ok((
                Some(format!(
                    "correlation {key:?}: source {value}, missing from the target"
                )),
                0,
            ));
        }
        collided += 1;
    }
    Ok((None, collided))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::Method;
    use stratus_store::{
        AnalyticsCache, CorrelationKey, MemoryStore, PriceStore, ProfileKey, ProfileRecord,
        RateStore,
    };

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn migration_copies_everything_and_a_rerun_skips_what_matches() {
        let from = MemoryStore::new();
        let rows: Vec<PriceRow> = (0..40)
            .map(|i| PriceRow {
                ticker: "KO".into(),
                date: d("2022-01-01") + chrono::Duration::days(i),
                open: None,
                close: 50.0 + i as f64,
            })
            .collect();
        from.put_prices(&rows).await.unwrap();
        from.put_rates(&[RateRow {
            maturity: Maturity::TenYear,
            date: d("2022-01-03"),
            percent: 1.63,
        }])
        .await
        .unwrap();
        let key = ProfileKey {
            ticker: "KO".into(),
            start: d("2022-01-01"),
            end: d("2022-02-09"),
            method: Method::Moments,
            weekends: false,
        };
        let record = ProfileRecord {
            annual_return: 0.1,
            annual_volatility: 0.2,
            sharpe_ratio: Some(0.3),
            asset_beta: None,
            equity_cost: None,
        };
        from.put_profile(&key, &record).await.unwrap();
        let ck = CorrelationKey {
            ticker_1: "KO".into(),
            ticker_2: "PEP".into(),
            start: key.start,
            end: key.end,
            method: Method::Moments,
            weekends: false,
        };
        from.put_correlation(&ck, 0.7).await.unwrap();

        let to = MemoryStore::new();
        // A first, interrupted migration left part of KO behind.
        to.put_prices(&rows[..10]).await.unwrap();
        let first = migrate(&from, &to, &|_, _, _| {}).await.unwrap();
        assert!(first.verified);
        assert_eq!(
            (
                first.prices.source,
                first.prices.written,
                first.prices.skipped
            ),
            (40, 40, 0)
        );
        assert_eq!((first.profiles.written, first.correlations.source), (1, 2));
        let second = migrate(&from, &to, &|_, _, _| {}).await.unwrap();
        assert!(second.verified);
        assert_eq!(
            (
                second.prices.written,
                second.prices.skipped,
                second.interest.skipped
            ),
            (0, 40, 1)
        );
        assert_eq!(
            to.status().await.unwrap(),
            stratus_store::StoreStatus {
                description: "in-memory store".into(),
                prices: 40,
                rates: 1,
                profiles: 1,
                correlations: 2
            }
        );
        to.put_prices(&[PriceRow {
            ticker: "KO".into(),
            date: d("2022-01-05"),
            open: None,
            close: 1.0,
        }])
        .await
        .unwrap();
        assert!(
            !verify(&from, &to).await.unwrap(),
            "a changed value fails verification"
        );
    }
}
