//! The composition root: settings → a concrete store → the analytics services every adapter
//! (CLI, HTTP, Lambda) calls.
//!
//! [`Analytics`] is where storage meets the pure core: it resolves windows against the data the
//! store holds, loads price series, consults and fills the profile and correlation cache, and
//! looks up the risk-free rate **as of the window's end** (scrilla used today's rate for every
//! window, defect D5). Adapters only parse input and format output.

use std::sync::Arc;

pub mod fundamentals;
pub mod import;
pub mod live;
pub mod migrate;
pub mod portfolio;
pub mod service;
pub mod settings;

pub use import::ImportOutcome;
pub use live::Providers;
pub use portfolio::{Allocation, Goal, PortfolioRequest, ReturnConvention};
pub use service::{Analytics, AppError, FullProfile, MergeOutcome, Progress, SeedProgress};
pub use settings::{
    CacheMode, DynamoBilling, DynamoLayout, ENV_VARS, LiveSettings, ProviderChoice, Secret,
    Settings, SettingsError,
};

use stratus_store::Store;

/// Builds the store the settings ask for.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    match settings.cache_mode {
        CacheMode::Sqlite => open_sqlite(&settings.sqlite_file),
        CacheMode::Dynamodb => open_dynamodb(settings).await,
    }
}

/// [`open_store`] for a command that empties the whole store anyway (`clear-cache --all`): a
/// damaged SQLite file is moved aside (to `<file>.corrupt`) and a fresh one created. Returns the
/// store and where a damaged file went.
pub async fn open_store_recovering(
    settings: &Settings,
) -> Result<(Arc<dyn Store>, Option<std::path::PathBuf>), AppError> {
    match open_store(settings).await {
        #[cfg(feature = "sqlite")]
        Err(AppError::Store(e)) if e.kind == stratus_store::StoreErrorKind::Corrupt => {
            let aside = stratus_store_sqlite::SqliteStore::set_aside(&settings.sqlite_file)?;
            Ok((open_store(settings).await?, Some(aside)))
        }
        other => other.map(|store| (store, None)),
    }
}

/// Opens (creating) the SQLite store at `path`.
#[cfg(feature = "sqlite")]
pub fn open_sqlite(path: &std::path::Path) -> Result<Arc<dyn Store>, AppError> {
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
pub fn open_sqlite(_path: &std::path::Path) -> Result<Arc<dyn Store>, AppError> {
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
pub async fn open_dynamodb(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    Ok(Arc::new(
        stratus_store_dynamodb::DynamoStore::connect(&dynamo_settings(settings)).await?,
    ))
}

/// Without the `dynamodb` feature: a clear error.
#[cfg(not(feature = "dynamodb"))]
pub async fn open_dynamodb(_settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    Err(AppError::Setup {
        message: "CACHE_MODE=dynamodb: this build was made without feature `dynamodb`".into(),
    })
}

/// Creates the DynamoDB tables that are missing and checks the others; returns those created.
#[cfg(feature = "dynamodb")]
pub async fn provision_dynamodb(settings: &Settings) -> Result<Vec<String>, AppError> {
    let dynamo = dynamo_settings(settings);
    let store = stratus_store_dynamodb::DynamoStore::connect(&dynamo).await?;
    Ok(store.provision(dynamo.billing).await?)
}

/// Without the `dynamodb` feature: a clear error.
#[cfg(not(feature = "dynamodb"))]
pub async fn provision_dynamodb(_settings: &Settings) -> Result<Vec<String>, AppError> {
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
}
