//! The composition root: layered settings → concrete stores and providers → the analytics
//! services every adapter (CLI, HTTP, Lambda) calls.
//!
//! This is the only place that knows which backends exist. [`StoreLocation`] names one (from the
//! settings or a command line), [`open`] builds it as a `dyn Store`, and from then on every caller
//! asks the store what it can do ([`stratus_store::Capabilities`]) instead of which it is. A new
//! backend is a new variant here and nothing else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod location;
pub mod migrate;
pub mod objects;
pub mod providers;
pub mod settings;
#[cfg(feature = "sqlite")]
pub mod snapshot;
pub mod tasks;
pub mod vars;

pub use location::{LOCATION_FORMS, StoreLocation};
pub use settings::{
    CacheMode, DynamoBilling, DynamoLayout, JobsSettings, LiveSettings, ProviderChoice, Secret,
    Settings, SettingsError,
};
pub use vars::{ENV_VARS, EnvVar};

use stratus_analytics::{Analytics, AnalyticsConfig, AppError};
use stratus_store::Store;

impl Settings {
    /// What the analytics services need from the settings.
    pub fn analytics_config(&self) -> AnalyticsConfig {
        AnalyticsConfig {
            method: self.method,
            risk_free: self.risk_free,
            market_proxy: self.market_proxy.clone(),
            window_returns: self.window_returns,
            moving_average_periods: self.moving_average_periods.clone(),
            home: self.home.clone(),
            today: self.live.today,
            max_new_tickers: self.live.max_new_tickers,
        }
    }
}

/// The analytics services over `store` with the providers and defaults `settings` select.
pub fn analytics(store: Arc<dyn Store>, settings: &Settings) -> Analytics {
    Analytics::new(
        store,
        providers::providers_or_report(&settings.live),
        settings.analytics_config(),
    )
}

impl StoreLocation {
    /// The store the settings configure (`STRATUS_STORE`, else `CACHE_MODE`).
    pub fn configured(settings: &Settings) -> Self {
        settings.store.clone()
    }

    /// A store named on a command line (any form of [`location::LOCATION_FORMS`]).
    pub fn parse(text: &str, settings: &Settings) -> Result<Self, AppError> {
        StoreLocation::parse_with(text, &settings.sqlite_file).map_err(|message| {
            AppError::InvalidInput {
                field: "store",
                message,
            }
        })
    }
}

/// Builds the store the settings ask for.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    open(&StoreLocation::configured(settings), settings).await
}

/// Builds the store at `location` (backend settings from `settings`).
pub async fn open(
    location: &StoreLocation,
    settings: &Settings,
) -> Result<Arc<dyn Store>, AppError> {
    match location {
        StoreLocation::Sqlite(path) => open_sqlite(path),
        StoreLocation::Dynamodb { prefix } => open_dynamodb(&with_prefix(settings, prefix)).await,
        StoreLocation::Database(url) => Ok(Arc::new(
            stratus_store_sql::SqlStore::connect(url, &sql_settings(settings)).await?,
        )),
        StoreLocation::Snapshot { bucket, key } => {
            open_snapshot(bucket, key, &location.to_string(), settings).await
        }
    }
}

/// Downloads and opens a read-only snapshot.
#[cfg(feature = "sqlite")]
async fn open_snapshot(
    bucket: &str,
    key: &str,
    shown: &str,
    settings: &Settings,
) -> Result<Arc<dyn Store>, AppError> {
    let objects = settings.s3.bucket(bucket).map_err(|e| AppError::Setup {
        message: format!("cannot use the snapshot {shown}: {e}"),
    })?;
    Ok(Arc::new(
        stratus_store_snapshot::SnapshotStore::open(
            Arc::new(objects),
            key,
            shown,
            settings.snapshot_ttl,
        )
        .await?,
    ))
}

/// Without the `sqlite` feature: a clear error.
#[cfg(not(feature = "sqlite"))]
async fn open_snapshot(
    _bucket: &str,
    _key: &str,
    shown: &str,
    _settings: &Settings,
) -> Result<Arc<dyn Store>, AppError> {
    Err(AppError::Setup {
        message: format!(
            "{shown}: snapshots are SQLite files; this build was made without feature `sqlite`"
        ),
    })
}

/// The server-database settings.
fn sql_settings(settings: &Settings) -> stratus_store_sql::SqlSettings {
    stratus_store_sql::SqlSettings {
        pool_size: settings.db_pool_size,
        connect_timeout: settings.db_connect_timeout,
    }
}

/// `settings` with the DynamoDB table prefix a location names, if it names one.
fn with_prefix(settings: &Settings, prefix: &Option<String>) -> Settings {
    let mut settings = settings.clone();
    if let Some(prefix) = prefix {
        settings.table_prefix = prefix.clone();
    }
    settings
}

/// Creates what the store at `location` needs before it can be written (DynamoDB's tables; an
/// SQLite file creates itself). Returns the names of what was created.
pub async fn provision(
    location: &StoreLocation,
    settings: &Settings,
) -> Result<Vec<String>, AppError> {
    match location {
        StoreLocation::Dynamodb { prefix } => {
            provision_dynamodb(&with_prefix(settings, prefix)).await
        }
        // A server database gets its tables when opened, after the database itself.
        StoreLocation::Database(url) => {
            let created = stratus_store_sql::SqlStore::create_database(url).await?;
            open(location, settings).await?;
            Ok(if created {
                vec![format!("database {}", url.database())]
            } else {
                Vec::new()
            })
        }
        // An SQLite file creates itself; a snapshot is made by `cache snapshot`.
        StoreLocation::Sqlite(_) | StoreLocation::Snapshot { .. } => {
            open(location, settings).await.map(|_| Vec::new())
        }
    }
}

/// [`open_store`] for a command that empties the whole store anyway (`clear-cache --all`): a
/// damaged SQLite file is moved aside (to `<file>.corrupt`) and a fresh one created. Returns the
/// store and where a damaged file went.
pub async fn open_store_recovering(
    settings: &Settings,
) -> Result<(Arc<dyn Store>, Option<PathBuf>), AppError> {
    match (
        open_store(settings).await,
        StoreLocation::configured(settings),
    ) {
        #[cfg(feature = "sqlite")]
        (Err(AppError::Store(e)), StoreLocation::Sqlite(path))
            if e.kind == stratus_store::StoreErrorKind::Corrupt =>
        {
            let aside = stratus_store_sqlite::SqliteStore::set_aside(&path)?;
            Ok((open_store(settings).await?, Some(aside)))
        }
        (other, _) => other.map(|store| (store, None)),
    }
}

/// Opens (creating) the SQLite store at `path`.
#[cfg(feature = "sqlite")]
fn open_sqlite(path: &Path) -> Result<Arc<dyn Store>, AppError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| AppError::Setup {
            message: format!(
                "cannot create the data folder {}: {e}; set STRATUS_HOME to a writable folder",
                parent.display()
            ),
        })?;
    }
    Ok(Arc::new(stratus_store_sqlite::SqliteStore::open(path)?))
}

/// Without the `sqlite` feature: a clear error.
#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_path: &Path) -> Result<Arc<dyn Store>, AppError> {
    Err(AppError::Setup {
        message: "CACHE_MODE=sqlite: this build was made without feature `sqlite`".into(),
    })
}

/// The DynamoDB backend's settings.
#[cfg(feature = "dynamodb")]
pub fn dynamo_settings(settings: &Settings) -> stratus_store_dynamodb::DynamoSettings {
    stratus_store_dynamodb::DynamoSettings {
        table_prefix: settings.table_prefix.clone(),
        billing: match settings.dynamo_billing {
            settings::DynamoBilling::PayPerRequest => stratus_store_dynamodb::Billing::OnDemand,
            settings::DynamoBilling::Provisioned { read, write } => {
                stratus_store_dynamodb::Billing::Provisioned { read, write }
            }
        },
        analytics: match settings.dynamo_layout {
            settings::DynamoLayout::Scrilla => stratus_store_dynamodb::AnalyticsLayout::Scrilla,
            settings::DynamoLayout::CollisionFree => {
                stratus_store_dynamodb::AnalyticsLayout::CollisionFree
            }
        },
        connect_timeout: settings.dynamo_connect_timeout,
        timeout: settings.dynamo_timeout,
    }
}

/// Connects to DynamoDB with the standard AWS configuration.
#[cfg(feature = "dynamodb")]
async fn open_dynamodb(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    Ok(Arc::new(
        stratus_store_dynamodb::DynamoStore::connect(&dynamo_settings(settings)).await?,
    ))
}

/// Without the `dynamodb` feature: a clear error.
#[cfg(not(feature = "dynamodb"))]
async fn open_dynamodb(_settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    Err(AppError::Setup {
        message: "CACHE_MODE=dynamodb: this build was made without feature `dynamodb`".into(),
    })
}

/// Creates the DynamoDB tables that are missing and checks the others; returns those created.
#[cfg(feature = "dynamodb")]
async fn provision_dynamodb(settings: &Settings) -> Result<Vec<String>, AppError> {
    let dynamo = dynamo_settings(settings);
    let store = stratus_store_dynamodb::DynamoStore::connect(&dynamo).await?;
    Ok(store.provision(dynamo.billing).await?)
}

/// Without the `dynamodb` feature: a clear error.
#[cfg(not(feature = "dynamodb"))]
async fn provision_dynamodb(_settings: &Settings) -> Result<Vec<String>, AppError> {
    Err(AppError::Setup {
        message: "this build was made without feature `dynamodb`".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_cannot_be_opened_is_a_clear_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let home = file.display().to_string();
        let settings =
            Settings::load(&move |k| (k == "STRATUS_HOME").then(|| home.clone())).unwrap();
        let err = open_store(&settings).await.err().unwrap();
        assert!(!err.is_user_error());
        assert!(err.to_string().contains("a-file"), "{err}");
    }

    #[test]
    fn backends_are_named_as_the_commands_name_them() {
        let settings = Settings::load(&|k| (k == "STRATUS_HOME").then(|| "/tmp/h".into())).unwrap();
        assert_eq!(
            StoreLocation::parse("SQLITE", &settings).unwrap(),
            StoreLocation::Sqlite(settings.sqlite_file.clone())
        );
        assert_eq!(
            StoreLocation::parse("sqlite:/x/y.db", &settings).unwrap(),
            StoreLocation::Sqlite("/x/y.db".into())
        );
        assert_eq!(
            StoreLocation::parse("dynamodb", &settings).unwrap(),
            StoreLocation::Dynamodb { prefix: None }
        );
        for bad in ["", "sqlite:", "postgres", "dynamodb:x"] {
            let error = StoreLocation::parse(bad, &settings).unwrap_err();
            assert!(error.is_user_error(), "{bad}: {error}");
        }
    }
}
