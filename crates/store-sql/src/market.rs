//! Market data: prices by (ticker, date) and Treasury yields by (maturity, date), written in
//! multi-row upserts so a migration of years of prices is a few hundred statements.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx_core::row::Row;
use stratus_core::Maturity;
use stratus_store::{
    DateRange, PriceRow, PriceStore, Publication, RateRow, RateStore, StoreResult, check_finite,
};

use crate::{Dialect, SqlStore, Statement, Value, date_text, parse_date};

/// Rows per statement: well inside both servers' limit on bound parameters (65 535).
const BATCH: usize = 500;

impl Dialect {
    /// An upsert of `rows` rows into `table`, replacing the non-key columns on a key conflict.
    pub(crate) fn upsert(
        self,
        table: &str,
        columns: &[&str],
        keys: &[&str],
        rows: usize,
    ) -> String {
        let marks = format!("({})", vec!["?"; columns.len()].join(", "));
        let values = vec![marks.as_str(); rows].join(", ");
        let updates: Vec<&&str> = columns.iter().filter(|c| !keys.contains(c)).collect();
        let head = format!(
            "INSERT INTO {table}({}) VALUES {values}",
            columns.join(", ")
        );
        match self {
            Dialect::Postgres => {
                let set: Vec<String> = updates
                    .iter()
                    .map(|c| format!("{c} = EXCLUDED.{c}"))
                    .collect();
                format!(
                    "{head} ON CONFLICT ({}) DO UPDATE SET {}",
                    keys.join(", "),
                    set.join(", ")
                )
            }
            Dialect::Mysql => {
                let set: Vec<String> = updates
                    .iter()
                    .map(|c| format!("{c} = VALUES({c})"))
                    .collect();
                format!("{head} ON DUPLICATE KEY UPDATE {}", set.join(", "))
            }
        }
    }
}

/// The last row for each key, in first-seen order: one statement may not update a row twice.
fn last_per_key<T: Clone, K: std::hash::Hash + Eq>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<T> = Vec::with_capacity(rows.len());
    for row in rows {
        match index.get(&key(row)) {
            Some(&i) => out[i] = row.clone(),
            None => {
                index.insert(key(row), out.len());
                out.push(row.clone());
            }
        }
    }
    out
}

impl SqlStore {
    /// The upserts of `rows` (each its column values) into `table`, in statements of [`BATCH`].
    pub(crate) fn upserts<'a>(
        &self,
        table: &str,
        columns: &[&str],
        keys: &[&str],
        rows: Vec<Vec<Value<'a>>>,
    ) -> Vec<Statement<'a>> {
        rows.chunks(BATCH)
            .map(|chunk| {
                let sql = self.dialect().upsert(table, columns, keys, chunk.len());
                (sql, chunk.iter().flatten().copied().collect())
            })
            .collect()
    }

    /// Upserts `rows` in one transaction, after deleting every price of `replacing` first.
    async fn write_prices(&self, replacing: Option<&str>, rows: &[PriceRow]) -> StoreResult<usize> {
        stratus_store::check_price_rows(rows)?;
        let unique = last_per_key(rows, |r| (r.ticker.clone(), r.date));
        let dates: Vec<String> = unique.iter().map(|r| date_text(r.date)).collect();
        let mut statements = Vec::new();
        if let Some(ticker) = replacing {
            statements.push((
                "DELETE FROM prices WHERE ticker = ?".to_string(),
                vec![Value::Text(ticker)],
            ));
        }
        statements.extend(
            self.upserts(
                "prices",
                &["ticker", "date", "open", "close"],
                &["ticker", "date"],
                unique
                    .iter()
                    .zip(&dates)
                    .map(|(row, date)| {
                        vec![
                            Value::Text(&row.ticker),
                            Value::Text(date),
                            Value::Real(row.open),
                            Value::Real(Some(row.close)),
                        ]
                    })
                    .collect(),
            ),
        );
        self.transaction(&statements).await?;
        Ok(rows.len())
    }

    /// One optional date (`max(date)`, `min(date)`).
    async fn one_date(
        &self,
        table: &str,
        sql: &str,
        binds: &[Value<'_>],
    ) -> StoreResult<Option<NaiveDate>> {
        let rows = self.rows(sql, binds).await?;
        let text: Option<String> = match rows.first() {
            Some(row) => row.try_get(0).map_err(|e| self.failed(e))?,
            None => None,
        };
        text.map(|d| parse_date(table, &d)).transpose()
    }
}

#[async_trait]
impl PriceStore for SqlStore {
    async fn put_prices(&self, rows: &[PriceRow]) -> StoreResult<usize> {
        self.write_prices(None, rows).await
    }

    async fn replace_prices(&self, ticker: &str, rows: &[PriceRow]) -> StoreResult<usize> {
        stratus_store::check_one_ticker(ticker, rows)?;
        self.write_prices(Some(ticker), rows).await
    }

    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>> {
        let (start, end) = (date_text(start), date_text(end));
        let rows = self
            .rows(
                "SELECT date, open, close FROM prices WHERE ticker = ? AND date >= ? AND date <= ? ORDER BY date",
                &[Value::Text(ticker), Value::Text(&start), Value::Text(&end)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let date: String = r.try_get(0).map_err(|e| self.failed(e))?;
                Ok(PriceRow {
                    ticker: ticker.to_string(),
                    date: parse_date("prices", &date)?,
                    open: r.try_get(1).map_err(|e| self.failed(e))?,
                    close: r.try_get(2).map_err(|e| self.failed(e))?,
                })
            })
            .collect()
    }

    async fn tickers(&self) -> StoreResult<Vec<stratus_store::TickerSummary>> {
        let rows = self
            .rows(
                "SELECT ticker, min(date), max(date), count(*) FROM prices GROUP BY ticker ORDER BY ticker",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let first: String = r.try_get(1).map_err(|e| self.failed(e))?;
                let last: String = r.try_get(2).map_err(|e| self.failed(e))?;
                let count: i64 = r.try_get(3).map_err(|e| self.failed(e))?;
                Ok(stratus_store::TickerSummary {
                    ticker: r.try_get(0).map_err(|e| self.failed(e))?,
                    first: parse_date("prices", &first)?,
                    last: parse_date("prices", &last)?,
                    count: count.max(0) as u64,
                })
            })
            .collect()
    }

    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.one_date(
            "prices",
            "SELECT max(date) FROM prices WHERE ticker = ?",
            &[Value::Text(ticker)],
        )
        .await
    }

    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.one_date(
            "prices",
            "SELECT min(date) FROM prices WHERE ticker = ?",
            &[Value::Text(ticker)],
        )
        .await
    }

    async fn has_prices(&self) -> StoreResult<bool> {
        Ok(!self
            .rows("SELECT ticker FROM prices LIMIT 1", &[])
            .await?
            .is_empty())
    }

    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        // Two index probes per ticker, all in one statement: `min(date), max(date) … GROUP BY
        // ticker` would read every row of every ticker on PostgreSQL.
        let mut out = vec![None; tickers.len()];
        for (c, chunk) in tickers.chunks(BATCH / 2).enumerate() {
            let sql = (0..chunk.len())
                .map(|i| {
                    format!(
                        "SELECT {i} AS n, (SELECT min(date) FROM prices WHERE ticker = ?), \
                         (SELECT max(date) FROM prices WHERE ticker = ?)"
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let binds: Vec<Value<'_>> = chunk
                .iter()
                .flat_map(|t| [Value::Text(t), Value::Text(t)])
                .collect();
            for r in &self.rows(&sql, &binds).await? {
                let n: i64 = r.try_get(0).map_err(|e| self.failed(e))?;
                let first: Option<String> = r.try_get(1).map_err(|e| self.failed(e))?;
                let last: Option<String> = r.try_get(2).map_err(|e| self.failed(e))?;
                let slot = usize::try_from(n)
                    .ok()
                    .and_then(|n| out.get_mut(c * (BATCH / 2) + n));
                if let (Some(slot), Some(first), Some(last)) = (slot, first, last) {
                    *slot = Some(DateRange {
                        first: parse_date("prices", &first)?,
                        last: parse_date("prices", &last)?,
                    });
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl RateStore for SqlStore {
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize> {
        for row in rows {
            check_finite("yield", row.percent)?;
        }
        let unique = last_per_key(rows, |r| (r.maturity, r.date));
        let dates: Vec<String> = unique.iter().map(|r| date_text(r.date)).collect();
        let statements = self.upserts(
            "interest",
            &["maturity", "date", "value"],
            &["maturity", "date"],
            unique
                .iter()
                .zip(&dates)
                .map(|(row, date)| {
                    vec![
                        Value::Text(row.maturity.name()),
                        Value::Text(date),
                        Value::Real(Some(row.percent)),
                    ]
                })
                .collect(),
        );
        self.transaction(&statements).await?;
        Ok(rows.len())
    }

    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        let (start, end) = (date_text(start), date_text(end));
        let rows = self
            .rows(
                "SELECT date, value FROM interest WHERE maturity = ? AND date >= ? AND date <= ? AND value IS NOT NULL ORDER BY date",
                &[Value::Text(maturity.name()), Value::Text(&start), Value::Text(&end)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let date: String = r.try_get(0).map_err(|e| self.failed(e))?;
                Ok(RateRow {
                    maturity,
                    date: parse_date("interest", &date)?,
                    percent: r.try_get(1).map_err(|e| self.failed(e))?,
                })
            })
            .collect()
    }

    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        let date = date_text(on_or_before);
        self.one_date(
            "interest",
            "SELECT max(date) FROM interest WHERE date <= ? AND value IS NOT NULL",
            &[Value::Text(&date)],
        )
        .await
    }

    async fn publication(
        &self,
        on_or_before: NaiveDate,
        _wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        let date = date_text(on_or_before);
        // The latest day first, then its rows: MySQL cannot read the table it filters in a
        // correlated subquery as cheaply as PostgreSQL, and the date alone is an index lookup.
        let Some(day) = self
            .one_date(
                "interest",
                "SELECT max(date) FROM interest WHERE date <= ? AND value IS NOT NULL",
                &[Value::Text(&date)],
            )
            .await?
        else {
            return Ok(None);
        };
        let day_text = date_text(day);
        let rows = self
            .rows(
                "SELECT maturity, value FROM interest WHERE date = ? AND value IS NOT NULL",
                &[Value::Text(&day_text)],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let name: String = r.try_get(0).map_err(|e| self.failed(e))?;
            let percent: f64 = r.try_get(1).map_err(|e| self.failed(e))?;
            // A tenor this version does not know is skipped, as `rates` never asks for it.
            if let Some(maturity) = Maturity::ALL.into_iter().find(|m| m.name() == name) {
                out.push(RateRow {
                    maturity,
                    date: day,
                    percent,
                });
            }
        }
        if out.is_empty() {
            // Only tenors this version does not know (or rows deleted meanwhile): as SQLite.
            return Ok(None);
        }
        out.sort_by_key(|r| Maturity::ALL.iter().position(|m| *m == r.maturity));
        Ok(Some(Publication {
            date: day,
            rows: out,
        }))
    }
}
