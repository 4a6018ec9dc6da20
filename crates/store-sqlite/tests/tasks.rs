//! The SQLite task tables against the task-store conformance suite.

use stratus_jobs::TaskStore;
use stratus_store::tables::TaskTables;
use stratus_store_sqlite::SqliteTaskStore;

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteTaskStore,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteTaskStore::open(dir.path().join("stratus.db"), TaskTables::new("", "config"))
                .unwrap();
        store.provision().await.unwrap();
        store.provision().await.unwrap();
        Fixture { _dir: dir, store }
    }

    fn store(&self) -> &dyn TaskStore {
        &self.store
    }
}

mod conformance {
    stratus_jobs::task_store_conformance_tests!(super::Fixture::new().await);
}
