//! The versioned schema: scrilla's four tables with proper keys, created or migrated once per
//! database under a server-side lock.
//!
//! Text is compared byte-wise (`COLLATE "C"`, `utf8mb4_bin`): a server's default collation would
//! order tickers differently from SQLite and DynamoDB and, on MySQL, fold `aapl` into `AAPL`.
//! Dates are ISO text, as in scrilla's SQLite file, so they sort and compare as dates.

use sqlx_core::any::Any;
use sqlx_core::row::Row;
use stratus_store::{StoreError, StoreErrorKind, StoreResult};

use crate::{Dialect, SqlStore};

/// The schema version this build reads and writes.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Version 1, PostgreSQL.
const POSTGRES_V1: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS prices(
        ticker VARCHAR(64) COLLATE "C" NOT NULL, date VARCHAR(10) COLLATE "C" NOT NULL,
        open DOUBLE PRECISION, close DOUBLE PRECISION NOT NULL, PRIMARY KEY(ticker, date))"#,
    r#"CREATE TABLE IF NOT EXISTS interest(
        maturity VARCHAR(16) COLLATE "C" NOT NULL, date VARCHAR(10) COLLATE "C" NOT NULL,
        value DOUBLE PRECISION, PRIMARY KEY(maturity, date))"#,
    "CREATE INDEX IF NOT EXISTS interest_by_date ON interest(date)",
    r#"CREATE TABLE IF NOT EXISTS profile(
        ticker VARCHAR(64) COLLATE "C" NOT NULL, start_date VARCHAR(10) COLLATE "C" NOT NULL,
        end_date VARCHAR(10) COLLATE "C" NOT NULL, annual_return DOUBLE PRECISION,
        annual_volatility DOUBLE PRECISION, sharpe_ratio DOUBLE PRECISION, asset_beta DOUBLE PRECISION,
        equity_cost DOUBLE PRECISION, method VARCHAR(32) COLLATE "C" NOT NULL, weekends BIGINT NOT NULL,
        stratus_version BIGINT, PRIMARY KEY(ticker, start_date, end_date, method, weekends))"#,
    r#"CREATE TABLE IF NOT EXISTS correlations(
        ticker_1 VARCHAR(64) COLLATE "C" NOT NULL, ticker_2 VARCHAR(64) COLLATE "C" NOT NULL,
        start_date VARCHAR(10) COLLATE "C" NOT NULL, end_date VARCHAR(10) COLLATE "C" NOT NULL,
        correlation DOUBLE PRECISION, method VARCHAR(32) COLLATE "C" NOT NULL, weekends BIGINT NOT NULL,
        stratus_version BIGINT,
        PRIMARY KEY(ticker_1, ticker_2, start_date, end_date, method, weekends))"#,
    "CREATE INDEX IF NOT EXISTS correlations_by_ticker_2 ON correlations(ticker_2)",
];

/// Version 1, MySQL and MariaDB (indexes inline: MySQL has no `CREATE INDEX IF NOT EXISTS`).
const MYSQL_V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS prices(
        ticker VARCHAR(64) NOT NULL, date VARCHAR(10) NOT NULL,
        open DOUBLE PRECISION, close DOUBLE PRECISION NOT NULL, PRIMARY KEY(ticker, date))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS interest(
        maturity VARCHAR(16) NOT NULL, date VARCHAR(10) NOT NULL, value DOUBLE PRECISION,
        PRIMARY KEY(maturity, date), INDEX interest_by_date(date))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS profile(
        ticker VARCHAR(64) NOT NULL, start_date VARCHAR(10) NOT NULL, end_date VARCHAR(10) NOT NULL,
        annual_return DOUBLE PRECISION, annual_volatility DOUBLE PRECISION, sharpe_ratio DOUBLE PRECISION,
        asset_beta DOUBLE PRECISION, equity_cost DOUBLE PRECISION, method VARCHAR(32) NOT NULL,
        weekends BIGINT NOT NULL, stratus_version BIGINT,
        PRIMARY KEY(ticker, start_date, end_date, method, weekends))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS correlations(
        ticker_1 VARCHAR(64) NOT NULL, ticker_2 VARCHAR(64) NOT NULL, start_date VARCHAR(10) NOT NULL,
        end_date VARCHAR(10) NOT NULL, correlation DOUBLE PRECISION, method VARCHAR(32) NOT NULL,
        weekends BIGINT NOT NULL, stratus_version BIGINT,
        PRIMARY KEY(ticker_1, ticker_2, start_date, end_date, method, weekends),
        INDEX correlations_by_ticker_2(ticker_2))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
];

/// The statements that take and release the schema lock (held by one connection).
fn lock_statements(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        // A void result cannot be decoded, hence the count around the call.
        Dialect::Postgres => (
            "SELECT count(*) FROM (SELECT pg_advisory_lock(7307235)) AS locked",
            "SELECT count(*) FROM (SELECT pg_advisory_unlock(7307235)) AS unlocked",
        ),
        Dialect::Mysql => (
            "SELECT GET_LOCK('stratus_schema', 120)",
            "SELECT RELEASE_LOCK('stratus_schema')",
        ),
    }
}

/// Brings the database's schema to [`SCHEMA_VERSION`]; refuses one a newer Stratus made.
pub(crate) async fn migrate(store: &SqlStore) -> StoreResult<()> {
    let dialect = store.dialect();
    let mut conn = store.pool.acquire().await.map_err(|e| store.failed(e))?;
    let (lock, unlock) = lock_statements(dialect);
    sqlx_core::query::query::<Any>(lock)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| store.failed(e))?;
    let result = async {
        sqlx_core::query::query::<Any>(
            "CREATE TABLE IF NOT EXISTS stratus_schema(version BIGINT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        let rows = sqlx_core::query::query::<Any>("SELECT max(version) FROM stratus_schema")
            .fetch_all(&mut *conn)
            .await?;
        let version: Option<i64> = match rows.first() {
            Some(row) => row.try_get(0)?,
            None => None,
        };
        let version = version.unwrap_or(0);
        if version < 1 {
            let statements = match dialect {
                Dialect::Postgres => POSTGRES_V1,
                Dialect::Mysql => MYSQL_V1,
            };
            for statement in statements {
                sqlx_core::query::query::<Any>(statement)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        if version < SCHEMA_VERSION {
            sqlx_core::query::query::<Any>("DELETE FROM stratus_schema")
                .execute(&mut *conn)
                .await?;
            let insert = dialect.placeholders("INSERT INTO stratus_schema(version) VALUES (?)");
            sqlx_core::query::query::<Any>(&insert)
                .bind(SCHEMA_VERSION)
                .execute(&mut *conn)
                .await?;
        }
        Ok::<i64, sqlx_core::Error>(version)
    }
    .await;
    let released = sqlx_core::query::query::<Any>(unlock)
        .fetch_all(&mut *conn)
        .await;
    let version = result.map_err(|e| store.failed(e))?;
    released.map_err(|e| store.failed(e))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::new(
            StoreErrorKind::Invalid,
            format!(
                "the store {} has schema version {version}, newer than this Stratus reads ({SCHEMA_VERSION}); upgrade Stratus",
                store.url
            ),
        ));
    }
    Ok(())
}
