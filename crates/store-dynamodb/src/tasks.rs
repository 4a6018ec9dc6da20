//! sosw 0.7's task tables in DynamoDB, for the job system ([`stratus_jobs::TaskStore`]).
//!
//! Items are exactly sosw's (`cloud-tables.md` §6.1): `stat_<k>` and `result_<k>` attributes,
//! `labourer_id_task_status` on archived rows, the greenfield GSI, the retry LSI — so an existing
//! sosw deployment's tables can be attached. The claim and the reports are conditional
//! `UpdateItem`s; every move between tables is one `TransactWriteItems` whose conditions re-check
//! the row as it was read (a consistent `GetItem` just before), so a lost race is a `false`, never
//! a task in two tables or none. Reads through a GSI are eventually consistent, which the roles
//! tolerate: a stale read only makes a conditional write fail.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use futures_util::{StreamExt, TryStreamExt, stream};
use stratus_jobs::model::{ClosedStatus, MetaRow, Task};
use stratus_jobs::store::{
    Applied, ClosedQuery, JobTasks, TaskError, TaskErrorKind, TaskResult, TaskStore,
};
use stratus_store::tables::TaskTables;

use super::*;

/// The task tables in DynamoDB.
pub struct DynamoTaskStore {
    base: DynamoStore,
    tables: TaskTables,
    billing: Billing,
}

/// Writes sent at once.
const IN_FLIGHT: usize = 16;

/// One in-flight request (boxed: a closure here trips async-trait's lifetime inference).
type Pending<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = TaskResult<T>> + Send + 'a>>;

impl DynamoStore {
    /// The job system's tables beside this cache (same client and endpoint); `billing` is used
    /// when [`TaskStore::provision`] creates them.
    pub fn task_store(&self, tables: TaskTables, billing: Billing) -> DynamoTaskStore {
        DynamoTaskStore {
            base: self.clone(),
            tables,
            billing,
        }
    }
}

fn task_error(error: StoreError) -> TaskError {
    let kind = match error.kind {
        StoreErrorKind::Unavailable | StoreErrorKind::NotFound => TaskErrorKind::Unavailable,
        StoreErrorKind::Throttled => TaskErrorKind::Throttled,
        StoreErrorKind::Invalid => TaskErrorKind::Invalid,
        _ => TaskErrorKind::Internal,
    };
    TaskError::new(kind, error.message)
}

/// DynamoDB numbers cannot be infinite: open bounds become very large finite ones.
fn bound(value: f64) -> AttributeValue {
    n(value.clamp(-1e100, 1e100))
}

/// A transaction cancelled only because a condition failed or another transaction held an item.
fn cancelled_by_a_race<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons().iter().all(|r| {
                matches!(
                    r.code(),
                    None | Some("None" | "ConditionalCheckFailed" | "TransactionConflict")
                )
            })
        }
        _ => false,
    }
}

fn attribute_name_ok(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn to_item(task: &Task) -> Item {
    let mut item = Item::new();
    item.insert("task_id".into(), s(&task.task_id));
    item.insert("labourer_id".into(), s(&task.labourer_id));
    if let Some(job) = &task.job_id {
        item.insert("job_id".into(), s(job));
    }
    item.insert("created_at".into(), n(task.created_at));
    item.insert("greenfield".into(), n(task.greenfield));
    item.insert("attempts".into(), n(f64::from(task.attempts)));
    if task.failed_attempts > 0 {
        item.insert("failed_attempts".into(), n(f64::from(task.failed_attempts)));
    }
    for (name, value) in [
        ("completed_at", task.completed_at),
        ("closed_at", task.closed_at),
        ("desired_launch_time", task.desired_launch_time),
    ] {
        if let Some(v) = value {
            item.insert(name.into(), n(v));
        }
    }
    if let Some(arn) = &task.arn {
        item.insert("arn".into(), s(arn));
    }
    item.insert("payload".into(), s(&task.payload));
    for (k, v) in &task.stats {
        if v.is_finite() {
            item.insert(format!("stat_{k}"), n(*v));
        }
    }
    for (k, v) in &task.result {
        item.insert(format!("result_{k}"), s(v));
    }
    if let Some(status) = task.status {
        item.insert(
            "labourer_id_task_status".into(),
            s(status.key(&task.labourer_id)),
        );
    }
    item
}

fn from_item(table: &str, item: &Item) -> StoreResult<Task> {
    let count = |name: &str| -> StoreResult<u32> {
        Ok(get_n(table, item, name)?.unwrap_or(0.0).max(0.0) as u32)
    };
    let optional_s = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let mut stats = BTreeMap::new();
    let mut result = BTreeMap::new();
    for (name, value) in item {
        if let Some(k) = name.strip_prefix("stat_")
            && let AttributeValue::N(v) = value
            && let Ok(v) = v.parse::<f64>()
        {
            stats.insert(k.to_string(), v);
        } else if let Some(k) = name.strip_prefix("result_")
            && let AttributeValue::S(v) = value
        {
            result.insert(k.to_string(), v.clone());
        }
    }
    Ok(Task {
        task_id: get_s(table, item, "task_id")?.to_string(),
        labourer_id: get_s(table, item, "labourer_id")?.to_string(),
        job_id: optional_s("job_id"),
        created_at: get_n(table, item, "created_at")?.unwrap_or(0.0),
        greenfield: get_n(table, item, "greenfield")?
            .ok_or_else(|| malformed(table, "a task without greenfield".into()))?,
        attempts: count("attempts")?,
        failed_attempts: count("failed_attempts")?,
        completed_at: get_n(table, item, "completed_at")?,
        closed_at: get_n(table, item, "closed_at")?,
        desired_launch_time: get_n(table, item, "desired_launch_time")?,
        arn: optional_s("arn"),
        payload: optional_s("payload").unwrap_or_else(|| "{}".into()),
        stats,
        result,
        status: optional_s("labourer_id_task_status")
            .as_deref()
            .and_then(ClosedStatus::from_key),
    })
}

fn meta_item(row: &MetaRow) -> Item {
    let mut item = Item::from([
        ("task_id".to_string(), s(&row.task_id)),
        ("created_at".to_string(), n(row.created_at)),
        ("action".to_string(), s(&row.action)),
        ("author".to_string(), s(&row.author)),
        ("labourer_id".to_string(), s(&row.labourer_id)),
    ]);
    if let Some(detail) = &row.detail {
        item.insert("detail".into(), s(detail));
    }
    item
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> TaskError {
    TaskError::new(TaskErrorKind::Internal, e.to_string())
}

impl DynamoTaskStore {
    /// The audit row as one item of a transaction.
    fn meta_put(&self, row: &MetaRow) -> TaskResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.tables.meta.name)
            .set_item(Some(meta_item(row)))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs `items` as one transaction; false when it was cancelled by a failed condition.
    async fn transact(&self, table: &str, items: Vec<TransactWriteItem>) -> TaskResult<bool> {
        match self
            .base
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if cancelled_by_a_race(&e) => Ok(false),
            Err(e) => Err(self.fail(table, "TransactWriteItems", e)),
        }
    }

    /// A conditional update of a live task and its audit row, in one transaction.
    async fn update_with_meta(
        &self,
        task_id: &str,
        expression: &str,
        condition: &str,
        names: Vec<(String, String)>,
        values: Vec<(String, AttributeValue)>,
        meta: &MetaRow,
    ) -> TaskResult<bool> {
        let table = &self.tables.tasks.name;
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(table)
            .set_key(Some(Self::key(task_id)))
            .update_expression(expression)
            .condition_expression(condition);
        for (k, v) in names {
            update = update.expression_attribute_names(k, v);
        }
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        let update = TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build();
        self.transact(table, vec![update, self.meta_put(meta)?])
            .await
    }

    fn fail<E, R>(&self, table: &str, operation: &str, error: SdkError<E, R>) -> TaskError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        task_error(self.base.error(table, operation, error))
    }

    fn malformed(error: StoreError) -> TaskError {
        task_error(error)
    }

    async fn get_from(&self, table: &str, key: Item) -> TaskResult<Option<Task>> {
        let output = self
            .base
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail(table, "GetItem", e))?;
        output
            .item
            .map(|item| from_item(table, &item).map_err(Self::malformed))
            .transpose()
    }

    fn key(task_id: &str) -> Item {
        Item::from([("task_id".to_string(), s(task_id))])
    }

    /// A query, page by page, until `limit` items or the end.
    async fn query_all(
        &self,
        table: &str,
        mut request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        limit: usize,
    ) -> TaskResult<Vec<Task>> {
        let mut out = Vec::new();
        loop {
            let page = request
                .clone()
                .send()
                .await
                .map_err(|e| self.fail(table, "Query", e))?;
            for item in page.items() {
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push(from_item(table, item).map_err(Self::malformed)?);
            }
            match page.last_evaluated_key {
                Some(key) if out.len() < limit => {
                    request = request.set_exclusive_start_key(Some(key))
                }
                _ => return Ok(out),
            }
        }
    }

    /// The greenfield-index query for invoked tasks.
    fn invoked_query(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.base
            .client
            .query()
            .table_name(&self.tables.tasks.name)
            .index_name(&self.tables.tasks.indexes[0].name)
            .key_condition_expression("labourer_id = :l AND greenfield BETWEEN :f AND :t")
            .filter_expression(if completed {
                "attribute_exists(completed_at)"
            } else {
                "attribute_not_exists(completed_at)"
            })
            .expression_attribute_values(":l", s(labourer_id))
            .expression_attribute_values(":f", bound(from))
            .expression_attribute_values(":t", bound(to))
    }

    /// One transaction: put `item` into `to` (where absent), delete `key` from `from` under
    /// `condition` (with `values`), and write the audit row. False when a condition failed.
    #[allow(clippy::too_many_arguments)]
    async fn transact_move(
        &self,
        to: &str,
        item: Item,
        from: &str,
        key: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        meta: &MetaRow,
    ) -> TaskResult<bool> {
        let put = Put::builder()
            .table_name(to)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(task_id)")
            .build()
            .map_err(build_error)?;
        let mut delete = Delete::builder()
            .table_name(from)
            .set_key(Some(key))
            .condition_expression(condition);
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        let delete = delete.build().map_err(build_error)?;
        self.transact(
            from,
            vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().delete(delete).build(),
                self.meta_put(meta)?,
            ],
        )
        .await
    }

    /// Moves a live task (re-read consistently, still as `task` shows it and in the expected
    /// completion state) to `to`, changed by `change`.
    async fn move_live(
        &self,
        task: &Task,
        to: &str,
        completed: bool,
        meta: &MetaRow,
        change: impl FnOnce(&mut Task),
    ) -> TaskResult<bool> {
        // The row as the caller read it (from the index, whole), guarded by the fields every
        // change to a live task touches: a claim (greenfield, attempts), a report (completed_at,
        // failed_attempts). If any moved since, the transaction fails and nothing moves.
        // A caller that read the task before its completion arrived: read it again, whole.
        let fresh;
        let task = if task.completed_at.is_some() == completed {
            task
        } else {
            match self.get(&task.task_id).await? {
                Some(row)
                    if row.greenfield == task.greenfield
                        && row.attempts == task.attempts
                        && row.completed_at.is_some() == completed =>
                {
                    fresh = row;
                    &fresh
                }
                _ => return Ok(false),
            }
        };
        let mut row = task.clone();
        change(&mut row);
        let mut condition = String::from("greenfield = :g AND attempts = :a");
        condition.push_str(if completed {
            " AND attribute_exists(completed_at)"
        } else {
            " AND attribute_not_exists(completed_at)"
        });
        condition.push_str(if task.failed_attempts == 0 {
            " AND (attribute_not_exists(failed_attempts) OR failed_attempts = :f)"
        } else {
            " AND failed_attempts = :f"
        });
        self.transact_move(
            to,
            to_item(&row),
            &self.tables.tasks.name,
            Self::key(&task.task_id),
            &condition,
            vec![
                (":g", n(task.greenfield)),
                (":a", n(f64::from(task.attempts))),
                (":f", n(f64::from(task.failed_attempts))),
            ],
            meta,
        )
        .await
    }

    /// A worker report: a conditional update of the current attempt, with its audit row.
    #[allow(clippy::too_many_arguments)]
    async fn report(
        &self,
        task_id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
        completed: bool,
        meta: &MetaRow,
    ) -> TaskResult<Applied> {
        let mut sets = Vec::new();
        let mut names = Vec::new();
        let mut values = vec![
            (":a".to_string(), n(f64::from(attempt))),
            (":now".to_string(), n(now)),
        ];
        if completed {
            sets.push("completed_at = :now".to_string());
        }
        for (i, (k, v)) in stats
            .iter()
            .enumerate()
            .filter(|(_, (k, v))| attribute_name_ok(k) && v.is_finite())
        {
            sets.push(format!("#s{i} = :s{i}"));
            names.push((format!("#s{i}"), format!("stat_{k}")));
            values.push((format!(":s{i}"), n(*v)));
        }
        for (i, (k, v)) in result
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| attribute_name_ok(k))
        {
            sets.push(format!("#r{i} = :r{i}"));
            names.push((format!("#r{i}"), format!("result_{k}")));
            values.push((format!(":r{i}"), s(v)));
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression = format!("SET {}", sets.join(", "));
        }
        if !completed {
            expression.push_str(" ADD failed_attempts :one");
            values.push((":one".to_string(), n(1.0)));
        }
        let applied = self
            .update_with_meta(
                task_id,
                expression.trim(),
                "attribute_exists(task_id) AND attempts = :a AND attribute_not_exists(completed_at) AND greenfield >= :now",
                names,
                values,
                meta,
            )
            .await?;
        Ok(if applied {
            Applied::Applied
        } else {
            Applied::Stale
        })
    }

    async fn put_new(&self, task: &Task, meta: Option<&MetaRow>) -> TaskResult<bool> {
        let table = &self.tables.tasks.name;
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(to_item(task)))
            .condition_expression("attribute_not_exists(task_id)")
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(meta) = meta {
            items.push(self.meta_put(meta)?);
        }
        self.transact(table, items).await
    }

    async fn put_meta(&self, row: &MetaRow) -> TaskResult<()> {
        let table = &self.tables.meta.name;
        self.base
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(meta_item(row)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.fail(table, "PutItem", e))
    }

    async fn scan_job(&self, table: &str, job_id: &str) -> TaskResult<Vec<Task>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .base
                .client
                .scan()
                .table_name(table)
                .filter_expression("job_id = :j")
                .expression_attribute_values(":j", s(job_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.fail(table, "Scan", e))?;
            for item in page.items() {
                out.push(from_item(table, item).map_err(Self::malformed)?);
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl TaskStore for DynamoTaskStore {
    fn describe(&self) -> String {
        format!(
            "the task tables ({}…) in {}",
            self.tables.tasks.name, self.base.endpoint
        )
    }

    async fn provision(&self) -> TaskResult<()> {
        let tables = self.tables.clone();
        self.base
            .provision_layouts(&tables.all(), self.billing)
            .await
            .map(|_| ())
            .map_err(task_error)
    }

    async fn create(&self, tasks: &[Task], meta: &[MetaRow]) -> TaskResult<usize> {
        let writes: Vec<Pending<'_, bool>> = tasks
            .iter()
            .map(|task| {
                let row = meta.iter().find(|m| m.task_id == task.task_id);
                Box::pin(self.put_new(task, row)) as Pending<'_, bool>
            })
            .collect();
        let created: Vec<bool> = stream::iter(writes)
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(created.into_iter().filter(|c| *c).count())
    }

    async fn get(&self, task_id: &str) -> TaskResult<Option<Task>> {
        self.get_from(&self.tables.tasks.name, Self::key(task_id))
            .await
    }

    async fn queued(&self, labourer_id: &str, before: f64, limit: usize) -> TaskResult<Vec<Task>> {
        let request = self
            .base
            .client
            .query()
            .table_name(&self.tables.tasks.name)
            .index_name(&self.tables.tasks.indexes[0].name)
            .key_condition_expression("labourer_id = :l AND greenfield < :b")
            .expression_attribute_values(":l", s(labourer_id))
            .expression_attribute_values(":b", bound(before))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32);
        self.query_all(&self.tables.tasks.name, request, limit)
            .await
    }

    async fn queued_edge(
        &self,
        labourer_id: &str,
        before: f64,
        newest: bool,
    ) -> TaskResult<Option<f64>> {
        let table = &self.tables.tasks.name;
        let page = self
            .base
            .client
            .query()
            .table_name(table)
            .index_name(&self.tables.tasks.indexes[0].name)
            .key_condition_expression("labourer_id = :l AND greenfield < :b")
            .expression_attribute_values(":l", s(labourer_id))
            .expression_attribute_values(":b", bound(before))
            .scan_index_forward(!newest)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.fail(table, "Query", e))?;
        match page.items().first() {
            Some(item) => get_n(table, item, "greenfield").map_err(Self::malformed),
            None => Ok(None),
        }
    }

    async fn invoked(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
        limit: usize,
    ) -> TaskResult<Vec<Task>> {
        let request = self.invoked_query(labourer_id, from, to, completed);
        self.query_all(&self.tables.tasks.name, request, limit)
            .await
    }

    async fn count_invoked(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
    ) -> TaskResult<u64> {
        let table = &self.tables.tasks.name;
        let mut request = self
            .invoked_query(labourer_id, from, to, completed)
            .select(Select::Count);
        let mut total = 0u64;
        loop {
            let page = request
                .clone()
                .send()
                .await
                .map_err(|e| self.fail(table, "Query", e))?;
            total += page.count.max(0) as u64;
            match page.last_evaluated_key {
                Some(key) => request = request.set_exclusive_start_key(Some(key)),
                None => return Ok(total),
            }
        }
    }

    async fn claim(
        &self,
        task_id: &str,
        before: f64,
        greenfield: f64,
        meta: &MetaRow,
    ) -> TaskResult<bool> {
        self.update_with_meta(
            task_id,
            "SET greenfield = :g ADD attempts :one",
            "attribute_exists(task_id) AND greenfield < :b",
            vec![],
            vec![
                (":g".to_string(), n(greenfield)),
                (":one".to_string(), n(1.0)),
                (":b".to_string(), bound(before)),
            ],
            meta,
        )
        .await
    }

    async fn complete(
        &self,
        task_id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
        meta: &MetaRow,
    ) -> TaskResult<Applied> {
        self.report(task_id, attempt, now, stats, result, true, meta)
            .await
    }

    async fn fail(
        &self,
        task_id: &str,
        attempt: u32,
        now: f64,
        stats: &[(String, f64)],
        result: &[(String, String)],
        meta: &MetaRow,
    ) -> TaskResult<Applied> {
        self.report(task_id, attempt, now, stats, result, false, meta)
            .await
    }

    async fn archive(
        &self,
        task: &Task,
        status: ClosedStatus,
        closed_at: f64,
        meta: &MetaRow,
    ) -> TaskResult<bool> {
        let closed = self.tables.closed.name.clone();
        self.move_live(
            task,
            &closed,
            status == ClosedStatus::Completed,
            meta,
            |row| {
                row.closed_at = Some(closed_at);
                row.status = Some(status);
            },
        )
        .await
    }

    async fn to_retry(&self, task: &Task, due: f64, meta: &MetaRow) -> TaskResult<bool> {
        let retry = self.tables.retry.name.clone();
        self.move_live(task, &retry, false, meta, |row| {
            row.desired_launch_time = Some(due)
        })
        .await
    }

    async fn due_retries(
        &self,
        labourer_id: &str,
        now: f64,
        limit: usize,
    ) -> TaskResult<Vec<Task>> {
        let request = self
            .base
            .client
            .query()
            .table_name(&self.tables.retry.name)
            .index_name(&self.tables.retry.indexes[0].name)
            .key_condition_expression("labourer_id = :l AND desired_launch_time <= :now")
            .expression_attribute_values(":l", s(labourer_id))
            .expression_attribute_values(":now", bound(now))
            .consistent_read(true)
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32);
        self.query_all(&self.tables.retry.name, request, limit)
            .await
    }

    async fn requeue(&self, task: &Task, greenfield: f64, meta: &MetaRow) -> TaskResult<bool> {
        let retry = &self.tables.retry.name;
        let key = Item::from([
            ("labourer_id".to_string(), s(&task.labourer_id)),
            ("task_id".to_string(), s(&task.task_id)),
        ]);
        let Some(mut row) = self.get_from(retry, key.clone()).await? else {
            return Ok(false);
        };
        row.desired_launch_time = None;
        row.greenfield = greenfield;
        self.transact_move(
            &self.tables.tasks.name,
            to_item(&row),
            retry,
            key,
            "attribute_exists(task_id)",
            vec![],
            meta,
        )
        .await
    }

    async fn closed(&self, query: &ClosedQuery) -> TaskResult<Vec<Task>> {
        let table = &self.tables.closed.name;
        let request = self
            .base
            .client
            .query()
            .table_name(table)
            .index_name(&self.tables.closed.indexes[0].name)
            .key_condition_expression(
                "labourer_id_task_status = :k AND closed_at BETWEEN :f AND :t",
            )
            .expression_attribute_values(":k", s(query.status.key(&query.labourer_id)))
            .expression_attribute_values(":f", bound(query.from))
            .expression_attribute_values(":t", bound(query.to))
            .scan_index_forward(!query.newest_first);
        // The index holds only a few attributes (sosw's INCLUDE projection): read the ids, then
        // the whole rows.
        let mut ids = Vec::new();
        let mut request = request.projection_expression("task_id");
        loop {
            let page = request
                .clone()
                .send()
                .await
                .map_err(|e| self.fail(table, "Query", e))?;
            for item in page.items() {
                if ids.len() < query.limit {
                    ids.push(
                        get_s(table, item, "task_id")
                            .map_err(Self::malformed)?
                            .to_string(),
                    );
                }
            }
            match page.last_evaluated_key {
                Some(key) if ids.len() < query.limit => {
                    request = request.set_exclusive_start_key(Some(key))
                }
                _ => break,
            }
        }
        let reads: Vec<Pending<'_, Option<Task>>> = ids
            .iter()
            .map(|id| Box::pin(self.get_closed(id)) as Pending<'_, Option<Task>>)
            .collect();
        let rows: Vec<Option<Task>> = stream::iter(reads)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(rows.into_iter().flatten().collect())
    }

    async fn get_closed(&self, task_id: &str) -> TaskResult<Option<Task>> {
        self.get_from(&self.tables.closed.name, Self::key(task_id))
            .await
    }

    async fn redrive(&self, task: &Task, greenfield: f64, meta: &MetaRow) -> TaskResult<bool> {
        let Some(mut row) = self.get_closed(&task.task_id).await? else {
            return Ok(false);
        };
        row.greenfield = greenfield;
        row.attempts = 0;
        row.failed_attempts = 0;
        row.completed_at = None;
        row.closed_at = None;
        row.status = None;
        row.result.clear();
        self.transact_move(
            &self.tables.tasks.name,
            to_item(&row),
            &self.tables.closed.name,
            Self::key(&task.task_id),
            "attribute_exists(task_id)",
            vec![],
            meta,
        )
        .await
    }

    async fn job(&self, job_id: &str) -> TaskResult<JobTasks> {
        Ok(JobTasks {
            live: self.scan_job(&self.tables.tasks.name, job_id).await?,
            retry: self.scan_job(&self.tables.retry.name, job_id).await?,
            closed: self.scan_job(&self.tables.closed.name, job_id).await?,
        })
    }

    async fn write_meta(&self, rows: &[MetaRow]) -> TaskResult<()> {
        let writes: Vec<Pending<'_, ()>> = rows
            .iter()
            .map(|row| Box::pin(self.put_meta(row)) as Pending<'_, ()>)
            .collect();
        stream::iter(writes)
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    async fn meta(&self, task_id: &str) -> TaskResult<Vec<MetaRow>> {
        let table = &self.tables.meta.name;
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .base
                .client
                .query()
                .table_name(table)
                .key_condition_expression("task_id = :t")
                .expression_attribute_values(":t", s(task_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.fail(table, "Query", e))?;
            for item in page.items() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                out.push(MetaRow {
                    task_id: task_id.to_string(),
                    created_at: get_n(table, item, "created_at")
                        .map_err(Self::malformed)?
                        .unwrap_or(0.0),
                    action: text("action").unwrap_or_default(),
                    author: text("author").unwrap_or_default(),
                    labourer_id: text("labourer_id").unwrap_or_default(),
                    detail: text("detail"),
                });
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(out),
            }
        }
    }

    async fn config_get(&self, env: &str, name: &str) -> TaskResult<Option<String>> {
        let table = &self.tables.config.name;
        let output = self
            .base
            .client
            .get_item()
            .table_name(table)
            .key("env", s(env))
            .key("config_name", s(name))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail(table, "GetItem", e))?;
        Ok(output.item.and_then(|item| match item.get("config_value") {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        }))
    }

    async fn config_put(&self, env: &str, name: &str, value: &str) -> TaskResult<()> {
        let table = &self.tables.config.name;
        self.base
            .client
            .put_item()
            .table_name(table)
            .item("env", s(env))
            .item("config_name", s(name))
            .item("config_value", s(value))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.fail(table, "PutItem", e))
    }
}
