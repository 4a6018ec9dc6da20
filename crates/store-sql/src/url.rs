//! Database URLs: which server, where, and how its errors read.
//!
//! The URL carries the password, so it is shown only through [`DatabaseUrl`]'s `Display`, which
//! replaces the password with `***`; every error message is built from that form and the host and
//! port, never from the text the user gave.

use std::fmt;

use stratus_store::{StoreError, StoreErrorKind};

/// Which server a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL 8, Aurora MySQL or MariaDB (`mysql://`, `mariadb://`).
    Mysql,
}

impl Dialect {
    /// The backend name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    fn product(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Dialect::Postgres => 5432,
            Dialect::Mysql => 3306,
        }
    }

    /// `sql` written with `?` placeholders, in this server's syntax (`$1`, `$2`… for PostgreSQL).
    pub(crate) fn placeholders(self, sql: &str) -> String {
        match self {
            Dialect::Mysql => sql.to_string(),
            Dialect::Postgres => {
                let mut out = String::with_capacity(sql.len() + 16);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    dialect: Dialect,
    url: url::Url,
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        f.write_str(shown.as_str())
    }
}

impl DatabaseUrl {
    /// Parses `postgres://user:pass@host[:port]/db[?sslmode=…]` or
    /// `mysql://user:pass@host[:port]/db[?ssl-mode=…]` (`postgresql://` and `mariadb://` too).
    /// The error never repeats the password.
    pub fn parse(text: &str) -> Result<DatabaseUrl, String> {
        let mut url = url::Url::parse(text.trim()).map_err(|e| {
            format!("not a database URL ({e}); expected postgres://user:password@host:port/database or mysql://…")
        })?;
        let dialect = match url.scheme().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::Mysql,
            other => {
                return Err(format!(
                    "unknown database scheme {other:?}; use postgres:// or mysql://"
                ));
            }
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the database URL names no host; expected scheme://user:password@host:port/database".into());
        }
        let database = url.path().trim_start_matches('/');
        if database.is_empty() || database.contains('/') {
            return Err("the database URL names no database; add /DATABASE after the host".into());
        }
        if dialect == Dialect::Mysql && url.scheme() != "mysql" {
            // sqlx knows the MySQL protocol by this scheme only.
            let rest = &url.as_str()[url.scheme().len()..];
            url = url::Url::parse(&format!("mysql{rest}")).map_err(|e| e.to_string())?;
        }
        Ok(DatabaseUrl { dialect, url })
    }

    /// The server kind.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!(
            "{}:{}",
            self.url.host_str().unwrap_or_default(),
            self.url.port().unwrap_or(self.dialect.default_port())
        )
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        self.url.path().trim_start_matches('/')
    }

    /// The URL of the server's maintenance database (`postgres`; none on MySQL), password
    /// included, for creating databases.
    pub(crate) fn maintenance_url(&self) -> String {
        let mut url = self.url.clone();
        url.set_path(match self.dialect {
            Dialect::Postgres => "/postgres",
            Dialect::Mysql => "",
        });
        url.to_string()
    }

    /// The URL with its password, for the driver only.
    pub(crate) fn driver_url(&self) -> &str {
        self.url.as_str()
    }

    pub(crate) fn error(&self, kind: StoreErrorKind, text: &str) -> StoreError {
        StoreError::new(
            kind,
            format!("{} store {self}: {text}", self.dialect.product()),
        )
    }

    /// The store error for a driver error: the kind callers branch on, and a message that names
    /// the server and what to do.
    pub(crate) fn classify(&self, error: sqlx_core::Error) -> StoreError {
        let (product, address) = (self.dialect.product(), self.address());
        let user = self.url.username().to_string();
        let (kind, message) = match &error {
            sqlx_core::Error::Io(e) => (
                StoreErrorKind::Unavailable,
                format!(
                    "cannot reach {product} at {address}: {e}; check that the server is running and the store URL's host and port"
                ),
            ),
            sqlx_core::Error::PoolTimedOut => (
                StoreErrorKind::Unavailable,
                format!(
                    "no connection to {product} at {address} in time: the server is down, unreachable or at its connection limit"
                ),
            ),
            sqlx_core::Error::Tls(e) => (
                StoreErrorKind::Unavailable,
                format!(
                    "TLS with {product} at {address} failed: {e}; check the URL's TLS options (sslmode / ssl-mode, certificate paths)"
                ),
            ),
            sqlx_core::Error::Configuration(e) => (
                StoreErrorKind::Invalid,
                format!("the {product} store URL {self} is not usable: {e}"),
            ),
            sqlx_core::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                let text = db.message();
                match (self.dialect, code.as_str()) {
                    (Dialect::Postgres, "28P01" | "28000") | (Dialect::Mysql, "1045" | "28000") => {
                        (
                            StoreErrorKind::Unavailable,
                            format!(
                                "{product} at {address} refused user {user:?} (password not shown): {text}; check the user and password in the store URL"
                            ),
                        )
                    }
                    (Dialect::Postgres, "3D000") | (Dialect::Mysql, "1049" | "42000")
                        if text.to_ascii_lowercase().contains("database") =>
                    {
                        (
                            StoreErrorKind::Unavailable,
                            format!(
                                "{product} at {address}: {text}; create the database first (CREATE DATABASE …)"
                            ),
                        )
                    }
                    (Dialect::Postgres, "40001" | "40P01" | "55P03")
                    | (Dialect::Mysql, "1213" | "1205" | "40001") => (
                        StoreErrorKind::Throttled,
                        format!("{product} at {address} asked to retry: {text}"),
                    ),
                    (Dialect::Postgres, "23505") | (Dialect::Mysql, "1062" | "23000") => (
                        StoreErrorKind::Conflict,
                        format!("{product} at {address}: {text}"),
                    ),
                    (Dialect::Postgres, "22001") | (Dialect::Mysql, "1406" | "22001") => (
                        StoreErrorKind::Invalid,
                        format!("{product} at {address} refused a value: {text}"),
                    ),
                    (Dialect::Postgres, c) if c.starts_with("08") || c.starts_with("57P") => (
                        StoreErrorKind::Unavailable,
                        format!("{product} at {address} is not accepting work: {text}"),
                    ),
                    _ => (
                        StoreErrorKind::Internal,
                        format!("{product} store {self} error {code}: {text}"),
                    ),
                }
            }
            other => (
                StoreErrorKind::Unavailable,
                format!("{product} at {address}: {other}"),
            ),
        };
        // The driver's error is dropped, not chained: its Debug form may quote connection
        // options, and the message above already says what happened.
        StoreError::new(kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        let url =
            DatabaseUrl::parse("postgres://app:s3cr%40t@db.example:6543/stratus?sslmode=require")
                .unwrap();
        let shown = url.to_string();
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("app:***@db.example:6543/stratus?sslmode=require"),
            "{shown}"
        );
        assert!(!format!("{url:?}").contains("s3cr"));
        assert_eq!(url.address(), "db.example:6543");
        let error = url.classify(sqlx_core::Error::PoolTimedOut).to_string();
        assert!(
            error.contains("db.example:6543") && !error.contains("s3cr"),
            "{error}"
        );
    }

    #[test]
    fn schemes_and_defaults() {
        let maria = DatabaseUrl::parse("mariadb://u:p@h/db").unwrap();
        assert_eq!(maria.dialect(), Dialect::Mysql);
        assert!(maria.driver_url().starts_with("mysql://u:p@h/db"));
        assert_eq!(maria.address(), "h:3306");
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().address(),
            "h:5432"
        );
        for bad in [
            "",
            "postgres://",
            "postgres://h",
            "postgres://h/",
            "oracle://h/db",
            "h/db",
            "mysql://h/a/b",
        ] {
            let error = DatabaseUrl::parse(bad).unwrap_err();
            assert!(!error.is_empty(), "{bad}");
        }
        let error = DatabaseUrl::parse("oracle://u:hunter2@h/db").unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            Dialect::Postgres.placeholders("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(Dialect::Mysql.placeholders("a = ?"), "a = ?");
    }
}
