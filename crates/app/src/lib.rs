//! The composition root: settings → a concrete store → the analytics services every adapter
//! (CLI, HTTP, Lambda) calls.
//!
//! [`Analytics`] is where storage meets the pure core: it resolves windows against the data the
//! store holds, loads price series, consults and fills the profile and correlation cache, and
//! looks up the risk-free rate **as of the window's end** (scrilla used today's rate for every
//! window, defect D5). Adapters only parse input and format output.

use std::sync::Arc;

pub mod portfolio;
pub mod service;
pub mod settings;

pub use portfolio::{Allocation, Goal, PortfolioRequest, ReturnConvention};
pub use service::{Analytics, AppError, FullProfile, Progress, SeedProgress};
pub use settings::{CacheMode, ENV_VARS, Settings, SettingsError};

use stratus_store::Store;

/// Builds the store the settings ask for.
pub fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    match settings.cache_mode {
        #[cfg(not(feature = "sqlite"))]
        CacheMode::Sqlite => Err(AppError::Setup {
            message: "CACHE_MODE=sqlite: this build was made without feature `sqlite`".into(),
        }),
        #[cfg(feature = "sqlite")]
        CacheMode::Sqlite => {
            if let Some(parent) = settings
                .sqlite_file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|e| AppError::Setup {
                    message: format!(
                        "cannot create the data folder {}: {e}; set STRATUS_HOME to a writable folder",
                        parent.display()
                    ),
                })?;
            }
            Ok(Arc::new(stratus_store_sqlite::SqliteStore::open(
                &settings.sqlite_file,
            )?))
        }
        CacheMode::Dynamodb => Err(AppError::Setup {
            message:
                "CACHE_MODE=dynamodb: this build has no DynamoDB backend yet; use CACHE_MODE=sqlite"
                    .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_backend_is_a_clear_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().display().to_string();
        let settings = Settings::load(&move |k| match k {
            "STRATUS_HOME" => Some(home.clone()),
            "CACHE_MODE" => Some("dynamodb".into()),
            _ => None,
        })
        .unwrap();
        let err = open_store(&settings).err().unwrap();
        assert!(!err.is_user_error());
        assert!(err.to_string().contains("CACHE_MODE=dynamodb"), "{err}");
    }
}
