//! Store locations, named by one URL the way Terracotta names its drivers: `sqlite:///path`,
//! `dynamodb://[prefix]`, `postgres://…`, `mysql://…`, `s3://bucket/key.db`.
//!
//! A location is parsed once (from `STRATUS_STORE`, the settings file's `store`, `--store`, or a
//! `cache migrate` argument) into a [`StoreLocation`]; its `Display` is the form messages print,
//! with any password replaced by `***`.

use std::fmt;
use std::path::PathBuf;

use stratus_store_sql::DatabaseUrl;

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file (the default: `$STRATUS_HOME/stratus.db`).
    Sqlite(PathBuf),
    /// DynamoDB tables with this name prefix (`None`: the settings' `STRATUS_TABLE_PREFIX`).
    Dynamodb {
        /// Table-name prefix, if the URL names one.
        prefix: Option<String>,
    },
    /// A PostgreSQL or MySQL-compatible database.
    Database(DatabaseUrl),
    /// A read-only SQLite snapshot in S3.
    Snapshot {
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
    },
}

/// The forms a location may take, for error messages.
pub const LOCATION_FORMS: &str = "sqlite (the configured file), sqlite:///path/stratus.db, dynamodb://[table-prefix], postgres://user:password@host:port/db, mysql://user:password@host:port/db, or s3://bucket/key.db";

impl StoreLocation {
    /// Parses a location. `default_sqlite` is the file `sqlite` alone means.
    pub fn parse_with(text: &str, default_sqlite: &std::path::Path) -> Result<Self, String> {
        let text = text.trim();
        let scheme_end = text.find("://");
        let lower = text.to_ascii_lowercase();
        if lower == "sqlite" {
            return Ok(StoreLocation::Sqlite(default_sqlite.to_path_buf()));
        }
        if lower == "dynamodb" {
            return Ok(StoreLocation::Dynamodb { prefix: None });
        }
        if let Some(rest) = strip_prefix_ci(text, "sqlite:") {
            // sqlite:///abs/path, sqlite://relative/path and the older sqlite:PATH.
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err("sqlite: names no file; use sqlite:///path/stratus.db".into());
            }
            return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
        }
        let Some(end) = scheme_end else {
            return Err(format!(
                "unknown store {}; use {LOCATION_FORMS}",
                shown(text)
            ));
        };
        match lower[..end].as_ref() {
            "dynamodb" => {
                let prefix = &text[end + 3..];
                if prefix.is_empty() {
                    return Ok(StoreLocation::Dynamodb { prefix: None });
                }
                check_table_prefix(prefix)?;
                Ok(StoreLocation::Dynamodb {
                    prefix: Some(prefix.to_string()),
                })
            }
            "postgres" | "postgresql" | "mysql" | "mariadb" => {
                DatabaseUrl::parse(text).map(StoreLocation::Database)
            }
            "s3" => {
                let rest = &text[end + 3..];
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                let bucket_ok = (3..=63).contains(&bucket.len())
                    && bucket
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c));
                if !bucket_ok {
                    return Err(format!(
                        "{} names no valid bucket (3 to 63 lower-case letters, digits, '.' and '-'); use s3://bucket/path/stratus.db",
                        shown(text)
                    ));
                }
                if key.is_empty() || key.ends_with('/') {
                    return Err(format!(
                        "{} names no snapshot file; use s3://bucket/path/stratus.db",
                        shown(text)
                    ));
                }
                Ok(StoreLocation::Snapshot {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                })
            }
            _ => Err(format!(
                "unknown store scheme in {}; use {LOCATION_FORMS}",
                shown(text)
            )),
        }
    }

    /// The backend's name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreLocation::Sqlite(_) => "sqlite",
            StoreLocation::Dynamodb { .. } => "dynamodb",
            StoreLocation::Database(url) => url.dialect().name(),
            StoreLocation::Snapshot { .. } => "snapshot",
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            StoreLocation::Dynamodb { prefix } => {
                write!(f, "dynamodb://{}", prefix.as_deref().unwrap_or(""))
            }
            StoreLocation::Database(url) => write!(f, "{url}"),
            StoreLocation::Snapshot { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// A location as it may be printed, quoted.
fn shown(text: &str) -> String {
    format!("{:?}", redact(text))
}

/// A location with a database URL's password hidden, even when it did not parse.
pub(crate) fn redact(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let credentials = &text[start + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &text[..start + 3], &text[at..]),
                None => text.to_string(),
            }
        }
        _ => text.to_string(),
    }
}

/// DynamoDB table-name characters, 200 at most.
pub(crate) fn check_table_prefix(prefix: &str) -> Result<(), String> {
    if prefix.len() <= 200
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        Ok(())
    } else {
        Err("a table prefix uses letters, digits, '_', '-' and '.' only".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StoreLocation, String> {
        StoreLocation::parse_with(text, std::path::Path::new("/home/s/stratus.db"))
    }

    #[test]
    fn every_form_parses() {
        assert_eq!(
            parse("SQLITE").unwrap(),
            StoreLocation::Sqlite("/home/s/stratus.db".into())
        );
        assert_eq!(
            parse("sqlite:///x/y.db").unwrap(),
            StoreLocation::Sqlite("/x/y.db".into())
        );
        assert_eq!(
            parse("sqlite:/x/y.db").unwrap(),
            StoreLocation::Sqlite("/x/y.db".into())
        );
        assert_eq!(
            parse("sqlite://rel.db").unwrap(),
            StoreLocation::Sqlite("rel.db".into())
        );
        assert_eq!(
            parse("dynamodb").unwrap(),
            StoreLocation::Dynamodb { prefix: None }
        );
        assert_eq!(
            parse("dynamodb://").unwrap(),
            StoreLocation::Dynamodb { prefix: None }
        );
        assert_eq!(
            parse("dynamodb://prod_").unwrap(),
            StoreLocation::Dynamodb {
                prefix: Some("prod_".into())
            }
        );
        assert_eq!(parse("postgres://u:p@h:5/db").unwrap().kind(), "postgres");
        assert_eq!(parse("mariadb://u:p@h/db").unwrap().kind(), "mysql");
        assert_eq!(
            parse("s3://bucket/a/stratus.db").unwrap(),
            StoreLocation::Snapshot {
                bucket: "bucket".into(),
                key: "a/stratus.db".into()
            }
        );
    }

    #[test]
    fn bad_forms_are_refused_without_their_passwords() {
        for bad in [
            "",
            "sqlite:",
            "postgres",
            "dynamodb:x",
            "dynamodb://a b",
            "s3://bucket",
            "s3://bucket/",
            "s3:///key",
            "ftp://x/y",
            "postgres://u:hunter2@/db",
            "mysql://u:hunter2@h",
            "oracle://u:hunter2@h/db",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(!error.contains("hunter2"), "{bad}: {error}");
        }
    }

    proptest::proptest! {
        /// Any text: a location or an error, never a panic, and the password of anything shaped
        /// like a URL with credentials never appears in either.
        #[test]
        fn any_text_parses_or_is_refused_without_leaking(
            scheme in "(postgres|postgresql|mysql|mariadb|s3|dynamodb|sqlite|ftp|)",
            user in "[a-z]{0,6}",
            host in "[a-z0-9.\\-]{0,12}",
            port in proptest::option::of(0u32..70000),
            path in "[a-zA-Z0-9_/%.?=&]{0,20}",
            noise in "\\PC{0,30}",
        ) {
            let password = "Zq9pw";
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let text = format!("{scheme}://{user}:{password}@{host}{port}/{path}{noise}");
            match parse(&text) {
                // A file path is opaque: whatever it holds is the user's file name.
                Ok(StoreLocation::Sqlite(_)) => {}
                Ok(location) => {
                    proptest::prop_assert!(!location.to_string().contains(password), "{location}");
                    let debug = format!("{location:?}");
                    proptest::prop_assert!(!debug.contains(password), "{debug}");
                }
                Err(error) => proptest::prop_assert!(!error.contains(password), "{error}"),
            }
            let _ = parse(&noise);
        }
    }

    #[test]
    fn display_hides_passwords() {
        let location = parse("postgres://app:hunter2@db:5432/stratus").unwrap();
        assert_eq!(location.to_string(), "postgres://app:***@db:5432/stratus");
        assert!(!format!("{location:?}").contains("hunter2"));
    }
}
