//! The default, embedded store: one SQLite file.
//!
//! The tables are scrilla 1.6.0's (`prices`, `interest`, `profile`, `correlations`, same columns),
//! so a scrilla cache file can be opened directly and a Stratus file read and written by scrilla
//! at the same time. Stratus adds what scrilla lacked without breaking what scrilla does: keyed
//! saves instead of duplicate rows (scrilla defect D11) — a unique index on the profile identity
//! (scrilla updates profile rows in place too) and delete-then-insert for correlations (scrilla
//! inserts those blindly, so a unique index there would make scrilla fail); indexes named after
//! the DynamoDB "telescoping" GSIs; a `stratus_version` mark on the analytics rows Stratus
//! writes, so it never serves a result scrilla computed; and one connection per store instead of
//! one per statement.
//!
//! SQLite calls block, so every operation runs on tokio's blocking pool, never on the async
//! runtime's threads. Writes take the write lock up front (`BEGIN IMMEDIATE`) and wait up to a
//! minute for another process's write (two `stratus` commands loading the bundled data at once).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use stratus_core::{Maturity, Method};
use stratus_store::{
    ANALYTICS_VERSION, AnalyticsCache, Capabilities, CorrelationKey, DateRange, PriceRow,
    PriceStore, ProfileKey, ProfileRecord, Publication, RateRow, RateStore, Store, StoreError,
    StoreErrorKind, StoreResult, StoreStatus, TickerSummary, check_finite,
};

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS prices(ticker text, date text, open real, close real, UNIQUE(ticker, date));
CREATE TABLE IF NOT EXISTS interest(maturity text, date text, value real, UNIQUE(maturity, date));
CREATE TABLE IF NOT EXISTS profile(id INTEGER PRIMARY KEY, ticker TEXT, start_date TEXT, end_date TEXT,
    annual_return REAL, annual_volatility REAL, sharpe_ratio REAL, asset_beta REAL, equity_cost REAL,
    method TEXT, weekends INT);
CREATE TABLE IF NOT EXISTS correlations(ticker_1 TEXT, ticker_2 TEXT, start_date TEXT, end_date TEXT,
    correlation REAL, method TEXT, weekends INT);
";

const MIGRATION_1: &str = "
DELETE FROM correlations WHERE rowid NOT IN (
    SELECT max(rowid) FROM correlations GROUP BY ticker_1, ticker_2, start_date, end_date, method, weekends);
DELETE FROM profile WHERE id NOT IN (
    SELECT max(id) FROM profile GROUP BY ticker, start_date, end_date, method, weekends);
CREATE UNIQUE INDEX IF NOT EXISTS profile_identity ON profile(ticker, start_date, end_date, method, weekends);
CREATE INDEX IF NOT EXISTS DateTelescoping ON profile(weekends, end_date);
CREATE INDEX IF NOT EXISTS EstimationTelescoping ON profile(method);
CREATE INDEX IF NOT EXISTS AssetTelescoping ON correlations(ticker_2, end_date);
CREATE INDEX IF NOT EXISTS WeekendTelescoping ON correlations(weekends);
CREATE INDEX IF NOT EXISTS CorrelationEstimationTelescoping ON correlations(method);
CREATE INDEX IF NOT EXISTS interest_by_date ON interest(date);
";

/// Version 2: scrilla inserts every correlation row with a plain `INSERT` (and the reversed pair
/// twice), so a unique index on `correlations` made scrilla itself fail on a shared file; the
/// identity gets an ordinary index and Stratus replaces rows by delete-then-insert instead. And
/// Stratus marks the analytics rows it writes (`stratus_version`), so that it serves only results
/// it computed with its current estimators — never scrilla's (defects included) or an older
/// Stratus's. scrilla names its columns in every statement, so the extra column is invisible to it.
const MIGRATION_2: &str = "
DROP INDEX IF EXISTS correlation_identity;
CREATE INDEX IF NOT EXISTS correlation_lookup
    ON correlations(ticker_1, ticker_2, start_date, end_date, method, weekends);
ALTER TABLE profile ADD COLUMN stratus_version INT;
ALTER TABLE correlations ADD COLUMN stratus_version INT;
";

/// A store in one SQLite file.
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
    read_only: bool,
}

fn unavailable(path: &Path, error: rusqlite::Error) -> StoreError {
    StoreError::with_source(
        StoreErrorKind::Unavailable,
        format!(
            "cannot open the SQLite store at {}: {error}; check that the folder exists and is writable, or set STRATUS_HOME",
            path.display()
        ),
        error,
    )
}

fn corrupt(path: &Path, error: rusqlite::ffi::Error) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!(
            "the SQLite store at {} is damaged or not an SQLite file ({error}); `stratus clear-cache --all` moves it aside and rebuilds the cache from the bundled data (imported prices must be imported again)",
            path.display()
        ),
    )
}

impl SqliteStore {
    /// Moves a damaged store file aside (to `<file>.corrupt`, replacing an earlier one, with its
    /// `-wal` and `-shm` companions) so that a fresh one can be created. Returns where it went.
    pub fn set_aside(path: impl AsRef<Path>) -> StoreResult<PathBuf> {
        let path = path.as_ref();
        let aside = PathBuf::from(format!("{}.corrupt", path.display()));
        std::fs::rename(path, &aside).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("cannot move {} aside: {e}", path.display()),
            )
        })?;
        for companion in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{companion}", path.display()));
        }
        Ok(aside)
    }
}

fn query_failed(error: rusqlite::Error) -> StoreError {
    let kind = match &error {
        rusqlite::Error::SqliteFailure(e, _) => match e.code {
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                StoreErrorKind::Throttled
            }
            rusqlite::ErrorCode::ConstraintViolation => StoreErrorKind::Conflict,
            rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::ReadOnly
            | rusqlite::ErrorCode::DiskFull
            | rusqlite::ErrorCode::SystemIoFailure => StoreErrorKind::Unavailable,
            rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt => {
                StoreErrorKind::Invalid
            }
            _ => StoreErrorKind::Internal,
        },
        _ => StoreErrorKind::Internal,
    };
    StoreError::with_source(kind, format!("SQLite store error: {error}"), error)
}

fn parse_date(table: &str, text: &str) -> StoreResult<NaiveDate> {
    text.get(..10).and_then(|t| t.parse().ok()).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::Invalid,
            format!("malformed date {text:?} in table {table}; expected YYYY-MM-DD"),
        )
    })
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        // Another process creating or seeding the same file can hold locks SQLite will not wait
        // for through the busy handler (switching the journal mode, upgrading a read), so a busy
        // start is retried for as long as the busy timeout would have waited.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let connection = loop {
            match Self::initialise(&path) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                    ) =>
                {
                    return Err(corrupt(&path, e));
                }
                other => break other.map_err(|e| unavailable(&path, e))?,
            }
        };
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            path,
            read_only: false,
        })
    }

    /// Opens an existing store file for reading only (a snapshot): nothing is ever written to it
    /// — no schema, no journal-mode switch — and every write is refused. The file must already
    /// have the current schema.
    pub fn open_read_only(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        let connection = Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| unavailable(&path, e))?;
        let version: i64 = match connection.query_row("PRAGMA user_version", [], |r| r.get(0)) {
            Ok(version) => version,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                ) =>
            {
                return Err(corrupt(&path, e));
            }
            Err(e) => return Err(unavailable(&path, e)),
        };
        if version != SCHEMA_VERSION {
            return Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!(
                    "the read-only SQLite store at {} has schema version {version}, not {SCHEMA_VERSION}; open it once writable with this Stratus (or make the snapshot with it)",
                    path.display()
                ),
            ));
        }
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            path,
            read_only: true,
        })
    }

    /// Refuses a write to a read-only store.
    fn writable(&self) -> StoreResult<()> {
        if self.read_only {
            Err(StoreError::new(
                StoreErrorKind::Invalid,
                format!(
                    "the SQLite store at {} is open read-only; nothing can be written to it",
                    self.path.display()
                ),
            ))
        } else {
            Ok(())
        }
    }

    /// Opens the file, sets the pragmas and brings the schema up to date.
    fn initialise(path: &Path) -> rusqlite::Result<Connection> {
        let mut connection = Connection::open(path)?;
        // The timeout first: switching to WAL takes a lock another process may hold.
        connection.execute_batch(
            "PRAGMA busy_timeout=60000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        )?;
        connection.execute_batch(SCHEMA)?;
        let version: i64 = connection.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < SCHEMA_VERSION {
            // The version is read again under the write lock: another process opening the same
            // new file may have migrated it meanwhile (and ALTER TABLE cannot run twice).
            let tx =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version < 1 {
                tx.execute_batch(MIGRATION_1)?;
            }
            if version < 2 {
                tx.execute_batch(MIGRATION_2)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))?;
            tx.commit()?;
        }
        Ok(connection)
    }

    /// Upserts `rows` in one transaction, after deleting every price of `replacing` first.
    async fn write_prices(&self, replacing: Option<&str>, rows: &[PriceRow]) -> StoreResult<usize> {
        self.writable()?;
        stratus_store::check_price_rows(rows)?;
        let rows = rows.to_vec();
        let replacing = replacing.map(str::to_string);
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(query_failed)?;
            if let Some(ticker) = &replacing {
                tx.execute("DELETE FROM prices WHERE ticker = ?1", params![ticker])
                    .map_err(query_failed)?;
            }
            {
                let mut insert = tx
                    .prepare_cached("INSERT OR REPLACE INTO prices(ticker, date, open, close) VALUES (?1, ?2, ?3, ?4)")
                    .map_err(query_failed)?;
                for row in &rows {
                    insert.execute(params![row.ticker, date_text(row.date), row.open, row.close]).map_err(query_failed)?;
                }
            }
            tx.commit().map_err(query_failed)?;
            Ok(rows.len())
        })
        .await
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let job = move || {
            let mut guard = connection.lock().map_err(|_| {
                StoreError::new(
                    StoreErrorKind::Internal,
                    "SQLite connection poisoned by a panic",
                )
            })?;
            work(&mut guard)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn_blocking(job).await.map_err(|e| {
                StoreError::new(StoreErrorKind::Internal, format!("SQLite task failed: {e}"))
            })?,
            Err(_) => job(),
        }
    }
}

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
        self.run(move |conn| {
            let mut query = conn
                .prepare_cached(
                    "SELECT date, open, close FROM prices WHERE ticker = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date",
                )
                .map_err(query_failed)?;
            let rows = query
                .query_map(params![ticker, date_text(start), date_text(end)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<f64>>(1)?, r.get::<_, Option<f64>>(2)?))
                })
                .map_err(query_failed)?;
            let mut out = Vec::new();
            for row in rows {
                let (date, open, close) = row.map_err(query_failed)?;
                let date = parse_date("prices", &date)?;
                let close = close.ok_or_else(|| {
                    StoreError::new(StoreErrorKind::Invalid, format!("prices row {ticker} {date} has no close"))
                })?;
                out.push(PriceRow { ticker: ticker.clone(), date, open, close });
            }
            Ok(out)
        })
        .await
    }

    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        self.run(|conn| {
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
        self.run(move |conn| {
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
        self.run(move |conn| {
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
        self.run(|conn| {
            conn.query_row("SELECT EXISTS(SELECT 1 FROM prices)", [], |r| {
                r.get::<_, bool>(0)
            })
            .map_err(query_failed)
        })
        .await
    }

    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        let tickers = tickers.to_vec();
        self.run(move |conn| {
            let mut found = std::collections::HashMap::new();
            // Within SQLite's limit on bound parameters.
            for chunk in tickers.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let mut query = conn
                    .prepare(&format!(
                        "SELECT ticker, min(date), max(date) FROM prices WHERE ticker IN ({marks}) GROUP BY ticker"
                    ))
                    .map_err(query_failed)?;
                let rows = query
                    .query_map(rusqlite::params_from_iter(chunk.iter()), |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                    })
                    .map_err(query_failed)?;
                for row in rows {
                    let (ticker, first, last) = row.map_err(query_failed)?;
                    let range = DateRange {
                        first: parse_date("prices", &first)?,
                        last: parse_date("prices", &last)?,
                    };
                    found.insert(ticker, range);
                }
            }
            Ok(tickers.iter().map(|t| found.get(t).copied()).collect())
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
        self.run(move |conn| {
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
        self.run(move |conn| {
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
        self.run(move |conn| {
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

fn weekends_flag(weekends: bool) -> i64 {
    i64::from(weekends)
}

#[async_trait]
impl AnalyticsCache for SqliteStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        let key = key.clone();
        self.run(move |conn| {
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
            Ok(row.and_then(|(ret, vol, sharpe_ratio, asset_beta, equity_cost)| {
                Some(ProfileRecord { annual_return: ret?, annual_volatility: vol?, sharpe_ratio, asset_beta, equity_cost })
            }))
        })
        .await
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
        self.run(move |conn| {
            let mut query = conn
                .prepare_cached(
                    "SELECT correlation FROM correlations WHERE ticker_1 = ?1 AND ticker_2 = ?2 AND start_date = ?3
                     AND end_date = ?4 AND method = ?5 AND weekends = ?6 AND stratus_version = ?7 LIMIT 1",
                )
                .map_err(query_failed)?;
            for k in [key.clone(), key.swapped()] {
                let found: Option<Option<f64>> = query
                    .query_row(
                        params![k.ticker_1, k.ticker_2, date_text(k.start), date_text(k.end), k.method.as_str(), weekends_flag(k.weekends), ANALYTICS_VERSION],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(query_failed)?;
                if let Some(Some(value)) = found {
                    return Ok(Some(value));
                }
            }
            Ok(None)
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
        self.run(|conn| {
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
        self.run(|conn| {
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

#[async_trait]
impl Store for SqliteStore {
    fn capabilities(&self) -> Capabilities {
        if self.read_only {
            Capabilities::READ_ONLY
        } else {
            Capabilities::LOCAL
        }
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn status(&self) -> StoreResult<StoreStatus> {
        let description = format!("sqlite:{}", self.path.display());
        self.run(move |conn| {
            let count = |table: &str| -> StoreResult<u64> {
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(query_failed)
            };
            Ok(StoreStatus {
                description,
                prices: count("prices")?,
                rates: count("interest")?,
                profiles: count("profile")?,
                correlations: count("correlations")?,
            })
        })
        .await
    }

    async fn clear_all(&self) -> StoreResult<()> {
        self.writable()?;
        self.run(|conn| {
            conn.execute_batch(
                "BEGIN IMMEDIATE; DELETE FROM prices; DELETE FROM interest; DELETE FROM profile; DELETE FROM correlations; COMMIT;",
            )
            .map_err(query_failed)
        })
        .await
    }
}

/// Parses a stored method name (for tools reading the raw tables).
pub fn parse_method(text: &str) -> Option<Method> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("cache.db")).unwrap();
        (dir, store)
    }

    mod conformance {
        stratus_store::conformance_tests!(super::Fixture::new(), super::Fixture::store);
    }

    #[tokio::test]
    async fn a_read_only_store_answers_the_same_and_never_writes() {
        let (dir, store) = fresh();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let rows: Vec<PriceRow> = ["2024-01-02", "2024-01-03", "2024-01-04"]
            .iter()
            .enumerate()
            .map(|(i, date)| PriceRow {
                ticker: "AAA".into(),
                date: d(date),
                open: None,
                close: 10.0 + i as f64,
            })
            .collect();
        store.put_prices(&rows).await.unwrap();
        store
            .put_rates(&[RateRow {
                maturity: Maturity::TenYear,
                date: d("2024-01-03"),
                percent: 4.0,
            }])
            .await
            .unwrap();
        drop(store);
        let path = dir.path().join("cache.db");
        let before = std::fs::read(&path).unwrap();
        let snapshot = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(snapshot.capabilities(), Capabilities::READ_ONLY);
        assert_eq!(
            snapshot
                .date_ranges(&["AAA".into(), "ZZZ".into()])
                .await
                .unwrap(),
            vec![
                Some(DateRange {
                    first: d("2024-01-02"),
                    last: d("2024-01-04")
                }),
                None
            ]
        );
        let publication = snapshot
            .publication(d("2024-01-04"), &[Maturity::TenYear])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(publication.date, d("2024-01-03"));
        let key = ProfileKey {
            ticker: "AAA".into(),
            start: d("2024-01-02"),
            end: d("2024-01-04"),
            method: Method::Moments,
            weekends: false,
        };
        let record = ProfileRecord {
            annual_return: 0.1,
            annual_volatility: 0.2,
            sharpe_ratio: None,
            asset_beta: None,
            equity_cost: None,
        };
        let refused = snapshot.put_profile(&key, &record).await.unwrap_err();
        assert!(refused.message.contains("read-only"), "{}", refused.message);
        assert!(snapshot.put_prices(&rows).await.is_err());
        assert!(snapshot.clear_all().await.is_err());
        drop(snapshot);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file is untouched"
        );
        assert!(SqliteStore::open_read_only(dir.path().join("missing.db")).is_err());
    }

    /// Keeps the temporary folder alive as long as the store.
    struct Fixture {
        _dir: tempfile::TempDir,
        store: SqliteStore,
    }

    impl Fixture {
        fn store(&self) -> &SqliteStore {
            &self.store
        }

        fn new() -> Self {
            let (dir, store) = fresh();
            Fixture { _dir: dir, store }
        }
    }

    #[test]
    fn a_missing_folder_is_an_unavailable_store_with_a_clear_message() {
        let err = SqliteStore::open("/nonexistent/folder/cache.db")
            .err()
            .unwrap();
        assert_eq!(err.kind, StoreErrorKind::Unavailable);
        assert!(
            err.message.contains("/nonexistent/folder/cache.db")
                && err.message.contains("STRATUS_HOME")
        );
    }

    #[tokio::test]
    async fn opens_a_scrilla_cache_and_removes_its_duplicate_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scrilla.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            // scrilla writes (t2, t1) twice (defect D11) and builds profile rows column by column.
            conn.execute_batch(
                "INSERT INTO correlations VALUES ('AAPL','MSFT','2022-08-05','2022-12-28',0.8,'moments',0);
                 INSERT INTO correlations VALUES ('MSFT','AAPL','2022-08-05','2022-12-28',0.8,'moments',0);
                 INSERT INTO correlations VALUES ('MSFT','AAPL','2022-08-05','2022-12-28',0.8,'moments',0);
                 INSERT INTO profile(ticker,start_date,end_date,annual_return,method,weekends)
                     VALUES ('KO','2022-08-05','2022-12-28',0.1,'moments',0);
                 INSERT INTO prices VALUES ('KO','2022-12-28',60.1,60.5);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let status = store.status().await.unwrap();
        assert_eq!(status.correlations, 2);
        let key = ProfileKey {
            ticker: "KO".into(),
            start: "2022-08-05".parse().unwrap(),
            end: "2022-12-28".parse().unwrap(),
            method: Method::Moments,
            weekends: false,
        };
        // Without a volatility the row is a miss, not a half-filled answer.
        assert_eq!(store.profile(&key).await.unwrap(), None);
        let prices = store.prices("KO", key.start, key.end).await.unwrap();
        assert_eq!((prices[0].open, prices[0].close), (Some(60.1), 60.5));
    }

    /// scrilla's own statements (`scrilla/cache.py`, 1.6.0), as it runs them on a shared file.
    const SCRILLA_CORRELATION_INSERT: &str = "INSERT INTO correlations (ticker_1, ticker_2, start_date, end_date, correlation, method, weekends) VALUES (:ticker_1, :ticker_2, :start_date, :end_date, :correlation, :method, :weekends)";
    const SCRILLA_CORRELATION_QUERY: &str = "SELECT correlation FROM correlations WHERE ticker_1=:ticker_1 AND ticker_2=:ticker_2 AND start_date=date(:start_date) AND end_date=date(:end_date) AND method=:method AND weekends=:weekends";

    fn scrilla_saves_a_correlation(path: &Path, value: f64) -> rusqlite::Result<()> {
        // A fresh connection per statement, (t1, t2) then (t2, t1), as scrilla does.
        for (a, b) in [("AAPL", "MSFT"), ("MSFT", "AAPL")] {
            let conn = Connection::open(path)?;
            conn.execute(
                SCRILLA_CORRELATION_INSERT,
                rusqlite::named_params! {
                    ":ticker_1": a, ":ticker_2": b, ":start_date": "2022-08-05",
                    ":end_date": "2022-12-28", ":correlation": value, ":method": "moments",
                    ":weekends": 0,
                },
            )?;
        }
        Ok(())
    }

    fn scrilla_reads_the_correlation(path: &Path) -> Option<f64> {
        let conn = Connection::open(path).unwrap();
        conn.query_row(
            SCRILLA_CORRELATION_QUERY,
            rusqlite::named_params! {
                ":ticker_1": "AAPL", ":ticker_2": "MSFT", ":start_date": "2022-08-05",
                ":end_date": "2022-12-28", ":method": "moments", ":weekends": 0,
            },
            |r| r.get(0),
        )
        .optional()
        .unwrap()
    }

    #[tokio::test]
    async fn scrilla_keeps_working_on_a_file_stratus_opened_and_its_rows_are_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        let store = SqliteStore::open(&path).unwrap();
        // scrilla saves the same correlation again and again (no upsert): never an
        // IntegrityError on a file Stratus has opened.
        scrilla_saves_a_correlation(&path, 0.68568).unwrap();
        scrilla_saves_a_correlation(&path, 0.68568).unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute(
                "INSERT INTO profile (ticker, start_date, end_date, annual_return, annual_volatility, method, weekends)
                 VALUES ('AAPL', '2020-01-02', '2020-12-31', 0.687, 0.45, 'moments', 0)",
                [],
            )
            .unwrap();
        }
        let key = CorrelationKey {
            ticker_1: "AAPL".into(),
            ticker_2: "MSFT".into(),
            start: "2022-08-05".parse().unwrap(),
            end: "2022-12-28".parse().unwrap(),
            method: Method::Moments,
            weekends: false,
        };
        let profile_key = ProfileKey {
            ticker: "AAPL".into(),
            start: "2020-01-02".parse().unwrap(),
            end: "2020-12-31".parse().unwrap(),
            method: Method::Moments,
            weekends: false,
        };
        // scrilla's numbers are not Stratus's: a miss, to be recomputed.
        assert_eq!(store.correlation(&key).await.unwrap(), None);
        assert_eq!(store.profile(&profile_key).await.unwrap(), None);
        assert!(store.all_correlations().await.unwrap().is_empty());
        // Stratus's result replaces scrilla's rows of that identity, and scrilla reads it.
        store.put_correlation(&key, 0.69117).await.unwrap();
        assert_eq!(store.correlation(&key).await.unwrap(), Some(0.69117));
        assert_eq!(scrilla_reads_the_correlation(&path), Some(0.69117));
        scrilla_saves_a_correlation(&path, 0.68568).unwrap();
        let record = ProfileRecord {
            annual_return: 0.68712,
            annual_volatility: 0.45,
            sharpe_ratio: None,
            asset_beta: None,
            equity_cost: None,
        };
        store.put_profile(&profile_key, &record).await.unwrap();
        assert_eq!(store.profile(&profile_key).await.unwrap(), Some(record));
    }

    #[test]
    fn many_first_opens_of_one_new_file_all_succeed() {
        for _ in 0..25 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("new.db");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        barrier.wait();
                        SqliteStore::open(&path).map(|_| ())
                    })
                })
                .collect();
            for opener in openers {
                opener.join().unwrap().unwrap();
            }
        }
    }

    #[tokio::test]
    async fn a_version_1_file_loses_its_unique_correlation_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(MIGRATION_1).unwrap();
            conn.execute_batch(
                "CREATE UNIQUE INDEX correlation_identity
                     ON correlations(ticker_1, ticker_2, start_date, end_date, method, weekends);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let _store = SqliteStore::open(&path).unwrap();
        scrilla_saves_a_correlation(&path, 0.5).unwrap();
        scrilla_saves_a_correlation(&path, 0.5).unwrap();
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[tokio::test]
    async fn malformed_rows_are_reported_not_panicked_on() {
        let (_dir, store) = fresh();
        store
            .run(|c| {
                c.execute_batch("INSERT INTO prices VALUES ('X','not-a-date',1,2)")
                    .map_err(query_failed)
            })
            .await
            .unwrap();
        store
            .run(|c| {
                c.execute_batch("INSERT INTO prices VALUES ('Y','2022-01-03',1,NULL)")
                    .map_err(query_failed)
            })
            .await
            .unwrap();
        let err = store.tickers().await.unwrap_err();
        assert_eq!(err.kind, StoreErrorKind::Invalid);
        assert!(err.message.contains("not-a-date"));
        let err = store
            .prices(
                "Y",
                "2022-01-01".parse().unwrap(),
                "2022-12-31".parse().unwrap(),
            )
            .await
            .unwrap_err();
        assert!(err.message.contains("has no close"));
    }
}
