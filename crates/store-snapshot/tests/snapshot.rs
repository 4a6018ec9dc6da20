//! The snapshot store over an in-memory object store (object_store's own, with ETags): the first
//! download, a refresh only after the TTL and only when the object changed, the last good copy
//! kept while the object is missing or broken, and every write refused.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use stratus_store::{
    AnalyticsCache, Capabilities, PriceRow, PriceStore, ProfileKey, ProfileRecord, Store,
    StoreErrorKind,
};
use stratus_store_snapshot::SnapshotStore;
use stratus_store_sqlite::SqliteStore;

fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(n)
}

/// An SQLite snapshot holding `days` closes of ticker `T`, as bytes.
async fn snapshot_bytes(days: u64) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("source.db")).unwrap();
    let rows: Vec<PriceRow> = (0..days)
        .map(|i| PriceRow {
            ticker: "T".into(),
            date: day(i),
            open: None,
            close: 10.0 + i as f64,
        })
        .collect();
    store.put_prices(&rows).await.unwrap();
    let copy = dir.path().join("copy.db");
    store.backup_to(&copy).await.unwrap();
    std::fs::read(copy).unwrap()
}

async fn put(objects: &InMemory, bytes: Vec<u8>) {
    objects
        .put(&ObjectPath::from("snap/stratus.db"), bytes.into())
        .await
        .unwrap();
}

#[tokio::test]
async fn refreshes_after_the_ttl_only_when_the_object_changed() {
    let objects = Arc::new(InMemory::new());
    put(&objects, snapshot_bytes(3).await).await;
    let ttl = Duration::from_millis(300);
    let store = SnapshotStore::open(
        objects.clone(),
        "snap/stratus.db",
        "mem://snap/stratus.db",
        ttl,
    )
    .await
    .unwrap();
    assert_eq!(store.capabilities(), Capabilities::READ_ONLY);
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 3);
    assert_eq!(store.downloads(), 1);

    // The same object after the TTL: checked, not downloaded.
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 3);
    assert_eq!(store.downloads(), 1);

    // A new object: still the old copy within the TTL, the new one after it.
    put(&objects, snapshot_bytes(5).await).await;
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 3);
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 5);
    assert_eq!(store.downloads(), 2);
    let status = store.status().await.unwrap();
    assert_eq!(status.prices, 5);
    assert!(
        status.description.contains("read-only snapshot"),
        "{}",
        status.description
    );

    // A broken upload or a deleted object: the last good copy keeps serving.
    put(&objects, b"not a database".to_vec()).await;
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 5);
    objects
        .delete(&ObjectPath::from("snap/stratus.db"))
        .await
        .unwrap();
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 5);
}

#[tokio::test]
async fn every_write_is_refused_and_nothing_changes() {
    let objects = Arc::new(InMemory::new());
    put(&objects, snapshot_bytes(2).await).await;
    let store = SnapshotStore::open(
        objects.clone(),
        "snap/stratus.db",
        "s3://b/snap/stratus.db",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let key = ProfileKey {
        ticker: "T".into(),
        start: day(0),
        end: day(1),
        method: stratus_core::Method::Moments,
        weekends: false,
    };
    let record = ProfileRecord {
        annual_return: 0.1,
        annual_volatility: 0.2,
        sharpe_ratio: None,
        asset_beta: None,
        equity_cost: None,
    };
    let row = PriceRow {
        ticker: "T".into(),
        date: day(9),
        open: None,
        close: 1.0,
    };
    let errors = [
        store
            .put_prices(std::slice::from_ref(&row))
            .await
            .unwrap_err(),
        store.replace_prices("T", &[row]).await.unwrap_err(),
        store.put_profile(&key, &record).await.unwrap_err(),
        store.invalidate_ticker("T").await.unwrap_err(),
        store.clear_analytics().await.unwrap_err(),
        store.clear_all().await.unwrap_err(),
    ];
    for error in errors {
        assert_eq!(error.kind, StoreErrorKind::ReadOnly);
        assert!(
            error
                .message
                .contains("cache snapshot --to s3://b/snap/stratus.db"),
            "{}",
            error.message
        );
    }
    assert_eq!(store.prices("T", day(0), day(10)).await.unwrap().len(), 2);
    assert_eq!(store.profile(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_or_broken_object_is_unavailable_at_open() {
    let objects = Arc::new(InMemory::new());
    let missing = SnapshotStore::open(
        objects.clone(),
        "snap/stratus.db",
        "s3://b/snap/stratus.db",
        Duration::from_secs(1),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(missing.kind, StoreErrorKind::Unavailable);
    assert!(
        missing.message.contains("does not exist") && missing.message.contains("cache snapshot"),
        "{}",
        missing.message
    );
    put(&objects, b"not a database".to_vec()).await;
    let broken = SnapshotStore::open(
        objects.clone(),
        "snap/stratus.db",
        "s3://b/snap/stratus.db",
        Duration::from_secs(1),
    )
    .await
    .err()
    .unwrap();
    assert!(
        broken.message.contains("cannot be opened"),
        "{}",
        broken.message
    );
}
