//! Publishing a read-only snapshot (`stratus cache snapshot --to s3://bucket/key.db`): a
//! consistent SQLite copy of a store, uploaded in one PUT, so a reader of the object sees the
//! old snapshot or the new one, never a mix.
//!
//! An SQLite store is copied with SQLite's online backup; any other store is first copied into a
//! new SQLite file through the store traits (the migration, verified). Either way the file is put
//! in rollback-journal mode, so it is complete without companions.

use std::sync::Arc;

use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use serde::Serialize;
use stratus_analytics::AppError;
use stratus_store::{Store, StoreStatus};

use crate::{Settings, StoreLocation};

/// What was published.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotReport {
    /// Where it went.
    pub to: String,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The object's new ETag.
    pub etag: Option<String>,
    /// Prices in the snapshot.
    pub prices: u64,
    /// Yields in the snapshot.
    pub interest: u64,
    /// Cached profiles.
    pub profiles: u64,
    /// Cached correlations.
    pub correlations: u64,
}

fn setup(message: String) -> AppError {
    AppError::Setup { message }
}

/// Copies the store at `from` into a snapshot at `to` (an `s3://` location).
pub async fn publish(
    from: &StoreLocation,
    to: &StoreLocation,
    settings: &Settings,
    progress: &(dyn Fn(&str, u64, u64) + Sync),
) -> Result<SnapshotReport, AppError> {
    let StoreLocation::Snapshot { bucket, key } = to else {
        return Err(AppError::InvalidInput {
            field: "to",
            message: format!("a snapshot goes to s3://bucket/key.db, not {to}"),
        });
    };
    let folder = tempfile::Builder::new()
        .prefix("stratus-publish-")
        .tempdir()
        .map_err(|e| setup(format!("cannot create a temporary folder: {e}; set TMPDIR")))?;
    let file = folder.path().join("snapshot.db");
    let source = crate::open(from, settings).await?;
    // A source seeded from the bundled data gets it first (a no-op for any other).
    crate::analytics(Arc::clone(&source), settings)
        .ensure_seeded(&|_| {})
        .await?;
    let status: StoreStatus = match from {
        StoreLocation::Sqlite(path) => {
            let store = stratus_store_sqlite::SqliteStore::open(path)?;
            progress("copy", 0, 1);
            store.backup_to(&file).await?;
            progress("copy", 1, 1);
            store.status().await?
        }
        _ => {
            let copy = stratus_store_sqlite::SqliteStore::open(&file)?;
            let report = crate::migrate::migrate(source.as_ref(), &copy, progress).await?;
            if !report.verified {
                return Err(setup(format!(
                    "the copy of {from} did not verify ({}); nothing was published",
                    report.mismatch.unwrap_or_default()
                )));
            }
            let status = copy.status().await?;
            let folded = folder.path().join("snapshot-folded.db");
            copy.backup_to(&folded).await?;
            drop(copy);
            std::fs::rename(&folded, &file)
                .map_err(|e| setup(format!("cannot finish the copy: {e}")))?;
            status
        }
    };
    let bytes = std::fs::read(&file)
        .map_err(|e| setup(format!("cannot read the copy {}: {e}", file.display())))?;
    let size = bytes.len() as u64;
    let objects = settings
        .s3
        .bucket(bucket)
        .map_err(|e| setup(format!("cannot use {to}: {e}")))?;
    progress("upload", 0, size);
    let put = objects
        .put(&ObjectPath::from(key.as_str()), bytes.into())
        .await
        .map_err(|e| {
            AppError::Store(stratus_store::StoreError::new(
                stratus_store::StoreErrorKind::Unavailable,
                format!("cannot upload the snapshot to {to}: {e}; nothing was replaced"),
            ))
        })?;
    progress("upload", size, size);
    Ok(SnapshotReport {
        to: to.to_string(),
        bytes: size,
        etag: put.e_tag,
        prices: status.prices,
        interest: status.rates,
        profiles: status.profiles,
        correlations: status.correlations,
    })
}
