//! The DynamoDB task tables (sosw's schema) against the task-store conformance suite, on
//! DynamoDB Local (`STRATUS_TEST_DYNAMODB`; skipped without it, failed under `CI=true`).

mod support;

use stratus_jobs::TaskStore;
use stratus_store::tables::TaskTables;
use stratus_store_dynamodb::{Billing, DynamoSettings, DynamoStore, DynamoTaskStore};

struct Fixture {
    store: DynamoTaskStore,
}

impl Fixture {
    fn store(&self) -> &dyn TaskStore {
        &self.store
    }
}

async fn fresh() -> Option<Fixture> {
    let url = support::endpoint()?;
    let prefix = support::prefix();
    let settings = DynamoSettings {
        table_prefix: prefix.clone(),
        ..Default::default()
    };
    let cache = DynamoStore::with_config(&support::config(&url).await, &settings)
        .await
        .expect("connect");
    let store = cache.task_store(
        TaskTables::new(&prefix, &format!("{prefix}config")),
        Billing::OnDemand,
    );
    store.provision().await.expect("provision");
    store.provision().await.expect("provision again");
    Some(Fixture { store })
}

mod conformance {
    stratus_jobs::task_store_conformance_tests!(optional: super::fresh());
}
