//! A read-only SQLite snapshot in an object store (`s3://bucket/stratus.db`): Terracotta's
//! "SQLite file on S3" for serving a published cache from Lambda without a database server.
//!
//! The file is downloaded once (per cold start) into a temporary folder and opened immutable —
//! no schema writes, no journal, no seeding. Afterwards the object's ETag is checked at most once
//! per TTL, and only a changed object is downloaded again (Terracotta downloads the whole file
//! every TTL); the new copy replaces the old between requests, so a request never sees half of
//! each. While the object store cannot be reached the last good copy keeps serving. Every write
//! is refused with [`StoreErrorKind::ReadOnly`], naming the command that publishes a new snapshot.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt};
use stratus_core::Maturity;
use stratus_store::{
    AnalyticsCache, Cached, Capabilities, CorrelationKey, DateRange, PriceRow, PriceStore,
    ProfileKey, ProfileRecord, Publication, RateRow, RateStore, Store, StoreError, StoreErrorKind,
    StoreResult, StoreStatus, TickerSummary,
};
use stratus_store_sqlite::SqliteStore;
use tokio::io::AsyncWriteExt;

/// One downloaded copy; its file is deleted when the last reader lets go of it.
struct Copy {
    store: Arc<SqliteStore>,
    version: String,
    file: PathBuf,
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

struct State {
    copy: Arc<Copy>,
    checked: Instant,
}

/// A read-only store backed by an SQLite file in an object store.
pub struct SnapshotStore {
    source: Source,
    ttl: Duration,
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
}

/// Where the snapshot lives and where its copies go.
struct Source {
    objects: Arc<dyn ObjectStore>,
    location: ObjectPath,
    shown: String,
    folder: tempfile::TempDir,
    downloads: AtomicU64,
}

/// The version of an object: its ETag, else its time and size.
fn version_of(meta: &ObjectMeta) -> String {
    meta.e_tag
        .clone()
        .unwrap_or_else(|| format!("{}:{}", meta.last_modified.timestamp_millis(), meta.size))
}

impl SnapshotStore {
    /// Downloads the snapshot at `location` in `objects` (shown as `shown` in messages) and opens
    /// it; checks for a new version at most every `ttl`.
    pub async fn open(
        objects: Arc<dyn ObjectStore>,
        location: &str,
        shown: &str,
        ttl: Duration,
    ) -> StoreResult<Self> {
        let folder = tempfile::Builder::new()
            .prefix("stratus-snapshot-")
            .tempdir()
            .map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("cannot create a temporary folder for the snapshot {shown}: {e}; set TMPDIR to a writable folder"),
                )
            })?;
        let source = Source {
            objects,
            location: ObjectPath::from(location),
            shown: shown.to_string(),
            folder,
            downloads: AtomicU64::new(0),
        };
        let meta = source.head().await?;
        let copy = source.download(&meta).await?;
        Ok(SnapshotStore {
            source,
            ttl,
            state: Mutex::new(State {
                copy: Arc::new(copy),
                checked: Instant::now(),
            }),
            refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// How many times the object was downloaded (the first open included).
    pub fn downloads(&self) -> u64 {
        self.source.downloads.load(Ordering::Relaxed)
    }

    /// The version (ETag) of the copy being served.
    pub fn version(&self) -> String {
        self.state
            .lock()
            .map(|s| s.copy.version.clone())
            .unwrap_or_default()
    }
}

impl Source {
    fn unavailable(&self, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!(
                "cannot {what} the snapshot {}: {error}; check the bucket, the key and the credentials (AWS_* variables)",
                self.shown
            ),
        )
    }

    async fn head(&self) -> StoreResult<ObjectMeta> {
        self.objects.head(&self.location).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "the snapshot {} does not exist; publish one with `stratus cache snapshot --to {}`",
                    self.shown, self.shown
                ),
            ),
            other => self.unavailable("read", other),
        })
    }

    /// Downloads the version `meta` describes into a new file and opens it.
    async fn download(&self, meta: &ObjectMeta) -> StoreResult<Copy> {
        let n = self.downloads.fetch_add(1, Ordering::Relaxed);
        let file = self.folder.path().join(format!("snapshot-{n}.db"));
        let options = GetOptions {
            // The object replaced during the download fails instead of mixing two versions.
            if_match: meta.e_tag.clone(),
            ..GetOptions::default()
        };
        let result = self
            .objects
            .get_opts(&self.location, options)
            .await
            .map_err(|e| self.unavailable("download", e))?;
        let mut stream = result.into_stream();
        let mut out = tokio::fs::File::create(&file)
            .await
            .map_err(|e| self.unavailable("store a copy of", e))?;
        let written = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.unavailable("download", e))?;
                out.write_all(&chunk)
                    .await
                    .map_err(|e| self.unavailable("store a copy of", e))?;
            }
            out.flush()
                .await
                .map_err(|e| self.unavailable("store a copy of", e))
        }
        .await;
        drop(out);
        let opened = written.and_then(|()| {
            SqliteStore::open_immutable(&file).map_err(|e| {
                StoreError::new(
                    e.kind,
                    format!(
                        "the snapshot {} cannot be opened: {}",
                        self.shown, e.message
                    ),
                )
            })
        });
        match opened {
            Ok(store) => Ok(Copy {
                store: Arc::new(store),
                version: version_of(meta),
                file,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&file);
                Err(e)
            }
        }
    }
}

impl SnapshotStore {
    /// The copy to read from, refreshed first if the TTL has passed and the object changed.
    async fn current(&self) -> StoreResult<Arc<SqliteStore>> {
        if let Some(store) = self.fresh() {
            return Ok(store);
        }
        let _refreshing = self.refresh.lock().await;
        if let Some(store) = self.fresh() {
            return Ok(store);
        }
        let serving = self.copy();
        // Any failure keeps the last good copy serving; the next check is one TTL later.
        if let Ok(meta) = self.source.head().await
            && version_of(&meta) != serving.version
            && let Ok(copy) = self.source.download(&meta).await
        {
            let store = Arc::clone(&copy.store);
            if let Ok(mut state) = self.state.lock() {
                state.copy = Arc::new(copy);
                state.checked = Instant::now();
            }
            return Ok(store);
        }
        if let Ok(mut state) = self.state.lock() {
            state.checked = Instant::now();
        }
        Ok(Arc::clone(&serving.store))
    }

    fn fresh(&self) -> Option<Arc<SqliteStore>> {
        let state = self.state.lock().ok()?;
        (state.checked.elapsed() < self.ttl).then(|| Arc::clone(&state.copy.store))
    }

    fn copy(&self) -> Arc<Copy> {
        match self.state.lock() {
            Ok(state) => Arc::clone(&state.copy),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().copy),
        }
    }

    fn refuse<T>(&self) -> StoreResult<T> {
        Err(StoreError::new(
            StoreErrorKind::ReadOnly,
            format!(
                "the store {} is a read-only snapshot; write to the source store and publish it again with `stratus cache snapshot --to {}`",
                self.source.shown, self.source.shown
            ),
        ))
    }
}

#[async_trait]
impl PriceStore for SnapshotStore {
    async fn put_prices(&self, _rows: &[PriceRow]) -> StoreResult<usize> {
        self.refuse()
    }
    async fn replace_prices(&self, _ticker: &str, _rows: &[PriceRow]) -> StoreResult<usize> {
        self.refuse()
    }
    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>> {
        self.current().await?.prices(ticker, start, end).await
    }
    async fn closes(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, f64)>> {
        self.current().await?.closes(ticker, start, end).await
    }
    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        self.current().await?.tickers().await
    }
    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.current().await?.latest_price_date(ticker).await
    }
    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.current().await?.first_price_date(ticker).await
    }
    async fn has_prices(&self) -> StoreResult<bool> {
        self.current().await?.has_prices().await
    }
    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        self.current().await?.date_ranges(tickers).await
    }
}

#[async_trait]
impl RateStore for SnapshotStore {
    async fn put_rates(&self, _rows: &[RateRow]) -> StoreResult<usize> {
        self.refuse()
    }
    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        self.current().await?.rates(maturity, start, end).await
    }
    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        self.current().await?.latest_rate_date(on_or_before).await
    }
    async fn publication(
        &self,
        on_or_before: NaiveDate,
        wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        self.current()
            .await?
            .publication(on_or_before, wanted)
            .await
    }
}

#[async_trait]
impl AnalyticsCache for SnapshotStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        self.current().await?.profile(key).await
    }
    async fn put_profile(&self, _key: &ProfileKey, _record: &ProfileRecord) -> StoreResult<()> {
        self.refuse()
    }
    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        self.current().await?.correlation(key).await
    }
    async fn put_correlation(&self, _key: &CorrelationKey, _value: f64) -> StoreResult<()> {
        self.refuse()
    }
    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        self.current().await?.all_profiles().await
    }
    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>> {
        self.current().await?.all_correlations().await
    }
    async fn invalidate_ticker(&self, _ticker: &str) -> StoreResult<()> {
        self.refuse()
    }
    async fn clear_analytics(&self) -> StoreResult<()> {
        self.refuse()
    }
    async fn cached(
        &self,
        profiles: &[ProfileKey],
        correlations: &[CorrelationKey],
    ) -> StoreResult<Cached> {
        self.current().await?.cached(profiles, correlations).await
    }
}

#[async_trait]
impl Store for SnapshotStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::READ_ONLY
    }

    fn backend(&self) -> &'static str {
        "snapshot"
    }

    async fn status(&self) -> StoreResult<StoreStatus> {
        let copy = self.current().await?;
        let mut status = copy.status().await?;
        status.description = format!(
            "{} (read-only snapshot, version {})",
            self.source.shown,
            self.version()
        );
        Ok(status)
    }

    async fn clear_all(&self) -> StoreResult<()> {
        self.refuse()
    }
}
