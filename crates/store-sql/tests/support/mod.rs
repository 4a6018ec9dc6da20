//! Test databases: one fresh database per test on the server a variable names.

#![allow(dead_code, clippy::print_stderr)]

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx_core::connection::Connection;
use stratus_store_sql::{DatabaseUrl, SqlSettings, SqlStore};

/// The server URL in `var`, or `None` (a failure under `CI=true`) when it is not set.
pub(crate) fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set under CI=true: start the database (tools/ci/databases.sh)")
        }
        _ => {
            eprintln!("skipping: set {var} to a database URL to run this test");
            None
        }
    }
}

/// A new, empty database on the server `var` names; returns its URL.
pub(crate) async fn fresh_database(var: &str) -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = server(var)?;
    let name = format!(
        "stratus_t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut parsed = url::Url::parse(&base).unwrap();
    parsed.set_path(&format!("/{name}"));
    let url = DatabaseUrl::parse(parsed.as_str()).unwrap();
    assert!(
        SqlStore::create_database(&url)
            .await
            .expect("create a test database")
    );
    assert!(
        !SqlStore::create_database(&url).await.unwrap(),
        "created once"
    );
    Some(parsed.to_string())
}

/// A store on a new, empty database.
pub(crate) async fn fresh(var: &str) -> Option<SqlStore> {
    let url = fresh_database(var).await?;
    Some(
        SqlStore::connect(&DatabaseUrl::parse(&url).unwrap(), &SqlSettings::default())
            .await
            .expect("connect"),
    )
}

/// Runs one statement on the database at `url` over a connection of its own.
pub(crate) async fn execute(url: &str, sql: &str) {
    let _ = sqlx_core::any::driver::install_drivers(&[
        sqlx_postgres::any::DRIVER,
        sqlx_mysql::any::DRIVER,
    ]);
    let mut conn = sqlx_core::any::AnyConnection::connect(url)
        .await
        .expect("connect to the test server");
    sqlx_core::query::query::<sqlx_core::any::Any>(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// The integers the first column of `sql` returns.
pub(crate) async fn query_ints(url: &str, sql: &str) -> Vec<i64> {
    use sqlx_core::row::Row;
    let _ = sqlx_core::any::driver::install_drivers(&[
        sqlx_postgres::any::DRIVER,
        sqlx_mysql::any::DRIVER,
    ]);
    let mut conn = sqlx_core::any::AnyConnection::connect(url)
        .await
        .expect("connect");
    let rows = sqlx_core::query::query::<sqlx_core::any::Any>(sql)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
    rows.iter()
        .map(|r| r.try_get::<i64, _>(0).unwrap())
        .collect()
}
