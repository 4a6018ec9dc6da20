//! Throttling, for real requests against DynamoDB Local.
//!
//! DynamoDB Local never throttles and never leaves items unprocessed, so these tests put a
//! fault-injecting interceptor into the SDK client (the hook AWS provides for exactly this): on
//! the first `BatchWriteItem` calls it removes part of the request before it is sent and reports
//! those items back as `UnprocessedItems`, and on others it replaces the answer with a
//! `ProvisionedThroughputExceededException`. What DynamoDB stores is then read back through a
//! client without faults. The SDK's own retries are turned off so the store's retry loop is what
//! is tested. Skipped without `STRATUS_TEST_DYNAMODB` (a failure under `CI=true`).

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::batch_write_item::{
    BatchWriteItemError, BatchWriteItemInput, BatchWriteItemOutput,
};
use aws_sdk_dynamodb::types::WriteRequest;
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use stratus_store::{PriceRow, PriceStore, Store, StoreErrorKind};
use stratus_store_dynamodb::{Billing, DynamoSettings, DynamoStore};

/// What to break, and what was broken.
#[derive(Debug, Default)]
struct Faults {
    /// `BatchWriteItem` calls still to lose half their items (reported as unprocessed).
    withhold_calls: AtomicUsize,
    /// `BatchWriteItem` calls still to answer with a throttling error.
    throttle_calls: AtomicUsize,
    /// Items withheld so far.
    withheld_items: AtomicUsize,
    /// Throttling errors returned so far.
    throttled: AtomicUsize,
    /// `BatchWriteItem` calls seen.
    calls: AtomicUsize,
}

/// Takes one from a budget, if any is left.
fn take(budget: &AtomicUsize) -> bool {
    budget
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// The items one `BatchWriteItem` call did not send (maybe none), carried from serialization to
/// the answer.
#[derive(Debug)]
struct Withheld(HashMap<String, Vec<WriteRequest>>);

impl Storable for Withheld {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
struct FaultInjector(Arc<Faults>);

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "FaultInjector"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Some(input) = context.input_mut().downcast_mut::<BatchWriteItemInput>() else {
            return Ok(());
        };
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        let mut withheld = HashMap::new();
        let withhold = take(&self.0.withhold_calls);
        for (table, requests) in input
            .request_items
            .iter_mut()
            .flatten()
            .filter(|_| withhold)
        {
            // Keep the first half (at least one item: DynamoDB refuses an empty batch).
            let keep = requests.len().div_ceil(2);
            let rest = requests.split_off(keep);
            self.0
                .withheld_items
                .fetch_add(rest.len(), Ordering::SeqCst);
            withheld.insert(table.clone(), rest);
        }
        cfg.interceptor_state().store_put(Withheld(withheld));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // Serialization consumed the input; the marker left then says this is a batch write.
        let Some(Withheld(withheld)) = cfg.load::<Withheld>() else {
            return Ok(());
        };
        let Some(result) = context.output_or_error_mut() else {
            return Ok(());
        };
        if take(&self.0.throttle_calls) {
            self.0.throttled.fetch_add(1, Ordering::SeqCst);
            let code = "ProvisionedThroughputExceededException";
            let error = ProvisionedThroughputExceededException::builder()
                .message("injected: rate of requests exceeds the allowed throughput")
                .meta(ErrorMetadata::builder().code(code).build())
                .build();
            *result = Err(
                aws_smithy_runtime_api::client::orchestrator::OrchestratorError::operation(
                    aws_smithy_runtime_api::client::interceptors::context::Error::erase(
                        BatchWriteItemError::ProvisionedThroughputExceededException(error),
                    ),
                ),
            );
            return Ok(());
        }
        if let Ok(output) = result {
            let output = output
                .downcast_mut::<BatchWriteItemOutput>()
                .expect("a BatchWriteItem output");
            let unprocessed = output.unprocessed_items.get_or_insert_with(HashMap::new);
            for (table, requests) in withheld {
                unprocessed
                    .entry(table.clone())
                    .or_default()
                    .extend(requests.iter().cloned());
            }
        }
        Ok(())
    }
}

/// A store whose client breaks as `faults` says, and one that does not (to read the truth).
async fn stores(faults: &Arc<Faults>) -> Option<(DynamoStore, DynamoStore)> {
    let url = support::endpoint()?;
    let cfg = support::config(&url).await;
    let settings = DynamoSettings {
        table_prefix: support::prefix(),
        ..Default::default()
    };
    let injector = FaultInjector(Arc::clone(faults));
    let faulty = DynamoStore::with_client_config(&cfg, &settings, |builder| {
        builder
            .interceptor(injector)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    })
    .await
    .expect("connect");
    let honest = DynamoStore::with_config(&cfg, &settings)
        .await
        .expect("connect");
    honest
        .provision(Billing::OnDemand)
        .await
        .expect("provision");
    Some((faulty, honest))
}

fn rows(count: usize) -> Vec<PriceRow> {
    let start: chrono::NaiveDate = "2020-01-01".parse().unwrap();
    (0..count)
        .map(|i| PriceRow {
            ticker: format!("T{}", i % 7),
            date: start + chrono::Days::new((i / 7) as u64),
            open: Some(100.0 + i as f64),
            close: 101.0 + i as f64,
        })
        .collect()
}

#[tokio::test]
async fn unprocessed_items_and_throttling_are_retried_until_all_is_written() {
    let faults = Arc::new(Faults {
        withhold_calls: AtomicUsize::new(12),
        throttle_calls: AtomicUsize::new(6),
        ..Faults::default()
    });
    let Some((faulty, honest)) = stores(&faults).await else {
        return;
    };
    let written = rows(700);
    assert_eq!(faulty.put_prices(&written).await.unwrap(), 700);

    // The faults really happened…
    assert_eq!(faults.throttled.load(Ordering::SeqCst), 6);
    assert!(faults.withheld_items.load(Ordering::SeqCst) >= 12 * 5);
    // 28 batches, and a retry for each withheld half at least.
    let calls = faults.calls.load(Ordering::SeqCst);
    assert!(calls >= 28 + 12, "{calls} calls");
    // …and DynamoDB holds every row exactly once.
    assert_eq!(honest.status().await.unwrap().prices, 700);
    let start = written[0].date;
    let end = written.last().unwrap().date;
    let mut stored = Vec::new();
    for t in 0..7 {
        stored.extend(honest.prices(&format!("T{t}"), start, end).await.unwrap());
    }
    let key = |r: &PriceRow| (r.ticker.clone(), r.date);
    stored.sort_by_key(key);
    let mut expected = written.clone();
    expected.sort_by_key(key);
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn endless_throttling_ends_in_a_throttled_error() {
    let faults = Arc::new(Faults {
        throttle_calls: AtomicUsize::new(usize::MAX),
        ..Faults::default()
    });
    let Some((faulty, _)) = stores(&faults).await else {
        return;
    };
    let error = faulty.put_prices(&rows(10)).await.unwrap_err();
    assert_eq!(error.kind, StoreErrorKind::Throttled, "{error}");
    assert!(
        error.message.contains("ProvisionedThroughputExceeded"),
        "{error}"
    );
    // Gave up after the store's attempts, not at the first error.
    assert!(faults.throttled.load(Ordering::SeqCst) >= 10);
}
