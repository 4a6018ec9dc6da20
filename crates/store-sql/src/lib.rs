//! The server-database backends: PostgreSQL, and MySQL 8 / Aurora MySQL / MariaDB.
//!
//! A server database is what Terracotta recommends when several instances share one store: many
//! processes (a fleet of Lambdas, `serve` on several hosts, an ingest job) read and write the same
//! tables with the database's own locking, and ingesting more data is an ordinary upsert. Stratus
//! keeps scrilla's four cache tables (`prices`, `interest`, `profile`, `correlations`, same
//! columns) with the keys scrilla's SQLite file lacked, so the answers are those of the SQLite and
//! DynamoDB backends, byte for byte.
//!
//! One implementation serves both servers through sqlx's `Any` driver; the few differences
//! (placeholders, upsert syntax, DDL, the schema lock) live in [`Dialect`]. Connections are
//! pooled and checked before use, so a database restarted between requests costs one reconnect,
//! not an error. The schema is versioned in a table of its own and migrated under a server-side
//! lock, so several processes opening a new database at once apply each migration once.

use std::future::Future;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx_core::any::{Any, AnyConnectOptions, AnyPool, AnyRow};
use sqlx_core::pool::PoolOptions;
use sqlx_core::row::Row;
use stratus_store::{Capabilities, Store, StoreError, StoreErrorKind, StoreResult, StoreStatus};

mod cache;
mod market;
mod schema;
mod url;

pub use url::{DatabaseUrl, Dialect};

/// How a [`SqlStore`] connects.
#[derive(Debug, Clone)]
pub struct SqlSettings {
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// How long to wait for a connection (connecting or from the pool) before the store is
    /// reported unavailable.
    pub connect_timeout: Duration,
}

impl Default for SqlSettings {
    fn default() -> Self {
        SqlSettings {
            pool_size: 16,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A store in a PostgreSQL or MySQL-compatible database.
pub struct SqlStore {
    pool: AnyPool,
    url: DatabaseUrl,
}

fn install_drivers() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // The only caller: it cannot have been installed before.
        let _ = sqlx_core::any::driver::install_drivers(&[
            sqlx_postgres::any::DRIVER,
            sqlx_mysql::any::DRIVER,
        ]);
    });
}

impl SqlStore {
    /// Connects to the database at `url`, checks the credentials, and brings the schema up to
    /// date (creating the tables in an empty database).
    pub async fn connect(url: &DatabaseUrl, settings: &SqlSettings) -> StoreResult<Self> {
        install_drivers();
        let options = AnyConnectOptions::from_str(url.driver_url())
            .map_err(|e| url.error(StoreErrorKind::Invalid, &sqlx_error_text(&e)))?;
        let pool = PoolOptions::<Any>::new()
            .max_connections(settings.pool_size.max(1))
            .acquire_timeout(settings.connect_timeout)
            // A connection the server dropped (a restart, MySQL's wait_timeout) is found and
            // replaced before a request gets it (Terracotta #266).
            .test_before_acquire(true)
            .idle_timeout(Duration::from_secs(300))
            .connect_with(options)
            .await
            .map_err(|e| url.classify(e))?;
        let store = SqlStore {
            pool,
            url: url.clone(),
        };
        schema::migrate(&store).await?;
        Ok(store)
    }

    /// Creates the database `url` names if the server does not have it (through the server's
    /// maintenance database, `postgres` on PostgreSQL). Returns whether it was created. The name
    /// must be letters, digits and `_`.
    pub async fn create_database(url: &DatabaseUrl) -> StoreResult<bool> {
        install_drivers();
        let name = url.database();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(url.error(
                StoreErrorKind::Invalid,
                "can create only a database named with letters, digits and '_'; create it yourself",
            ));
        }
        let admin = url.maintenance_url();
        let options = AnyConnectOptions::from_str(&admin)
            .map_err(|e| url.error(StoreErrorKind::Invalid, &sqlx_error_text(&e)))?;
        // Bounded like the pool's connections: a host that drops packets fails in seconds.
        let connecting =
            <sqlx_core::any::AnyConnection as sqlx_core::connection::Connection>::connect_with(
                &options,
            );
        let mut conn = tokio::time::timeout(SqlSettings::default().connect_timeout, connecting)
            .await
            .map_err(|_| url.classify(sqlx_core::Error::PoolTimedOut))?
            .map_err(|e| url.classify(e))?;
        let (exists, create) = match url.dialect() {
            Dialect::Postgres => (
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                format!("CREATE DATABASE \"{name}\""),
            ),
            Dialect::Mysql => (
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?",
                format!(
                    "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ),
            ),
        };
        let found = sqlx_core::query::query::<Any>(exists)
            .bind(name)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| url.classify(e))?;
        let count: i64 = match found.first() {
            Some(row) => row.try_get(0).map_err(|e| url.classify(e))?,
            None => 0,
        };
        if count > 0 {
            return Ok(false);
        }
        sqlx_core::query::query::<Any>(&create)
            .execute(&mut conn)
            .await
            .map_err(|e| url.classify(e))?;
        let _ = sqlx_core::connection::Connection::close(conn).await;
        Ok(true)
    }

    /// The database this store is connected to (password hidden when displayed).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    fn dialect(&self) -> Dialect {
        self.url.dialect()
    }

    /// The error for a failed query.
    fn failed(&self, error: sqlx_core::Error) -> StoreError {
        self.url.classify(error)
    }

    /// Runs `attempt` again when the database reports a deadlock or a serialisation failure
    /// (concurrent writers to the same keys), up to five times with a short back-off.
    async fn retrying<T, F, Fut>(&self, attempt: F) -> StoreResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(e) if e.kind == StoreErrorKind::Throttled && tries < 5 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10 << tries)).await;
                }
                other => return other,
            }
        }
    }

    /// Runs `statements` (`?` placeholders, bound in order) in one transaction, retried whole on
    /// a deadlock or serialisation failure.
    async fn transaction(&self, statements: &[Statement<'_>]) -> StoreResult<()> {
        let statements: Vec<(String, &[Value<'_>])> = statements
            .iter()
            .map(|(sql, binds)| (self.dialect().placeholders(sql), binds.as_slice()))
            .collect();
        self.retrying(|| async {
            let mut tx = self.pool.begin().await.map_err(|e| self.failed(e))?;
            for (sql, binds) in &statements {
                bind(sqlx_core::query::query::<Any>(sql), binds)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.failed(e))?;
            }
            tx.commit().await.map_err(|e| self.failed(e))
        })
        .await
    }

    /// Every row `sql` returns (`?` placeholders, bound in order).
    async fn rows(&self, sql: &str, binds: &[Value<'_>]) -> StoreResult<Vec<AnyRow>> {
        let sql = self.dialect().placeholders(sql);
        bind(sqlx_core::query::query::<Any>(&sql), binds)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))
    }

    /// The one count `sql` returns.
    async fn count(&self, sql: &str, binds: &[Value<'_>]) -> StoreResult<u64> {
        let rows = self.rows(sql, binds).await?;
        let n: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(|e| self.failed(e))?,
            None => 0,
        };
        Ok(n.max(0) as u64)
    }
}

/// One statement and its parameters.
type Statement<'a> = (String, Vec<Value<'a>>);

/// A bound parameter.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Int(i64),
    Real(Option<f64>),
}

fn bind<'q>(
    mut query: sqlx_core::query::Query<'q, Any, sqlx_core::any::AnyArguments<'q>>,
    binds: &[Value<'q>],
) -> sqlx_core::query::Query<'q, Any, sqlx_core::any::AnyArguments<'q>> {
    for value in binds {
        query = match *value {
            Value::Text(text) => query.bind(text),
            Value::Int(n) => query.bind(n),
            Value::Real(Some(x)) => query.bind(x),
            // sqlx 0.8.6's Any driver sends a NULL `f64` as a `float4` NULL and a NULL `f32` as a
            // `float8` one (`AnyArguments::convert_to` swaps them). PostgreSQL then prepares the
            // cached statement with a `float4` parameter and refuses the next non-NULL `f64` in
            // it ("incorrect binary data format"), so a NULL double is bound as `f32`. The
            // `nulls_then_values_in_one_statement` tests hold this to account.
            Value::Real(None) => query.bind(None::<f32>),
        };
    }
    query
}

/// sqlx's message for an error, which never holds the connection URL.
fn sqlx_error_text(error: &sqlx_core::Error) -> String {
    match error {
        sqlx_core::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_date(table: &str, text: &str) -> StoreResult<NaiveDate> {
    text.get(..10).and_then(|t| t.parse().ok()).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::Invalid,
            format!("malformed date {text:?} in table {table}; expected YYYY-MM-DD"),
        )
    })
}

#[async_trait]
impl Store for SqlStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SHARED
    }

    fn backend(&self) -> &'static str {
        self.dialect().name()
    }

    async fn status(&self) -> StoreResult<StoreStatus> {
        Ok(StoreStatus {
            description: self.url.to_string(),
            prices: self.count("SELECT count(*) FROM prices", &[]).await?,
            rates: self.count("SELECT count(*) FROM interest", &[]).await?,
            profiles: self.count("SELECT count(*) FROM profile", &[]).await?,
            correlations: self.count("SELECT count(*) FROM correlations", &[]).await?,
        })
    }

    async fn clear_all(&self) -> StoreResult<()> {
        self.transaction(&[
            ("DELETE FROM prices".into(), vec![]),
            ("DELETE FROM interest".into(), vec![]),
            ("DELETE FROM profile".into(), vec![]),
            ("DELETE FROM correlations".into(), vec![]),
        ])
        .await
    }
}
