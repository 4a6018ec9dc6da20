//! Market data: prices by (ticker, date) and Treasury yields by (maturity, date).

use super::*;
use crate::requests::put;

impl DynamoStore {
    /// The first (`first`) or last date with a price for `ticker`: one key query of one item.
    pub(crate) async fn end_price_date(
        &self,
        ticker: &str,
        first: bool,
    ) -> StoreResult<Option<NaiveDate>> {
        let output = self
            .client
            .query()
            .table_name(&self.tables.prices.name)
            .key_condition_expression("ticker = :t")
            .expression_attribute_values(":t", s(ticker))
            .scan_index_forward(first)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.error(&self.tables.prices.name, "Query", e))?;
        output
            .items()
            .first()
            .map(|item| get_date(&self.tables.prices.name, item, "date"))
            .transpose()
    }
}

fn price_from(table: &str, ticker: &str, item: &Item) -> StoreResult<PriceRow> {
    let date = get_date(table, item, "date")?;
    let close = get_n(table, item, "close")?
        .ok_or_else(|| malformed(table, format!("price of {ticker} on {date} has no close")))?;
    Ok(PriceRow {
        ticker: ticker.to_string(),
        date,
        open: get_n(table, item, "open")?,
        close,
    })
}

#[async_trait]
impl PriceStore for DynamoStore {
    async fn put_prices(&self, rows: &[PriceRow]) -> StoreResult<usize> {
        let mut requests = Vec::with_capacity(rows.len());
        for row in rows {
            check_finite("close", row.close)?;
            let mut item: Item = [
                ("ticker".to_string(), s(&row.ticker)),
                ("date".to_string(), s(date_text(row.date))),
                ("close".to_string(), n(row.close)),
            ]
            .into();
            // scrilla's reader indexes `open` on every item, so an unknown open is a NULL.
            match row.open {
                Some(open) => {
                    check_finite("open", open)?;
                    item.insert("open".into(), n(open));
                }
                None => {
                    item.insert("open".into(), AttributeValue::Null(true));
                }
            }
            requests.push(put(item)?);
        }
        self.batch_write(&self.tables.prices.name, requests).await
    }

    /// Not atomic on DynamoDB: the new rows are written first, then the dates they do not cover
    /// are deleted, so an interruption leaves the new history with some old dates around it,
    /// never a ticker without prices; rerunning finishes the job.
    async fn replace_prices(&self, ticker: &str, rows: &[PriceRow]) -> StoreResult<usize> {
        stratus_store::check_one_ticker(ticker, rows)?;
        let written = self.put_prices(rows).await?;
        let keep: std::collections::HashSet<NaiveDate> = rows.iter().map(|r| r.date).collect();
        let request = self
            .client
            .query()
            .table_name(&self.tables.prices.name)
            .key_condition_expression("ticker = :t")
            .expression_attribute_values(":t", s(ticker))
            .projection_expression("ticker, #d")
            .expression_attribute_names("#d", "date");
        let stale: Vec<Item> = self
            .query_all(&self.tables.prices.name, request)
            .await?
            .into_iter()
            .filter(|key| {
                get_date(&self.tables.prices.name, key, "date").map_or(true, |d| !keep.contains(&d))
            })
            .collect();
        self.delete_keys(&self.tables.prices.name.clone(), stale)
            .await?;
        Ok(written)
    }

    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>> {
        if start > end {
            return Ok(Vec::new());
        }
        let items = self
            .dated_range(&self.tables.prices.name, "ticker", ticker, start, end)
            .await?;
        items
            .iter()
            .map(|item| price_from(&self.tables.prices.name, ticker, item))
            .collect()
    }

    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        let items = self
            .scan_all(
                &self.tables.prices.name,
                Some(("ticker, #d", &[("#d", "date")])),
            )
            .await?;
        let mut summary: std::collections::BTreeMap<String, (NaiveDate, NaiveDate, u64)> =
            Default::default();
        for item in &items {
            let ticker = get_s(&self.tables.prices.name, item, "ticker")?.to_string();
            let date = get_date(&self.tables.prices.name, item, "date")?;
            let entry = summary.entry(ticker).or_insert((date, date, 0));
            entry.0 = entry.0.min(date);
            entry.1 = entry.1.max(date);
            entry.2 += 1;
        }
        Ok(summary
            .into_iter()
            .map(|(ticker, (first, last, count))| TickerSummary {
                ticker,
                first,
                last,
                count,
            })
            .collect())
    }

    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.end_price_date(ticker, false).await
    }

    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.end_price_date(ticker, true).await
    }

    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        // Two one-item key queries per ticker, all in flight together (boxed: a closure here
        // trips async-trait's lifetime inference).
        let lookups: Vec<RangeFuture<'_>> = tickers
            .iter()
            .map(|ticker| -> RangeFuture<'_> {
                Box::pin(async move {
                    let (first, last) = futures_util::future::try_join(
                        self.end_price_date(ticker, true),
                        self.end_price_date(ticker, false),
                    )
                    .await?;
                    Ok(first
                        .zip(last)
                        .map(|(first, last)| DateRange { first, last }))
                })
            })
            .collect();
        stream::iter(lookups)
            .buffered(QUERIES_IN_FLIGHT)
            .try_collect()
            .await
    }

    async fn has_prices(&self) -> StoreResult<bool> {
        let output = self
            .client
            .scan()
            .table_name(&self.tables.prices.name)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.error(&self.tables.prices.name, "Scan", e))?;
        Ok(output.count > 0)
    }
}

#[async_trait]
impl RateStore for DynamoStore {
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize> {
        let mut requests = Vec::with_capacity(rows.len());
        for row in rows {
            check_finite("yield", row.percent)?;
            requests.push(put([
                ("maturity".to_string(), s(row.maturity.name())),
                ("date".to_string(), s(date_text(row.date))),
                ("value".to_string(), n(row.percent)),
            ]
            .into())?);
        }
        self.batch_write(&self.tables.interest.name, requests).await
    }

    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        if start > end {
            return Ok(Vec::new());
        }
        let items = self
            .dated_range(
                &self.tables.interest.name,
                "maturity",
                maturity.name(),
                start,
                end,
            )
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(percent) = get_n(&self.tables.interest.name, item, "value")? {
                out.push(RateRow {
                    maturity,
                    date: get_date(&self.tables.interest.name, item, "date")?,
                    percent,
                });
            }
        }
        Ok(out)
    }

    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        Ok(self
            .latest_rates(&Maturity::ALL, on_or_before)
            .await?
            .iter()
            .flatten()
            .map(|(date, _)| *date)
            .max())
    }

    async fn publication(
        &self,
        on_or_before: NaiveDate,
        wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        // Tenors are separate partitions, so "the latest publication" takes one query per tenor
        // — unless every tenor asked for was published on the very date asked, which no other
        // tenor can be later than.
        if !wanted.is_empty() {
            let latest = self.latest_rates(wanted, on_or_before).await?;
            if latest
                .iter()
                .all(|found| matches!(found, Some((date, Some(_))) if *date == on_or_before))
            {
                let rows = wanted
                    .iter()
                    .zip(latest.into_iter().flatten())
                    .filter_map(|(&maturity, (date, percent))| {
                        percent.map(|percent| RateRow {
                            maturity,
                            date,
                            percent,
                        })
                    })
                    .collect();
                return Ok(Some(Publication {
                    date: on_or_before,
                    rows,
                }));
            }
        }
        let latest = self.latest_rates(&Maturity::ALL, on_or_before).await?;
        let Some(date) = latest.iter().flatten().map(|(date, _)| *date).max() else {
            return Ok(None);
        };
        let rows = Maturity::ALL
            .into_iter()
            .zip(latest)
            .filter_map(|(maturity, found)| match found {
                Some((d, Some(percent))) if d == date => Some(RateRow {
                    maturity,
                    date,
                    percent,
                }),
                _ => None,
            })
            .collect();
        Ok(Some(Publication { date, rows }))
    }
}

impl DynamoStore {
    /// For each maturity, its latest item on or before `date`: the date and the yield (`None`
    /// for an item without one). One one-item query per maturity, all in flight together.
    async fn latest_rates(
        &self,
        maturities: &[Maturity],
        on_or_before: NaiveDate,
    ) -> StoreResult<Vec<Option<(NaiveDate, Option<f64>)>>> {
        let queries = maturities.iter().map(|maturity| async move {
            let output = self
                .client
                .query()
                .table_name(&self.tables.interest.name)
                .key_condition_expression("maturity = :m AND #d <= :e")
                .expression_attribute_names("#d", "date")
                .expression_attribute_values(":m", s(maturity.name()))
                .expression_attribute_values(":e", s(date_text(on_or_before)))
                .scan_index_forward(false)
                .limit(1)
                .send()
                .await
                .map_err(|e| self.error(&self.tables.interest.name, "Query", e))?;
            match output.items().first() {
                Some(item) => Ok(Some((
                    get_date(&self.tables.interest.name, item, "date")?,
                    get_n(&self.tables.interest.name, item, "value")?,
                ))),
                None => Ok(None),
            }
        });
        futures_util::future::try_join_all(queries).await
    }
}
