//! Cached results for a whole command in as few requests as DynamoDB allows: `BatchGetItem`
//! takes up to 100 keys across tables, so a warm risk profile of four tickers — five profiles
//! and four correlations in both ticker orders — is one request instead of nine `GetItem`s.
//!
//! Keys that coincide (scrilla's (ticker, start_date) profile key, or a correlation's swapped
//! order in the document layout) are asked for once; every answer is then matched against each
//! identity that maps to it, exactly as the one-key reads do. Keys DynamoDB leaves unprocessed
//! are asked again with backoff.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use stratus_store::{Cached, CorrelationKey, ProfileKey, StoreError, StoreErrorKind, StoreResult};

use crate::{BATCHES_IN_FLIGHT, DynamoStore, Item, MAX_BATCH_ATTEMPTS, backoff};

/// Most keys one `BatchGetItem` may carry.
const MAX_KEYS: usize = 100;

/// A key item as text, so equal keys compare equal (attribute order is not significant).
fn key_text(key: &Item) -> String {
    let mut parts: Vec<String> = key
        .iter()
        .map(|(name, value)| match value {
            AttributeValue::S(s) => format!("{name}=S:{s}"),
            AttributeValue::N(n) => format!("{name}=N:{n}"),
            other => format!("{name}={other:?}"),
        })
        .collect();
    parts.sort();
    parts.join("\u{1f}")
}

impl DynamoStore {
    pub(crate) async fn cached_in_batches(
        &self,
        profiles: &[ProfileKey],
        correlations: &[CorrelationKey],
    ) -> StoreResult<Cached> {
        let mut wanted: Vec<(String, Item)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut want = |table: &str, key: Item| {
            if seen.insert((table.to_string(), key_text(&key))) {
                wanted.push((table.to_string(), key));
            }
        };
        for key in profiles {
            want(&self.tables.profile.name, self.profile_key_item(key));
        }
        for key in correlations {
            want(
                &self.tables.correlations.name,
                self.correlation_key_item(key),
            );
            want(
                &self.tables.correlations.name,
                self.correlation_key_item(&key.swapped()),
            );
        }
        let found = self.batch_get(wanted).await?;
        let item = |table: &str, key: Item| found.get(&(table.to_string(), key_text(&key)));
        let mut out = Cached::default();
        for key in profiles {
            out.profiles.push(
                match item(&self.tables.profile.name, self.profile_key_item(key)) {
                    Some(found) => self.profile_from(key, found)?,
                    None => None,
                },
            );
        }
        for key in correlations {
            let mut value = None;
            for candidate in [key.clone(), key.swapped()] {
                if let Some(found) = item(
                    &self.tables.correlations.name,
                    self.correlation_key_item(&candidate),
                ) && let Some(rho) = self.correlation_from(&candidate, found)?
                {
                    value = Some(rho);
                    break;
                }
            }
            out.correlations.push(value);
        }
        Ok(out)
    }

    /// Fetches the items at `keys` (table, key), consistently; the result is keyed by table and
    /// [`key_text`]. Absent items are absent from it.
    async fn batch_get(
        &self,
        keys: Vec<(String, Item)>,
    ) -> StoreResult<HashMap<(String, String), Item>> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let chunks: Vec<Vec<(String, Item)>> = keys
            .chunks(MAX_KEYS)
            .map(<[(String, Item)]>::to_vec)
            .collect();
        let answers: Vec<Vec<(String, Item)>> = stream::iter(chunks)
            .map(|chunk| self.batch_get_chunk(chunk))
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_collect()
            .await?;
        // Each item is keyed by its key attributes, which the caller knows and the answer holds.
        let mut keyed = HashMap::new();
        for (table, item) in answers.into_iter().flatten() {
            let key: Item = self
                .key_names(&table)
                .iter()
                .filter_map(|name| item.get(*name).map(|v| (name.to_string(), v.clone())))
                .collect();
            keyed.insert((table, key_text(&key)), item);
        }
        Ok(keyed)
    }

    /// One `BatchGetItem` of at most [`MAX_KEYS`] keys, retrying what DynamoDB leaves
    /// unprocessed.
    async fn batch_get_chunk(
        &self,
        chunk: Vec<(String, Item)>,
    ) -> StoreResult<Vec<(String, Item)>> {
        let mut by_table: HashMap<String, Vec<Item>> = HashMap::new();
        for (table, key) in chunk {
            by_table.entry(table).or_default().push(key);
        }
        let mut pending: HashMap<String, KeysAndAttributes> = HashMap::new();
        for (table, keys) in by_table {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::new(StoreErrorKind::Invalid, e.to_string()))?;
            pending.insert(table, request);
        }
        let mut out = Vec::new();
        let mut attempt = 0;
        loop {
            let tables: Vec<String> = pending.keys().cloned().collect();
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(|e| self.error(&tables.join(", "), "BatchGetItem", e))?;
            for (table, items) in output.responses.unwrap_or_default() {
                out.extend(items.into_iter().map(|item| (table.clone(), item)));
            }
            match output.unprocessed_keys {
                Some(left) if !left.is_empty() => {
                    attempt += 1;
                    if attempt >= MAX_BATCH_ATTEMPTS {
                        return Err(StoreError::new(
                            StoreErrorKind::Throttled,
                            format!(
                                "DynamoDB kept keys of a batch read from {} unprocessed after {attempt} attempts; retry later or raise the tables' read capacity",
                                tables.join(", ")
                            ),
                        ));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    pending = left;
                }
                _ => return Ok(out),
            }
        }
    }

    /// The key attribute names of one of this store's tables.
    fn key_names(&self, table: &str) -> Vec<&'static str> {
        self.tables
            .all()
            .into_iter()
            .find(|t| t.name == table)
            .map(stratus_store::tables::TableLayout::key_names)
            .unwrap_or_default()
    }
}
