//! The analytics cache: profiles and correlations keyed by their whole identity, marked with the
//! estimators' version so only Stratus's current results are served.

use async_trait::async_trait;
use sqlx_core::any::{Any, AnyRow};
use sqlx_core::row::Row;
use stratus_store::{
    ANALYTICS_VERSION, AnalyticsCache, CorrelationKey, ProfileKey, ProfileRecord, StoreError,
    StoreErrorKind, StoreResult, check_finite,
};

use crate::{SqlStore, Value, date_text, parse_date};

const PROFILE_COLUMNS: &[&str] = &[
    "ticker",
    "start_date",
    "end_date",
    "method",
    "weekends",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "asset_beta",
    "equity_cost",
    "stratus_version",
];
const PROFILE_KEY: &[&str] = &["ticker", "start_date", "end_date", "method", "weekends"];
const CORRELATION_COLUMNS: &[&str] = &[
    "ticker_1",
    "ticker_2",
    "start_date",
    "end_date",
    "method",
    "weekends",
    "correlation",
    "stratus_version",
];
const CORRELATION_KEY: &[&str] = &[
    "ticker_1",
    "ticker_2",
    "start_date",
    "end_date",
    "method",
    "weekends",
];

impl SqlStore {
    fn get<'r, T>(&self, row: &'r AnyRow, index: usize) -> StoreResult<T>
    where
        T: sqlx_core::decode::Decode<'r, Any> + sqlx_core::types::Type<Any>,
    {
        row.try_get(index).map_err(|e| self.failed(e))
    }

    fn method(&self, table: &str, text: &str) -> StoreResult<stratus_core::Method> {
        text.parse().map_err(|_| {
            StoreError::new(
                StoreErrorKind::Invalid,
                format!("{table} row with unknown method {text:?}"),
            )
        })
    }
}

#[async_trait]
impl AnalyticsCache for SqlStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        let (start, end) = (date_text(key.start), date_text(key.end));
        let rows = self
            .rows(
                "SELECT annual_return, annual_volatility, sharpe_ratio, asset_beta, equity_cost FROM profile
                 WHERE ticker = ? AND start_date = ? AND end_date = ? AND method = ? AND weekends = ?
                 AND stratus_version = ?",
                &[
                    Value::Text(&key.ticker),
                    Value::Text(&start),
                    Value::Text(&end),
                    Value::Text(key.method.as_str()),
                    Value::Int(i64::from(key.weekends)),
                    Value::Int(ANALYTICS_VERSION),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let (ret, vol): (Option<f64>, Option<f64>) = (self.get(row, 0)?, self.get(row, 1)?);
        // A row without return or volatility is a miss, as in the SQLite store.
        Ok(match (ret, vol) {
            (Some(annual_return), Some(annual_volatility)) => Some(ProfileRecord {
                annual_return,
                annual_volatility,
                sharpe_ratio: self.get(row, 2)?,
                asset_beta: self.get(row, 3)?,
                equity_cost: self.get(row, 4)?,
            }),
            _ => None,
        })
    }

    async fn put_profile(&self, key: &ProfileKey, record: &ProfileRecord) -> StoreResult<()> {
        check_finite("annual return", record.annual_return)?;
        check_finite("annual volatility", record.annual_volatility)?;
        for (what, value) in [
            ("Sharpe ratio", record.sharpe_ratio),
            ("beta", record.asset_beta),
            ("cost of equity", record.equity_cost),
        ] {
            if let Some(value) = value {
                check_finite(what, value)?;
            }
        }
        let (start, end) = (date_text(key.start), date_text(key.end));
        let row = vec![
            Value::Text(&key.ticker),
            Value::Text(&start),
            Value::Text(&end),
            Value::Text(key.method.as_str()),
            Value::Int(i64::from(key.weekends)),
            Value::Real(Some(record.annual_return)),
            Value::Real(Some(record.annual_volatility)),
            Value::Real(record.sharpe_ratio),
            Value::Real(record.asset_beta),
            Value::Real(record.equity_cost),
            Value::Int(ANALYTICS_VERSION),
        ];
        self.transaction(&self.upserts("profile", PROFILE_COLUMNS, PROFILE_KEY, vec![row]))
            .await
    }

    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        let (start, end) = (date_text(key.start), date_text(key.end));
        // Both orders in one query; the asked order wins if both are stored.
        let rows = self
            .rows(
                "SELECT correlation, ticker_1 FROM correlations
                 WHERE ((ticker_1 = ? AND ticker_2 = ?) OR (ticker_1 = ? AND ticker_2 = ?))
                 AND start_date = ? AND end_date = ? AND method = ? AND weekends = ? AND stratus_version = ?
                 AND correlation IS NOT NULL",
                &[
                    Value::Text(&key.ticker_1),
                    Value::Text(&key.ticker_2),
                    Value::Text(&key.ticker_2),
                    Value::Text(&key.ticker_1),
                    Value::Text(&start),
                    Value::Text(&end),
                    Value::Text(key.method.as_str()),
                    Value::Int(i64::from(key.weekends)),
                    Value::Int(ANALYTICS_VERSION),
                ],
            )
            .await?;
        let mut found = None;
        for row in &rows {
            let value: f64 = self.get(row, 0)?;
            let first: String = self.get(row, 1)?;
            if first == key.ticker_1 {
                return Ok(Some(value));
            }
            found = Some(value);
        }
        Ok(found)
    }

    async fn put_correlation(&self, key: &CorrelationKey, value: f64) -> StoreResult<()> {
        check_finite("correlation", value)?;
        let (start, end) = (date_text(key.start), date_text(key.end));
        let swapped = key.swapped();
        // Both orders in one statement (one row if the tickers are the same).
        let orders: Vec<&CorrelationKey> = if key.ticker_1 == key.ticker_2 {
            vec![key]
        } else {
            vec![key, &swapped]
        };
        let rows = orders
            .iter()
            .map(|k| {
                vec![
                    Value::Text(&k.ticker_1),
                    Value::Text(&k.ticker_2),
                    Value::Text(&start),
                    Value::Text(&end),
                    Value::Text(k.method.as_str()),
                    Value::Int(i64::from(k.weekends)),
                    Value::Real(Some(value)),
                    Value::Int(ANALYTICS_VERSION),
                ]
            })
            .collect();
        self.transaction(&self.upserts("correlations", CORRELATION_COLUMNS, CORRELATION_KEY, rows))
            .await
    }

    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        let rows = self
            .rows(
                "SELECT ticker, start_date, end_date, method, weekends, annual_return, annual_volatility,
                    sharpe_ratio, asset_beta, equity_cost FROM profile WHERE stratus_version = ?",
                &[Value::Int(ANALYTICS_VERSION)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (ret, vol): (Option<f64>, Option<f64>) = (self.get(row, 5)?, self.get(row, 6)?);
            let (Some(annual_return), Some(annual_volatility)) = (ret, vol) else {
                continue;
            };
            let (start, end, method): (String, String, String) =
                (self.get(row, 1)?, self.get(row, 2)?, self.get(row, 3)?);
            let weekends: i64 = self.get(row, 4)?;
            out.push((
                ProfileKey {
                    ticker: self.get(row, 0)?,
                    start: parse_date("profile", &start)?,
                    end: parse_date("profile", &end)?,
                    method: self.method("profile", &method)?,
                    weekends: weekends != 0,
                },
                ProfileRecord {
                    annual_return,
                    annual_volatility,
                    sharpe_ratio: self.get(row, 7)?,
                    asset_beta: self.get(row, 8)?,
                    equity_cost: self.get(row, 9)?,
                },
            ));
        }
        Ok(out)
    }

    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>> {
        let rows = self
            .rows(
                "SELECT ticker_1, ticker_2, start_date, end_date, method, weekends, correlation FROM correlations
                 WHERE stratus_version = ? AND correlation IS NOT NULL",
                &[Value::Int(ANALYTICS_VERSION)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (start, end, method): (String, String, String) =
                (self.get(row, 2)?, self.get(row, 3)?, self.get(row, 4)?);
            let weekends: i64 = self.get(row, 5)?;
            out.push((
                CorrelationKey {
                    ticker_1: self.get(row, 0)?,
                    ticker_2: self.get(row, 1)?,
                    start: parse_date("correlations", &start)?,
                    end: parse_date("correlations", &end)?,
                    method: self.method("correlations", &method)?,
                    weekends: weekends != 0,
                },
                self.get(row, 6)?,
            ));
        }
        Ok(out)
    }

    async fn invalidate_ticker(&self, ticker: &str) -> StoreResult<()> {
        self.transaction(&[
            (
                "DELETE FROM profile WHERE ticker = ?".into(),
                vec![Value::Text(ticker)],
            ),
            (
                "DELETE FROM correlations WHERE ticker_1 = ? OR ticker_2 = ?".into(),
                vec![Value::Text(ticker), Value::Text(ticker)],
            ),
        ])
        .await
    }

    async fn clear_analytics(&self) -> StoreResult<()> {
        self.transaction(&[
            ("DELETE FROM profile".into(), vec![]),
            ("DELETE FROM correlations".into(), vec![]),
        ])
        .await
    }
}
