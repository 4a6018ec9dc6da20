//! The request patterns every table shares: batched writes with retries of what DynamoDB leaves
//! unprocessed, paginated queries and scans, counting, deleting by key.

use super::*;

impl DynamoStore {
    /// Writes items in batches of 25, retrying unprocessed items with exponential backoff and
    /// jitter until all are written or the attempts run out (then `Throttled`).
    pub(crate) async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> StoreResult<usize> {
        use futures_util::stream::{self, StreamExt};
        let total = requests.len();
        // Several batches in flight at once: DynamoDB serves them in parallel, and one request at
        // a time leaves the connection idle most of the round trip.
        let mut writes: Vec<BatchFuture<'_>> = Vec::with_capacity(requests.len() / BATCH + 1);
        for chunk in requests.chunks(BATCH) {
            writes.push(Box::pin(self.write_batch(table, chunk.to_vec())));
        }
        let results: Vec<StoreResult<()>> = stream::iter(writes)
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(total)
    }

    /// One batch of at most 25, retried until DynamoDB has processed every item.
    pub(crate) async fn write_batch(
        &self,
        table: &str,
        batch: Vec<WriteRequest>,
    ) -> StoreResult<()> {
        let mut pending = batch;
        let mut attempt = 0u32;
        let mut throttled: Option<StoreError>;
        loop {
            let result = self
                .client
                .batch_write_item()
                .request_items(table, pending.clone())
                .send()
                .await;
            let unprocessed = match result {
                Ok(output) => {
                    throttled = None;
                    output
                        .unprocessed_items
                        .and_then(|mut m| m.remove(table))
                        .unwrap_or_default()
                }
                Err(e) => {
                    let error = self.error(table, "BatchWriteItem", e);
                    if error.kind != StoreErrorKind::Throttled {
                        return Err(error);
                    }
                    throttled = Some(error);
                    pending.clone()
                }
            };
            if unprocessed.is_empty() {
                return Ok(());
            }
            attempt += 1;
            if attempt >= MAX_BATCH_ATTEMPTS {
                let gave_up = format!(
                    "DynamoDB kept {} items of a batch to {table} unprocessed after {attempt} attempts; retry later or raise the table's write capacity",
                    unprocessed.len()
                );
                return Err(match throttled {
                    Some(last) => StoreError::new(
                        StoreErrorKind::Throttled,
                        format!("{gave_up} (last answer: {})", last.message),
                    ),
                    None => StoreError::new(StoreErrorKind::Throttled, gave_up),
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
            pending = unprocessed;
        }
    }

    pub(crate) async fn query_all(
        &self,
        table: &str,
        request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error(table, "Query", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Every item of `table` with hash key `key` = `value` and a `date` in `[start, end]`.
    pub(crate) async fn dated_range(
        &self,
        table: &str,
        key: &str,
        value: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<Item>> {
        let request = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("#k = :k AND #d BETWEEN :s AND :e")
            .expression_attribute_names("#k", key)
            .expression_attribute_names("#d", "date")
            .expression_attribute_values(":k", s(value))
            .expression_attribute_values(":s", s(date_text(start)))
            .expression_attribute_values(":e", s(date_text(end)));
        self.query_all(table, request).await
    }

    pub(crate) async fn scan_all(
        &self,
        table: &str,
        projection: Option<(&str, &[(&str, &str)])>,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start.take());
            if let Some((expression, names)) = projection {
                request = request.projection_expression(expression);
                for (placeholder, name) in names {
                    request = request.expression_attribute_names(*placeholder, *name);
                }
            }
            let output = request
                .send()
                .await
                .map_err(|e| self.error(table, "Scan", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    pub(crate) async fn count(&self, table: &str) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(table)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error(table, "Scan", e))?;
            total += output.count.max(0) as u64;
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }

    /// Deletes every item of `table` whose key attributes are `keys`.
    pub(crate) async fn delete_keys(&self, table: &str, keys: Vec<Item>) -> StoreResult<()> {
        let requests = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::new(StoreErrorKind::Invalid, e.to_string()))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(table, requests).await.map(|_| ())
    }

    pub(crate) async fn clear_table(&self, table: &str, key_names: &[&str]) -> StoreResult<()> {
        let names: Vec<(String, &str)> = key_names
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("#k{i}"), *k))
            .collect();
        let expression = names
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let pairs: Vec<(&str, &str)> = names.iter().map(|(p, k)| (p.as_str(), *k)).collect();
        let items = self.scan_all(table, Some((&expression, &pairs))).await?;
        self.delete_keys(table, items).await
    }
}

pub(crate) fn put(item: Item) -> StoreResult<WriteRequest> {
    PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map(|p| WriteRequest::builder().put_request(p).build())
        .map_err(|e| StoreError::new(StoreErrorKind::Invalid, e.to_string()))
}
