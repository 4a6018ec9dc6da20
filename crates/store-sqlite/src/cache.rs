//! The analytics cache: profiles and correlations keyed by their whole identity, marked with
//! the estimators' version so only Stratus's current results are served.

use super::*;

fn weekends_flag(weekends: bool) -> i64 {
    i64::from(weekends)
}

/// The current profile with exactly this identity.
fn profile_in(conn: &Connection, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT annual_return, annual_volatility, sharpe_ratio, asset_beta, equity_cost FROM profile
             WHERE ticker = ?1 AND start_date = ?2 AND end_date = ?3 AND method = ?4 AND weekends = ?5
             AND stratus_version = ?6",
        )
        .map_err(query_failed)?
        .query_row(
            params![key.ticker, date_text(key.start), date_text(key.end), key.method.as_str(), weekends_flag(key.weekends), ANALYTICS_VERSION],
            |r| {
                Ok((
                    r.get::<_, Option<f64>>(0)?,
                    r.get::<_, Option<f64>>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(query_failed)?;
    // A row without return or volatility (scrilla builds rows column by column) is a miss.
    Ok(
        row.and_then(|(ret, vol, sharpe_ratio, asset_beta, equity_cost)| {
            Some(ProfileRecord {
                annual_return: ret?,
                annual_volatility: vol?,
                sharpe_ratio,
                asset_beta,
                equity_cost,
            })
        }),
    )
}

/// The current correlation with this identity, in either ticker order.
fn correlation_in(conn: &Connection, key: &CorrelationKey) -> StoreResult<Option<f64>> {
    let mut query = conn
        .prepare_cached(
            "SELECT correlation FROM correlations WHERE ticker_1 = ?1 AND ticker_2 = ?2 AND start_date = ?3
             AND end_date = ?4 AND method = ?5 AND weekends = ?6 AND stratus_version = ?7 LIMIT 1",
        )
        .map_err(query_failed)?;
    for k in [key.clone(), key.swapped()] {
        let found: Option<Option<f64>> = query
            .query_row(
                params![
                    k.ticker_1,
                    k.ticker_2,
                    date_text(k.start),
                    date_text(k.end),
                    k.method.as_str(),
                    weekends_flag(k.weekends),
                    ANALYTICS_VERSION
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(query_failed)?;
        if let Some(Some(value)) = found {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

#[async_trait]
impl AnalyticsCache for SqliteStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        let key = key.clone();
        self.read(move |conn| profile_in(conn, &key)).await
    }

    async fn put_profile(&self, key: &ProfileKey, record: &ProfileRecord) -> StoreResult<()> {
        self.writable()?;
        check_finite("annual return", record.annual_return)?;
        check_finite("annual volatility", record.annual_volatility)?;
        let (key, record) = (key.clone(), *record);
        self.run(move |conn| {
            conn.prepare_cached(
                "INSERT INTO profile(ticker, start_date, end_date, annual_return, annual_volatility, sharpe_ratio,
                    asset_beta, equity_cost, method, weekends, stratus_version)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT(ticker, start_date, end_date, method, weekends) DO UPDATE SET
                    annual_return = excluded.annual_return, annual_volatility = excluded.annual_volatility,
                    sharpe_ratio = excluded.sharpe_ratio, asset_beta = excluded.asset_beta,
                    equity_cost = excluded.equity_cost, stratus_version = excluded.stratus_version",
            )
            .map_err(query_failed)?
            .execute(params![
                key.ticker,
                date_text(key.start),
                date_text(key.end),
                record.annual_return,
                record.annual_volatility,
                record.sharpe_ratio,
                record.asset_beta,
                record.equity_cost,
                key.method.as_str(),
                weekends_flag(key.weekends),
                ANALYTICS_VERSION
            ])
            .map_err(query_failed)?;
            Ok(())
        })
        .await
    }

    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        let key = key.clone();
        self.read(move |conn| correlation_in(conn, &key)).await
    }

    async fn cached(
        &self,
        profiles: &[ProfileKey],
        correlations: &[CorrelationKey],
    ) -> StoreResult<Cached> {
        // One trip to the blocking pool for the whole batch.
        let (profiles, correlations) = (profiles.to_vec(), correlations.to_vec());
        self.read(move |conn| {
            Ok(Cached {
                profiles: profiles
                    .iter()
                    .map(|key| profile_in(conn, key))
                    .collect::<StoreResult<_>>()?,
                correlations: correlations
                    .iter()
                    .map(|key| correlation_in(conn, key))
                    .collect::<StoreResult<_>>()?,
            })
        })
        .await
    }

    async fn put_correlation(&self, key: &CorrelationKey, value: f64) -> StoreResult<()> {
        self.writable()?;
        check_finite("correlation", value)?;
        let key = key.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(query_failed)?;
            {
                // No unique index to upsert on (scrilla could not share the file): the rows of
                // this identity, whoever wrote them, are replaced inside one transaction.
                let mut delete = tx
                    .prepare_cached(
                        "DELETE FROM correlations WHERE ticker_1 = ?1 AND ticker_2 = ?2 AND start_date = ?3
                         AND end_date = ?4 AND method = ?5 AND weekends = ?6",
                    )
                    .map_err(query_failed)?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO correlations(ticker_1, ticker_2, start_date, end_date, correlation, method, weekends,
                            stratus_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(query_failed)?;
                for k in [key.clone(), key.swapped()] {
                    let (start, end) = (date_text(k.start), date_text(k.end));
                    let (method, weekends) = (k.method.as_str(), weekends_flag(k.weekends));
                    delete
                        .execute(params![k.ticker_1, k.ticker_2, start, end, method, weekends])
                        .map_err(query_failed)?;
                    insert
                        .execute(params![
                            k.ticker_1,
                            k.ticker_2,
                            start,
                            end,
                            value,
                            method,
                            weekends,
                            ANALYTICS_VERSION
                        ])
                        .map_err(query_failed)?;
                }
            }
            tx.commit().map_err(query_failed)
        })
        .await
    }

    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        self.read(|conn| {
            let mut query = conn
                .prepare(
                    "SELECT ticker, start_date, end_date, method, weekends, annual_return, annual_volatility,
                        sharpe_ratio, asset_beta, equity_cost FROM profile WHERE stratus_version = ?1",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map(params![ANALYTICS_VERSION], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        [r.get::<_, Option<f64>>(5)?, r.get::<_, Option<f64>>(6)?, r.get::<_, Option<f64>>(7)?, r.get::<_, Option<f64>>(8)?, r.get::<_, Option<f64>>(9)?],
                    ))
                })
                .map_err(query_failed)?;
            let mut out = Vec::new();
            for row in rows {
                let (ticker, start, end, method, weekends, values) = row.map_err(query_failed)?;
                // Partial scrilla rows (no dates, no return or volatility) are not results.
                let (Some(ticker), Some(start), Some(end), Some(method), Some(ret), Some(vol)) =
                    (ticker, start, end, method, values[0], values[1])
                else {
                    continue;
                };
                let method = method.parse().map_err(|_| {
                    StoreError::new(StoreErrorKind::Invalid, format!("profile row with unknown method {method:?}"))
                })?;
                out.push((
                    ProfileKey {
                        ticker,
                        start: parse_date("profile", &start)?,
                        end: parse_date("profile", &end)?,
                        method,
                        weekends: weekends.unwrap_or(0) != 0,
                    },
                    ProfileRecord {
                        annual_return: ret,
                        annual_volatility: vol,
                        sharpe_ratio: values[2],
                        asset_beta: values[3],
                        equity_cost: values[4],
                    },
                ));
            }
            Ok(out)
        })
        .await
    }

    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>> {
        self.read(|conn| {
            let mut query = conn
                .prepare(
                    "SELECT ticker_1, ticker_2, start_date, end_date, method, weekends, correlation FROM correlations
                     WHERE stratus_version = ?1",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map(params![ANALYTICS_VERSION], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, Option<f64>>(6)?,
                    ))
                })
                .map_err(query_failed)?;
            let mut out = Vec::new();
            for row in rows {
                let (ticker_1, ticker_2, start, end, method, weekends, value) = row.map_err(query_failed)?;
                let Some(value) = value else { continue };
                let method = method.parse().map_err(|_| {
                    StoreError::new(StoreErrorKind::Invalid, format!("correlation row with unknown method {method:?}"))
                })?;
                out.push((
                    CorrelationKey {
                        ticker_1,
                        ticker_2,
                        start: parse_date("correlations", &start)?,
                        end: parse_date("correlations", &end)?,
                        method,
                        weekends: weekends.unwrap_or(0) != 0,
                    },
                    value,
                ));
            }
            Ok(out)
        })
        .await
    }

    async fn invalidate_ticker(&self, ticker: &str) -> StoreResult<()> {
        self.writable()?;
        let ticker = ticker.to_string();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(query_failed)?;
            tx.execute("DELETE FROM profile WHERE ticker = ?1", params![ticker])
                .map_err(query_failed)?;
            tx.execute(
                "DELETE FROM correlations WHERE ticker_1 = ?1 OR ticker_2 = ?1",
                params![ticker],
            )
            .map_err(query_failed)?;
            tx.commit().map_err(query_failed)
        })
        .await
    }

    async fn clear_analytics(&self) -> StoreResult<()> {
        self.writable()?;
        self.run(|conn| {
            conn.execute_batch(
                "BEGIN IMMEDIATE; DELETE FROM profile; DELETE FROM correlations; COMMIT;",
            )
            .map_err(query_failed)
        })
        .await
    }
}
