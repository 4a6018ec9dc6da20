//! The job system's task store: the same backend as the cache (SQLite file or DynamoDB),
//! with sosw's table names from the settings.

use std::sync::Arc;

use stratus_analytics::AppError;
use stratus_jobs::{TaskError, TaskErrorKind, TaskStore};
use stratus_store::tables::TaskTables;
use stratus_store::{StoreError, StoreErrorKind};

use std::path::Path;

use crate::{Settings, StoreLocation};

/// A task-store failure as the services' error (one classification for exit codes and HTTP).
pub fn app_error(error: TaskError) -> AppError {
    let kind = match error.kind {
        TaskErrorKind::Unavailable => StoreErrorKind::Unavailable,
        TaskErrorKind::Throttled => StoreErrorKind::Throttled,
        TaskErrorKind::Invalid => StoreErrorKind::Invalid,
        TaskErrorKind::Internal => StoreErrorKind::Internal,
    };
    if error.kind == TaskErrorKind::Invalid {
        return AppError::InvalidInput {
            field: "job",
            message: error.message,
        };
    }
    AppError::Store(StoreError::new(kind, error.message))
}

/// The task tables the settings name.
pub fn task_tables(settings: &Settings) -> TaskTables {
    TaskTables::new(&settings.jobs.table_prefix, &settings.jobs.config_table)
}

/// Opens the configured task store. With `provision`, creates its tables when missing (the CLI;
/// a deployed function finds them made by the stack).
pub async fn open_task_store(
    settings: &Settings,
    provision: bool,
) -> Result<Arc<dyn TaskStore>, AppError> {
    let store: Arc<dyn TaskStore> = match &settings.store {
        StoreLocation::Sqlite(path) => sqlite(path, settings)?,
        StoreLocation::Dynamodb { prefix } => dynamodb(settings, prefix.as_deref()).await?,
        other => {
            return Err(AppError::Setup {
                message: format!(
                    "the job system keeps its tasks in SQLite or DynamoDB, not in {other}; run jobs with STRATUS_STORE=sqlite:///path or dynamodb://"
                ),
            });
        }
    };
    if provision {
        store.provision().await.map_err(app_error)?;
    }
    Ok(store)
}

#[cfg(feature = "sqlite")]
fn sqlite(path: &Path, settings: &Settings) -> Result<Arc<dyn TaskStore>, AppError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| AppError::Setup {
            message: format!(
                "cannot create the data folder {}: {e}; set STRATUS_HOME to a writable folder",
                parent.display()
            ),
        })?;
    }
    let store = stratus_store_sqlite::SqliteTaskStore::open(path, task_tables(settings))
        .map_err(app_error)?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_path: &Path, _settings: &Settings) -> Result<Arc<dyn TaskStore>, AppError> {
    Err(AppError::Setup {
        message: "CACHE_MODE=sqlite: this build was made without feature `sqlite`".into(),
    })
}

#[cfg(feature = "dynamodb")]
async fn dynamodb(
    settings: &Settings,
    prefix: Option<&str>,
) -> Result<Arc<dyn TaskStore>, AppError> {
    let mut dynamo = crate::dynamo_settings(settings);
    if let Some(prefix) = prefix {
        dynamo.table_prefix = prefix.to_string();
    }
    let store = stratus_store_dynamodb::DynamoStore::connect(&dynamo).await?;
    Ok(Arc::new(
        store.task_store(task_tables(settings), dynamo.billing),
    ))
}

#[cfg(not(feature = "dynamodb"))]
async fn dynamodb(
    _settings: &Settings,
    _prefix: Option<&str>,
) -> Result<Arc<dyn TaskStore>, AppError> {
    Err(AppError::Setup {
        message: "CACHE_MODE=dynamodb: this build was made without feature `dynamodb`".into(),
    })
}
