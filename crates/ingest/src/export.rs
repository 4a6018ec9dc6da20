//! Where exports go: a local folder or `s3://bucket/prefix`, both through `object_store`.
//!
//! Every object is written whole in one request — a local file is staged and renamed, an S3 PUT
//! is atomic — so a reader never sees half a file, even when the destination fails mid-run.
//! Objects are created conditionally (`If-None-Match: *` on S3): a rerun for the same date keeps
//! what an earlier run exported instead of duplicating or clobbering it; `--force` overwrites.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use serde::Serialize;

/// An export destination that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The URL is not a folder or `s3://bucket[/prefix]`.
    #[error("bad destination {url:?}: {reason}")]
    BadDestination {
        /// As given.
        url: String,
        /// What to fix.
        reason: String,
    },
    /// A write failed.
    #[error(
        "cannot write {path} to {destination}: {detail}. Objects already written are complete; rerun to finish (existing objects are kept)"
    )]
    Write {
        /// The destination.
        destination: String,
        /// The object.
        path: String,
        /// Cause.
        detail: String,
    },
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PutOutcome {
    /// Created.
    Written,
    /// Already there from an earlier run for the same date: kept.
    Kept,
    /// Replaced (`--force`).
    Overwritten,
}

/// An opened destination.
#[derive(Debug, Clone)]
pub struct Destination {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    shown: String,
}

impl Destination {
    /// Opens `url`: a folder (created if missing) or `s3://bucket/prefix`. S3 settings come from
    /// `env`: `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` (an S3-compatible store, path-style),
    /// `AWS_REGION`/`AWS_DEFAULT_REGION`, and the usual credential variables.
    pub fn open(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ExportError> {
        let bad = |reason: String| ExportError::BadDestination {
            url: url.to_string(),
            reason,
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket; expected s3://bucket/prefix".into()));
            }
            let store = stratus_app::objects::S3Settings::from_env(env)
                .bucket(bucket)
                .map_err(bad)?;
            return Ok(Destination {
                store: Arc::new(store),
                prefix: prefix.trim_matches('/').to_string(),
                shown: url.to_string(),
            });
        }
        if url.contains("://") {
            return Err(bad("expected a folder or s3://bucket/prefix".into()));
        }
        std::fs::create_dir_all(url).map_err(|e| bad(format!("cannot create the folder ({e})")))?;
        let store = LocalFileSystem::new_with_prefix(url).map_err(|e| bad(e.to_string()))?;
        Ok(Destination {
            store: Arc::new(store),
            prefix: String::new(),
            shown: url.to_string(),
        })
    }

    /// The destination as given.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The full object path of `relative`.
    pub fn path_of(&self, relative: &str) -> String {
        if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }

    /// Writes one object whole; keeps an existing one unless `force`.
    pub async fn put(
        &self,
        relative: &str,
        bytes: Vec<u8>,
        force: bool,
    ) -> Result<PutOutcome, ExportError> {
        let full = self.path_of(relative);
        let location = ObjectPath::from(full.as_str());
        let write_error = |detail: String| ExportError::Write {
            destination: self.shown.clone(),
            path: full.clone(),
            detail,
        };
        if force {
            let existed = self.store.head(&location).await.is_ok();
            self.store
                .put(&location, bytes.into())
                .await
                .map_err(|e| write_error(root_cause(&e)))?;
            return Ok(if existed {
                PutOutcome::Overwritten
            } else {
                PutOutcome::Written
            });
        }
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.store.put_opts(&location, bytes.into(), options).await {
            Ok(_) => Ok(PutOutcome::Written),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(PutOutcome::Kept),
            Err(e) => Err(write_error(root_cause(&e))),
        }
    }

    /// Checks that the destination can be listed (the bucket exists and may be read).
    pub async fn check(&self) -> Result<(), ExportError> {
        let prefix = ObjectPath::from(self.prefix.as_str());
        self.store
            .list_with_delimiter(Some(&prefix))
            .await
            .map(|_| ())
            .map_err(|e| ExportError::Write {
                destination: self.shown.clone(),
                path: self.prefix.clone(),
                detail: root_cause(&e),
            })
    }

    /// Reads an object back (tests, verification).
    pub async fn get(&self, relative: &str) -> Result<Vec<u8>, ExportError> {
        let full = self.path_of(relative);
        let bytes = self
            .store
            .get(&ObjectPath::from(full.as_str()))
            .await
            .map_err(|e| ExportError::Write {
                destination: self.shown.clone(),
                path: full.clone(),
                detail: root_cause(&e),
            })?
            .bytes()
            .await
            .map_err(|e| ExportError::Write {
                destination: self.shown.clone(),
                path: full.clone(),
                detail: root_cause(&e),
            })?;
        Ok(bytes.to_vec())
    }
}

/// The error and its causes on one line (object_store nests the useful part).
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}
