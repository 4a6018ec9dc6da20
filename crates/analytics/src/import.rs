//! Prices from a user's file. A file is validated whole before anything is written, and one
//! that disagrees with what the store already holds for a ticker — another vendor's or another
//! adjustment's prices — is refused rather than spliced in: a window across the seam would show
//! a return that never happened. `--replace` makes the file the ticker's whole history instead.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use stratus_providers::csv_import;
use stratus_store::PriceRow;

use crate::AppError;
use crate::live;
use crate::service::{Analytics, price_row};

/// The largest ratio between neighbouring closes where an imported file meets stored prices
/// that is taken for a market move rather than a different price series (about ±40 %; a real
/// one-day move of that size is rare enough to ask for `--replace`).
pub const SEAM_JUMP: f64 = 1.4;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Tickers in the file.
    pub tickers: Vec<String>,
    /// Rows written.
    pub rows: usize,
    /// Tickers whose stored history was replaced (`--replace`).
    pub replaced: Vec<String>,
}

impl Analytics {
    /// Imports a user's price CSV: validates every row first (dates must be NYSE sessions, not
    /// in the future), then writes all of it and drops cached results for the tickers it touched.
    ///
    /// A file that disagrees with what the store holds for a ticker — a stored date with another
    /// close, or a level jump of more than [`SEAM_JUMP`] where the file's prices meet the stored
    /// ones within a week — is refused (another vendor's prices, another adjustment): splicing
    /// them would invent a return across the seam. With `replace`, each ticker's stored history
    /// is replaced by the file's instead. Returns (tickers, rows, tickers replaced).
    pub async fn import_csv(
        &self,
        file: &str,
        bytes: &[u8],
        replace: bool,
    ) -> Result<ImportOutcome, AppError> {
        let points = csv_import::parse_user_prices(file, bytes, self.today())?;
        let mut by_ticker: BTreeMap<String, Vec<PriceRow>> = BTreeMap::new();
        for point in points {
            by_ticker
                .entry(point.ticker.clone())
                .or_default()
                .push(price_row(point));
        }
        let mut replaced = Vec::new();
        for (ticker, rows) in &mut by_ticker {
            rows.sort_by_key(|r| r.date);
            if self.store().latest_price_date(ticker).await?.is_none() {
                continue;
            }
            if replace {
                replaced.push(ticker.clone());
            } else if let Some(conflict) = self.import_conflict(ticker, rows).await? {
                return Err(AppError::InvalidInput {
                    field: "file",
                    message: format!(
                        "{file}: {conflict}; nothing was imported. To use the file's prices instead of the stored ones, repeat with --replace (replaces the whole history of {ticker})"
                    ),
                });
            }
        }
        let mut written = 0;
        for (ticker, rows) in &by_ticker {
            written += if replaced.contains(ticker) {
                self.store().replace_prices(ticker, rows).await?
            } else {
                self.store().put_prices(rows).await?
            };
            self.store().invalidate_ticker(ticker).await?;
        }
        self.listing_changed().await;
        Ok(ImportOutcome {
            tickers: by_ticker.into_keys().collect(),
            rows: written,
            replaced,
        })
    }

    /// Why `rows` (one ticker's, sorted) cannot be merged into the stored history, if they can't.
    async fn import_conflict(
        &self,
        ticker: &str,
        rows: &[PriceRow],
    ) -> Result<Option<String>, AppError> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(None);
        };
        let stored = self.store().prices(ticker, first.date, last.date).await?;
        let file: BTreeMap<NaiveDate, f64> = rows.iter().map(|r| (r.date, r.close)).collect();
        if let Some(row) = stored.iter().find(|row| {
            file.get(&row.date)
                .is_some_and(|c| live::restated(row.close, *c))
        }) {
            return Ok(Some(format!(
                "{ticker} on {} is {} in the file but {} in the store",
                row.date, file[&row.date], row.close
            )));
        }
        // The seams: the stored close just before the file starts, and just after it ends.
        let week = chrono::Duration::days(7);
        let before = self
            .store()
            .prices(
                ticker,
                first.date - week,
                first.date - chrono::Duration::days(1),
            )
            .await?;
        let after = self
            .store()
            .prices(
                ticker,
                last.date + chrono::Duration::days(1),
                last.date + week,
            )
            .await?;
        let seams = [
            before.last().map(|s| (s, first)),
            after.first().map(|s| (s, last)),
        ];
        for (stored_row, file_row) in seams.into_iter().flatten() {
            let jump = file_row.close / stored_row.close;
            if !(1.0 / SEAM_JUMP..=SEAM_JUMP).contains(&jump) {
                return Ok(Some(format!(
                    "{ticker} jumps from {} on {} (stored) to {} on {} (file), ×{jump:.2} — another vendor's or adjustment's prices",
                    stored_row.close, stored_row.date, file_row.close, file_row.date
                )));
            }
        }
        Ok(None)
    }
}
