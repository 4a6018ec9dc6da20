//! Market data: prices by (ticker, date) and Treasury yields by (maturity, date).

use super::*;

#[async_trait]
impl PriceStore for SqliteStore {
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
        let ticker = ticker.to_string();
        self.read(move |conn| {
            let mut query = conn
                .prepare_cached(
                    "SELECT date, open, close FROM prices WHERE ticker = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map(params![ticker, date_text(start), date_text(end)], |r| {
                    // The date is read in place (no String per row): long histories are read often.
                    let date = parse_date("prices", r.get_ref(0)?.as_str()?);
                    Ok((date, r.get::<_, Option<f64>>(1)?, r.get::<_, Option<f64>>(2)?))
                })
                .map_err(query_failed)?;
            let mut out = Vec::new();
            for row in rows {
                let (date, open, close) = row.map_err(query_failed)?;
                let date = date?;
                let close = close.ok_or_else(|| {
                    StoreError::new(StoreErrorKind::Invalid, format!("prices row {ticker} {date} has no close"))
                })?;
                out.push(PriceRow { ticker: ticker.clone(), date, open, close });
            }
            Ok(out)
        })
        .await
    }

    async fn closes(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, f64)>> {
        let ticker = ticker.to_string();
        // Sessions in the range, at most: one allocation for the whole history.
        let capacity =
            usize::try_from((end - start).num_days().clamp(0, 40_000) * 5 / 7 + 1).unwrap_or(0);
        self.read(move |conn| {
            // Answered from the covering index alone.
            let mut query = conn
                .prepare_cached(
                    "SELECT date, close FROM prices WHERE ticker = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date",
                )
                .map_err(query_failed)?;
            let mut rows = query
                .query(params![ticker, date_text(start), date_text(end)])
                .map_err(query_failed)?;
            let mut out = Vec::with_capacity(capacity);
            while let Some(row) = rows.next().map_err(query_failed)? {
                let date = parse_date("prices", row.get_ref(0).and_then(|v| v.as_str().map_err(Into::into)).map_err(query_failed)?)?;
                let close = row.get::<_, Option<f64>>(1).map_err(query_failed)?.ok_or_else(|| {
                    StoreError::new(StoreErrorKind::Invalid, format!("prices row {ticker} {date} has no close"))
                })?;
                out.push((date, close));
            }
            Ok(out)
        })
        .await
    }

    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        self.read(|conn| {
            let mut query = conn
                .prepare_cached(
                    "SELECT ticker, min(date), max(date), count(*) FROM prices GROUP BY ticker ORDER BY ticker",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)))
                .map_err(query_failed)?;
            let mut out = Vec::new();
            for row in rows {
                let (ticker, first, last, count) = row.map_err(query_failed)?;
                out.push(TickerSummary {
                    ticker,
                    first: parse_date("prices", &first)?,
                    last: parse_date("prices", &last)?,
                    count: count as u64,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        let ticker = ticker.to_string();
        self.read(move |conn| {
            let latest: Option<String> = conn
                .prepare_cached("SELECT max(date) FROM prices WHERE ticker = ?1")
                .map_err(query_failed)?
                .query_row(params![ticker], |r| r.get(0))
                .map_err(query_failed)?;
            latest.map(|d| parse_date("prices", &d)).transpose()
        })
        .await
    }

    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        let ticker = ticker.to_string();
        self.read(move |conn| {
            let first: Option<String> = conn
                .prepare_cached("SELECT min(date) FROM prices WHERE ticker = ?1")
                .map_err(query_failed)?
                .query_row(params![ticker], |r| r.get(0))
                .map_err(query_failed)?;
            first.map(|d| parse_date("prices", &d)).transpose()
        })
        .await
    }

    async fn has_prices(&self) -> StoreResult<bool> {
        self.read(|conn| {
            conn.query_row("SELECT EXISTS(SELECT 1 FROM prices)", [], |r| {
                r.get::<_, bool>(0)
            })
            .map_err(query_failed)
        })
        .await
    }

    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        let tickers = tickers.to_vec();
        self.read(move |conn| {
            // Two index probes per ticker. `min(date), max(date) … GROUP BY ticker` reads every
            // row of every ticker instead (SQLite's min/max shortcut needs a lone aggregate),
            // which made it the costliest statement of a warm request.
            let mut query = conn
                .prepare_cached(
                    "SELECT (SELECT min(date) FROM prices WHERE ticker = ?1), \
                            (SELECT max(date) FROM prices WHERE ticker = ?1)",
                )
                .map_err(query_failed)?;
            let mut out = Vec::with_capacity(tickers.len());
            for ticker in &tickers {
                let (first, last): (Option<String>, Option<String>) = query
                    .query_row(params![ticker], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(query_failed)?;
                out.push(match (first, last) {
                    (Some(first), Some(last)) => Some(DateRange {
                        first: parse_date("prices", &first)?,
                        last: parse_date("prices", &last)?,
                    }),
                    _ => None,
                });
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl RateStore for SqliteStore {
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize> {
        self.writable()?;
        for row in rows {
            check_finite("yield", row.percent)?;
        }
        let rows = rows.to_vec();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(query_failed)?;
            {
                let mut insert = tx
                    .prepare_cached("INSERT OR REPLACE INTO interest(maturity, date, value) VALUES (?1, ?2, ?3)")
                    .map_err(query_failed)?;
                for row in &rows {
                    insert.execute(params![row.maturity.name(), date_text(row.date), row.percent]).map_err(query_failed)?;
                }
            }
            tx.commit().map_err(query_failed)?;
            Ok(rows.len())
        })
        .await
    }

    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        self.read(move |conn| {
            let mut query = conn
                .prepare_cached(
                    "SELECT date, value FROM interest WHERE maturity = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map(params![maturity.name(), date_text(start), date_text(end)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<f64>>(1)?))
                })
                .map_err(query_failed)?;
            let mut out = Vec::new();
            for row in rows {
                let (date, value) = row.map_err(query_failed)?;
                let date = parse_date("interest", &date)?;
                // A NULL yield is an unpublished value: skip it rather than invent a zero.
                if let Some(percent) = value {
                    out.push(RateRow { maturity, date, percent });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        self.read(move |conn| {
            let latest: Option<String> = conn
                .query_row(
                    "SELECT max(date) FROM interest WHERE date <= ?1 AND value IS NOT NULL",
                    params![date_text(on_or_before)],
                    |r| r.get(0),
                )
                .map_err(query_failed)?;
            latest.map(|d| parse_date("interest", &d)).transpose()
        })
        .await
    }

    async fn publication(
        &self,
        on_or_before: NaiveDate,
        _wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        self.read(move |conn| {
            let mut query = conn
                .prepare_cached(
                    "SELECT maturity, date, value FROM interest WHERE value IS NOT NULL AND date = \
                     (SELECT max(date) FROM interest WHERE date <= ?1 AND value IS NOT NULL)",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map(params![date_text(on_or_before)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, f64>(2)?,
                    ))
                })
                .map_err(query_failed)?;
            let mut publication: Option<Publication> = None;
            for row in rows {
                let (name, date, percent) = row.map_err(query_failed)?;
                let date = parse_date("interest", &date)?;
                // A tenor this version does not know is skipped, as `rates` never asks for it.
                let Some(maturity) = Maturity::ALL.into_iter().find(|m| m.name() == name) else {
                    continue;
                };
                publication
                    .get_or_insert_with(|| Publication {
                        date,
                        rows: Vec::new(),
                    })
                    .rows
                    .push(RateRow {
                        maturity,
                        date,
                        percent,
                    });
            }
            if let Some(p) = publication.as_mut() {
                p.rows
                    .sort_by_key(|r| Maturity::ALL.iter().position(|m| *m == r.maturity));
            }
            Ok(publication)
        })
        .await
    }
}
