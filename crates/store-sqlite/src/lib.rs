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
//! runtime's threads. Reads go to a pool of read-only connections (with WAL, readers wait neither
//! for each other nor for the writer), so a server's concurrent requests read in parallel instead
//! of queueing on the one connection that writes. Writes take the write lock up front (`BEGIN IMMEDIATE`) and wait up to a
//! minute for another process's write (two `stratus` commands loading the bundled data at once).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use stratus_core::{Maturity, Method};
use stratus_store::{
    ANALYTICS_VERSION, AnalyticsCache, Cached, Capabilities, CorrelationKey, DateRange, PriceRow,
    PriceStore, ProfileKey, ProfileRecord, Publication, RateRow, RateStore, Store, StoreError,
    StoreErrorKind, StoreResult, StoreStatus, TickerSummary, check_finite,
};

mod cache;
mod market;
mod tasks;

pub use tasks::SqliteTaskStore;

const SCHEMA_VERSION: i64 = 2;

// `prices_covering` answers a ticker's price history from the index alone, in date order,
// instead of one table lookup per row through the UNIQUE index: reading twenty 16-year histories
// (a backtest's panel) takes about half the time. Created when missing on every writable open,
// so files made before it (and scrilla's) gain it without a schema version; scrilla never sees it.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS prices(ticker text, date text, open real, close real, UNIQUE(ticker, date));
CREATE INDEX IF NOT EXISTS prices_covering ON prices(ticker, date, close, open);
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
    readers: Arc<ReadPool>,
    path: PathBuf,
    read_only: bool,
}

/// Idle read connections kept for reuse; more are opened while more requests read at once.
const IDLE_READERS: usize = 16;

/// Read-only connections to the store's file, opened on demand and reused.
struct ReadPool {
    path: PathBuf,
    /// The file never changes while open (a downloaded snapshot): no locks, no WAL lookups.
    immutable: bool,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn new(path: &Path, immutable: bool) -> Self {
        ReadPool {
            path: path.to_path_buf(),
            immutable,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = open_read_only_connection(&self.path, self.immutable)?;
        connection.execute_batch("PRAGMA busy_timeout=60000;")?;
        Ok(connection)
    }

    fn take(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(connection) => Ok(connection),
            None => self.open().map_err(|e| unavailable(&self.path, e)),
        }
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(connection);
        }
    }
}

/// A read-only connection; `immutable` opens it through a URI with `immutable=1`.
fn open_read_only_connection(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
        | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    if immutable {
        let mut uri = String::from("file:");
        for c in path.display().to_string().chars() {
            match c {
                '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
                c => uri.push(c),
            }
        }
        uri.push_str("?immutable=1");
        Connection::open_with_flags(uri, flags)
    } else {
        Connection::open_with_flags(path, flags - rusqlite::OpenFlags::SQLITE_OPEN_URI)
    }
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

/// `YYYY-MM-DD` read digit by digit: chrono's general parser was a fifth of the time of reading
/// a long history. Anything else goes to chrono, so what is accepted does not change.
fn parse_date(table: &str, text: &str) -> StoreResult<NaiveDate> {
    let fast = |t: &[u8]| -> Option<NaiveDate> {
        let digits = |r: std::ops::Range<usize>| {
            t[r].iter().try_fold(0u32, |n, b| {
                b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
            })
        };
        if t.len() < 10 || t[4] != b'-' || t[7] != b'-' {
            return None;
        }
        let year = i32::try_from(digits(0..4)?).ok()?;
        NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)
    };
    if let Some(date) = fast(text.as_bytes()) {
        return Ok(date);
    }
    text.get(..10).and_then(|t| t.parse().ok()).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::Invalid,
            format!("malformed date {text:?} in table {table}; expected YYYY-MM-DD"),
        )
    })
}

/// A write this large (a first seed, an import) is followed by a checkpoint that empties the
/// write-ahead log.
const BULK_ROWS: usize = 10_000;

/// Copies the write-ahead log into the database and truncates it. Without this, a bulk write
/// leaves a log as large as the data it wrote (17 MB for the bundled prices) until the next
/// write, and every process that opens the file meanwhile reads all of it to rebuild its index
/// (5 of a backtest's 55 ms). Best effort: a checkpoint that cannot finish leaves the log as it
/// was, which is only slower.
fn truncate_wal(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
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
            readers: Arc::new(ReadPool::new(&path, false)),
            path,
            read_only: false,
        })
    }

    /// Opens an existing store file for reading only (a snapshot): nothing is ever written to it
    /// — no schema, no journal-mode switch — and every write is refused. The file must already
    /// have the current schema.
    pub fn open_read_only(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_read_only_as(path.as_ref(), false)
    }

    /// [`Self::open_read_only`] for a file nothing changes while it is open (a downloaded
    /// snapshot): SQLite then takes no locks and ignores any journal, which also lets a file
    /// saved in WAL mode be read without its `-wal` and `-shm` companions.
    pub fn open_immutable(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_read_only_as(path.as_ref(), true)
    }

    fn open_read_only_as(path: &Path, immutable: bool) -> StoreResult<Self> {
        let path = path.to_path_buf();
        if !path.is_file() {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "the read-only SQLite store {} does not exist",
                    path.display()
                ),
            ));
        }
        let connection =
            open_read_only_connection(&path, immutable).map_err(|e| unavailable(&path, e))?;
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
            readers: Arc::new(ReadPool::new(&path, immutable)),
            path,
            read_only: true,
        })
    }

    /// Refuses a write to a read-only store.
    fn writable(&self) -> StoreResult<()> {
        if self.read_only {
            Err(StoreError::new(
                StoreErrorKind::ReadOnly,
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
            if rows.len() >= BULK_ROWS {
                truncate_wal(conn);
            }
            Ok(rows.len())
        })
        .await
    }

    /// Writes a consistent copy of the whole store to a new file at `to` with SQLite's online
    /// backup (writers wait only while a batch of pages is copied), in rollback-journal mode so
    /// the copy is one self-contained file. Returns the copy's size in bytes.
    pub async fn backup_to(&self, to: &Path) -> StoreResult<u64> {
        let to = to.to_path_buf();
        self.read(move |conn| {
            let mut copy = Connection::open(&to).map_err(|e| unavailable(&to, e))?;
            {
                let backup =
                    rusqlite::backup::Backup::new(conn, &mut copy).map_err(query_failed)?;
                backup
                    .run_to_completion(1024, std::time::Duration::ZERO, None)
                    .map_err(query_failed)?;
            }
            copy.execute_batch("PRAGMA journal_mode=DELETE;")
                .map_err(query_failed)?;
            drop(copy);
            std::fs::metadata(&to).map(|m| m.len()).map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("cannot read the copy {}: {e}", to.display()),
                )
            })
        })
        .await
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with a read connection on the blocking pool. `work` must only read.
    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        blocking(move || {
            let mut connection = readers.take()?;
            let result = work(&mut connection);
            readers.give_back(connection);
            result
        })
        .await
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        blocking(move || {
            let mut guard = connection.lock().map_err(|_| {
                StoreError::new(
                    StoreErrorKind::Internal,
                    "SQLite connection poisoned by a panic",
                )
            })?;
            work(&mut guard)
        })
        .await
    }
}

/// Runs `job` on tokio's blocking pool (or here, outside a runtime).
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(job).await.map_err(|e| {
            StoreError::new(StoreErrorKind::Internal, format!("SQLite task failed: {e}"))
        })?,
        Err(_) => job(),
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
        self.read(move |conn| {
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
mod tests;
