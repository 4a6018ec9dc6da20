//! The shared store contract, run against a real DynamoDB (DynamoDB Local on 127.0.0.1).
//!
//! Set `STRATUS_TEST_DYNAMODB=http://127.0.0.1:PORT` to run these (`.ci/run` starts DynamoDB Local
//! and sets it). Without it they are skipped with a message — except under `CI=true`, where a
//! missing emulator fails the run instead of passing silently. Each test gets its own table
//! prefix, so tests never see each other's items.

mod support;

use stratus_store_dynamodb::{AnalyticsLayout, Billing, DynamoSettings, DynamoStore};

async fn fresh_store(analytics: AnalyticsLayout) -> Option<DynamoStore> {
    let url = support::endpoint()?;
    let settings = DynamoSettings {
        table_prefix: support::prefix(),
        billing: Billing::OnDemand,
        analytics,
        ..Default::default()
    };
    let store = DynamoStore::with_config(&support::config(&url).await, &settings)
        .await
        .expect("connect");
    store.provision(Billing::OnDemand).await.expect("provision");
    Some(store)
}

/// scrilla's shared tables (the default).
mod scrilla_tables {
    use super::*;
    stratus_store::conformance_tests!(optional: fresh_store(AnalyticsLayout::Scrilla));
}

/// Stratus's collision-free analytics tables (the opt-in layout).
mod collision_free_tables {
    use super::*;
    stratus_store::conformance_tests!(optional: fresh_store(AnalyticsLayout::CollisionFree));
}
