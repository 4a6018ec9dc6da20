//! sosw's task tables in the SQLite file, for the job system ([`stratus_jobs::TaskStore`]).
//!
//! The tables and indexes mirror the DynamoDB layout ([`TaskTables`]): the live queue is keyed by
//! `task_id` and indexed on (`labourer_id`, `greenfield`) like sosw's GSI, the archive on
//! (`labourer_id_task_status`, `closed_at`), the retry table on (`labourer_id`,
//! `desired_launch_time`). Stats and results, which DynamoDB keeps as `stat_<k>` / `result_<k>`
//! attributes, are JSON objects in one column each. Every move between tables is one `BEGIN
//! IMMEDIATE` transaction that re-reads the row under the write lock, so several processes on one
//! file (`jobs run` beside `jobs work`) see the same conditional semantics as DynamoDB's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use stratus_jobs::model::{ClosedStatus, MetaRow, Task};
use stratus_jobs::store::{
    Applied, ClosedQuery, JobTasks, TaskError, TaskErrorKind, TaskResult, TaskStore,
};
use stratus_store::tables::TaskTables;

/// The task tables in one SQLite file.
pub struct SqliteTaskStore {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
    tables: TaskTables,
}

const COLUMNS: &str = "task_id, labourer_id, job_id, created_at, greenfield, attempts, failed_attempts, completed_at, closed_at, desired_launch_time, arn, payload, stats, result, labourer_id_task_status";

fn failed(path: &Path, error: rusqlite::Error) -> TaskError {
    let kind = match &error {
        rusqlite::Error::SqliteFailure(e, _) => match e.code {
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                TaskErrorKind::Throttled
            }
            rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::ReadOnly
            | rusqlite::ErrorCode::DiskFull
            | rusqlite::ErrorCode::SystemIoFailure
            | rusqlite::ErrorCode::NotADatabase
            | rusqlite::ErrorCode::DatabaseCorrupt => TaskErrorKind::Unavailable,
            _ => TaskErrorKind::Internal,
        },
        _ => TaskErrorKind::Internal,
    };
    TaskError::new(kind, format!("task store {}: {error}", path.display()))
}

fn to_task(row: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    let json_map = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    let stats: BTreeMap<String, f64> = serde_json::from_str(&json_map(12)?).unwrap_or_default();
    let result: BTreeMap<String, String> = serde_json::from_str(&json_map(13)?).unwrap_or_default();
    let status: Option<String> = row.get(14)?;
    Ok(Task {
        task_id: row.get(0)?,
        labourer_id: row.get(1)?,
        job_id: row.get(2)?,
        created_at: row.get(3)?,
        greenfield: row.get(4)?,
        attempts: row.get(5)?,
        failed_attempts: row.get(6)?,
        completed_at: row.get(7)?,
        closed_at: row.get(8)?,
        desired_launch_time: row.get(9)?,
        arn: row.get(10)?,
        payload: row.get(11)?,
        stats,
        result,
        status: status.as_deref().and_then(ClosedStatus::from_key),
    })
}

fn insert(tx: &Transaction<'_>, table: &str, task: &Task, or: &str) -> rusqlite::Result<usize> {
    let status = task.status.map(|s| s.key(&task.labourer_id));
    tx.execute(
        &format!("INSERT {or} INTO {table}({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
        params![
            task.task_id,
            task.labourer_id,
            task.job_id,
            task.created_at,
            task.greenfield,
            task.attempts,
            task.failed_attempts,
            task.completed_at,
            task.closed_at,
            task.desired_launch_time,
            task.arn,
            task.payload,
            serde_json::to_string(&task.stats).unwrap_or_else(|_| "{}".into()),
            serde_json::to_string(&task.result).unwrap_or_else(|_| "{}".into()),
            status,
        ],
    )
}

/// Infinite bounds as SQLite compares them.
fn bound(value: f64) -> f64 {
    value.clamp(-f64::MAX, f64::MAX)
}

impl SqliteTaskStore {
    /// Opens the task tables in the SQLite file at `path` (creating the file; call
    /// [`TaskStore::provision`] to create the tables).
    pub fn open(path: impl AsRef<Path>, tables: TaskTables) -> TaskResult<Self> {
        let path = path.as_ref().to_path_buf();
        let connection = Connection::open(&path)
            .and_then(|c| {
                c.execute_batch("PRAGMA busy_timeout=60000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
                Ok(c)
            })
            .map_err(|e| failed(&path, e))?;
        Ok(SqliteTaskStore {
            connection: Arc::new(Mutex::new(connection)),
            path,
            tables,
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &TaskTables) -> rusqlite::Result<T> + Send + 'static,
    ) -> TaskResult<T> {
        let connection = self.connection.clone();
        let tables = self.tables.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut connection, &tables).map_err(|e| failed(&path, e))
        })
        .await
        .map_err(|e| {
            TaskError::new(
                TaskErrorKind::Internal,
                format!("task store worker stopped: {e}"),
            )
        })?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &TaskTables) -> rusqlite::Result<T> + Send + 'static,
    ) -> TaskResult<T> {
        self.with(move |connection, tables| {
            let tx =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx, tables)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// A write whose audit rows are written in the same transaction when it changed the task.
    async fn audited<T: Changed + Send + 'static>(
        &self,
        meta: Vec<MetaRow>,
        f: impl FnOnce(&Transaction<'_>, &TaskTables) -> rusqlite::Result<T> + Send + 'static,
    ) -> TaskResult<T> {
        self.write(move |tx, t| {
            let value = f(tx, t)?;
            if value.changed() {
                for row in &meta {
                    put_meta(tx, &t.meta.name, row)?;
                }
            }
            Ok(value)
        })
        .await
    }

    async fn select(
        &self,
        sql: String,
        args: Vec<rusqlite::types::Value>,
    ) -> TaskResult<Vec<Task>> {
        self.with(move |connection, _| {
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement.query_map(rusqlite::params_from_iter(args), to_task)?;
            rows.collect()
        })
        .await
    }
}

/// Writes one audit row.
fn put_meta(tx: &Transaction<'_>, table: &str, row: &MetaRow) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {table}(task_id, created_at, action, author, labourer_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?
    .execute(params![row.task_id, row.created_at, row.action, row.author, row.labourer_id, row.detail])?;
    Ok(())
}

/// Whether an operation changed the task (and so writes its audit row).
trait Changed {
    fn changed(&self) -> bool;
}

impl Changed for bool {
    fn changed(&self) -> bool {
        *self
    }
}

impl Changed for Applied {
    fn changed(&self) -> bool {
        *self == Applied::Applied
    }
}

/// Reads one row of `table` matching `condition`.
fn read_one(
    tx: &Transaction<'_>,
    table: &str,
    condition: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Option<Task>> {
    tx.query_row(
        &format!("SELECT {COLUMNS} FROM {table} WHERE {condition}"),
        args,
        to_task,
    )
    .optional()
}

/// Applies a worker report under the "current attempt, invoked, not completed" condition.
#[allow(clippy::too_many_arguments)] // the report's fields, as the trait method takes them
fn report(
    tx: &Transaction<'_>,
    table: &str,
    task_id: &str,
    attempt: u32,
    now: f64,
    stats: &[(String, f64)],
    result: &[(String, String)],
    completed: bool,
) -> rusqlite::Result<Applied> {
    let Some(mut task) = read_one(
        tx,
        table,
        "task_id = ?1 AND attempts = ?2 AND completed_at IS NULL AND greenfield >= ?3",
        params![task_id, attempt, now],
    )?
    else {
        return Ok(Applied::Stale);
    };
    task.stats
        .extend(stats.iter().filter(|(_, v)| v.is_finite()).cloned());
    task.result.extend(result.iter().cloned());
    if completed {
        task.completed_at = Some(now);
    } else {
        task.failed_attempts += 1;
    }
    tx.execute(
        &format!("UPDATE {table} SET completed_at = ?2, failed_attempts = ?3, stats = ?4, result = ?5 WHERE task_id = ?1"),
        params![
            task_id,
            task.completed_at,
            task.failed_attempts,
            serde_json::to_string(&task.stats).unwrap_or_else(|_| "{}".into()),
            serde_json::to_string(&task.result).unwrap_or_else(|_| "{}".into()),
        ],
    )?;
    Ok(Applied::Applied)
}

#[async_trait]
impl TaskStore for SqliteTaskStore {
    fn describe(&self) -> String {
        format!("the SQLite task tables in {}", self.path.display())
    }

    async fn provision(&self) -> TaskResult<()> {
        self.with(|connection, t| {
            let columns = "task_id TEXT NOT NULL, labourer_id TEXT NOT NULL, job_id TEXT, created_at REAL NOT NULL, greenfield REAL NOT NULL, attempts INTEGER NOT NULL, failed_attempts INTEGER NOT NULL, completed_at REAL, closed_at REAL, desired_launch_time REAL, arn TEXT, payload TEXT NOT NULL, stats TEXT NOT NULL, result TEXT NOT NULL, labourer_id_task_status TEXT";
            let (tasks, closed, retry) = (&t.tasks.name, &t.closed.name, &t.retry.name);
            let (tasks_gsi, closed_gsi, retry_lsi) = (&t.tasks.indexes[0].name, &t.closed.indexes[0].name, &t.retry.indexes[0].name);
            connection.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {tasks}({columns}, PRIMARY KEY(task_id));
                 CREATE INDEX IF NOT EXISTS {tasks_gsi} ON {tasks}(labourer_id, greenfield);
                 CREATE INDEX IF NOT EXISTS {tasks}_job ON {tasks}(job_id);
                 CREATE TABLE IF NOT EXISTS {closed}({columns}, PRIMARY KEY(task_id));
                 CREATE INDEX IF NOT EXISTS {closed}_{closed_gsi} ON {closed}(labourer_id_task_status, closed_at);
                 CREATE INDEX IF NOT EXISTS {closed}_job ON {closed}(job_id);
                 CREATE TABLE IF NOT EXISTS {retry}({columns}, PRIMARY KEY(labourer_id, task_id));
                 CREATE INDEX IF NOT EXISTS {retry}_{retry_lsi} ON {retry}(labourer_id, desired_launch_time);
                 CREATE INDEX IF NOT EXISTS {retry}_job ON {retry}(job_id);
                 CREATE TABLE IF NOT EXISTS {meta}(task_id TEXT NOT NULL, created_at REAL NOT NULL, action TEXT NOT NULL, author TEXT, labourer_id TEXT, detail TEXT, PRIMARY KEY(task_id, created_at));
                 CREATE TABLE IF NOT EXISTS {config}(env TEXT NOT NULL, config_name TEXT NOT NULL, config_value TEXT, PRIMARY KEY(env, config_name));",
                meta = t.meta.name,
                config = t.config.name,
            ))
        })
        .await
    }

    async fn create(&self, tasks: &[Task], meta: &[MetaRow]) -> TaskResult<usize> {
        let (tasks, meta) = (tasks.to_vec(), meta.to_vec());
        self.write(move |tx, t| {
            let mut created = 0;
            for task in &tasks {
                if insert(tx, &t.tasks.name, task, "OR IGNORE")? == 1 {
                    created += 1;
                    for row in meta.iter().filter(|m| m.task_id == task.task_id) {
                        put_meta(tx, &t.meta.name, row)?;
                    }
                }
            }
            Ok(created)
        })
        .await
    }

    async fn get(&self, task_id: &str) -> TaskResult<Option<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE task_id = ?1",
            self.tables.tasks.name
        );
        Ok(self
            .select(sql, vec![task_id.to_string().into()])
            .await?
            .pop())
    }

    async fn queued(&self, labourer_id: &str, before: f64, limit: usize) -> TaskResult<Vec<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE labourer_id = ?1 AND greenfield < ?2 ORDER BY greenfield LIMIT ?3",
            self.tables.tasks.name
        );
        self.select(
            sql,
            vec![
                labourer_id.to_string().into(),
                bound(before).into(),
                (limit.min(i64::MAX as usize) as i64).into(),
            ],
        )
        .await
    }

    async fn queued_edge(
        &self,
        labourer_id: &str,
        before: f64,
        newest: bool,
    ) -> TaskResult<Option<f64>> {
        let sql = format!(
            "SELECT {}(greenfield) FROM {} WHERE labourer_id = ?1 AND greenfield < ?2",
            if newest { "max" } else { "min" },
            self.tables.tasks.name
        );
        let labourer_id = labourer_id.to_string();
        self.with(move |c, _| c.query_row(&sql, params![labourer_id, bound(before)], |r| r.get(0)))
            .await
    }

    async fn invoked(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
        limit: usize,
    ) -> TaskResult<Vec<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE labourer_id = ?1 AND greenfield >= ?2 AND greenfield <= ?3 AND completed_at IS {} NULL ORDER BY greenfield LIMIT ?4",
            self.tables.tasks.name,
            if completed { "NOT" } else { "" }
        );
        self.select(
            sql,
            vec![
                labourer_id.to_string().into(),
                bound(from).into(),
                bound(to).into(),
                (limit.min(i64::MAX as usize) as i64).into(),
            ],
        )
        .await
    }

    async fn count_invoked(
        &self,
        labourer_id: &str,
        from: f64,
        to: f64,
        completed: bool,
    ) -> TaskResult<u64> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE labourer_id = ?1 AND greenfield >= ?2 AND greenfield <= ?3 AND completed_at IS {} NULL",
            self.tables.tasks.name,
            if completed { "NOT" } else { "" }
        );
        let labourer_id = labourer_id.to_string();
        self.with(move |c, _| {
            c.query_row(&sql, params![labourer_id, bound(from), bound(to)], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .map(|n| n.max(0) as u64)
    }

    async fn claim(
        &self,
        task_id: &str,
        before: f64,
        greenfield: f64,
        meta: &MetaRow,
    ) -> TaskResult<bool> {
        let task_id = task_id.to_string();
        self.audited(vec![meta.clone()], move |tx, t| {
            let changed = tx.execute(
                &format!("UPDATE {} SET greenfield = ?2, attempts = attempts + 1 WHERE task_id = ?1 AND greenfield < ?3", t.tasks.name),
                params![task_id, greenfield, bound(before)],
            )?;
            Ok(changed == 1)
        })
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
        let (task_id, stats, result) = (task_id.to_string(), stats.to_vec(), result.to_vec());
        self.audited(vec![meta.clone()], move |tx, t| {
            report(
                tx,
                &t.tasks.name,
                &task_id,
                attempt,
                now,
                &stats,
                &result,
                true,
            )
        })
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
        let (task_id, stats, result) = (task_id.to_string(), stats.to_vec(), result.to_vec());
        self.audited(vec![meta.clone()], move |tx, t| {
            report(
                tx,
                &t.tasks.name,
                &task_id,
                attempt,
                now,
                &stats,
                &result,
                false,
            )
        })
        .await
    }

    async fn archive(
        &self,
        task: &Task,
        status: ClosedStatus,
        closed_at: f64,
        meta: &MetaRow,
    ) -> TaskResult<bool> {
        let task = task.clone();
        self.audited(vec![meta.clone()], move |tx, t| {
            let condition = if status == ClosedStatus::Completed {
                "task_id = ?1 AND greenfield = ?2 AND attempts = ?3 AND completed_at IS NOT NULL"
            } else {
                "task_id = ?1 AND greenfield = ?2 AND attempts = ?3 AND completed_at IS NULL"
            };
            let Some(mut row) = read_one(
                tx,
                &t.tasks.name,
                condition,
                params![task.task_id, task.greenfield, task.attempts],
            )?
            else {
                return Ok(false);
            };
            row.closed_at = Some(closed_at);
            row.status = Some(status);
            insert(tx, &t.closed.name, &row, "OR REPLACE")?;
            tx.execute(
                &format!("DELETE FROM {} WHERE task_id = ?1", t.tasks.name),
                params![task.task_id],
            )?;
            Ok(true)
        })
        .await
    }

    async fn to_retry(&self, task: &Task, due: f64, meta: &MetaRow) -> TaskResult<bool> {
        let task = task.clone();
        self.audited(vec![meta.clone()], move |tx, t| {
            let Some(mut row) = read_one(
                tx,
                &t.tasks.name,
                "task_id = ?1 AND greenfield = ?2 AND attempts = ?3 AND completed_at IS NULL",
                params![task.task_id, task.greenfield, task.attempts],
            )?
            else {
                return Ok(false);
            };
            row.desired_launch_time = Some(due);
            insert(tx, &t.retry.name, &row, "OR REPLACE")?;
            tx.execute(
                &format!("DELETE FROM {} WHERE task_id = ?1", t.tasks.name),
                params![task.task_id],
            )?;
            Ok(true)
        })
        .await
    }

    async fn due_retries(
        &self,
        labourer_id: &str,
        now: f64,
        limit: usize,
    ) -> TaskResult<Vec<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE labourer_id = ?1 AND desired_launch_time <= ?2 ORDER BY desired_launch_time LIMIT ?3",
            self.tables.retry.name
        );
        self.select(
            sql,
            vec![
                labourer_id.to_string().into(),
                bound(now).into(),
                (limit.min(i64::MAX as usize) as i64).into(),
            ],
        )
        .await
    }

    async fn requeue(&self, task: &Task, greenfield: f64, meta: &MetaRow) -> TaskResult<bool> {
        let task = task.clone();
        self.audited(vec![meta.clone()], move |tx, t| {
            let Some(mut row) = read_one(
                tx,
                &t.retry.name,
                "labourer_id = ?1 AND task_id = ?2",
                params![task.labourer_id, task.task_id],
            )?
            else {
                return Ok(false);
            };
            row.desired_launch_time = None;
            row.greenfield = greenfield;
            if insert(tx, &t.tasks.name, &row, "OR IGNORE")? == 0 {
                return Ok(false);
            }
            tx.execute(
                &format!(
                    "DELETE FROM {} WHERE labourer_id = ?1 AND task_id = ?2",
                    t.retry.name
                ),
                params![task.labourer_id, task.task_id],
            )?;
            Ok(true)
        })
        .await
    }

    async fn closed(&self, query: &ClosedQuery) -> TaskResult<Vec<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE labourer_id_task_status = ?1 AND closed_at >= ?2 AND closed_at <= ?3 ORDER BY closed_at {} LIMIT ?4",
            self.tables.closed.name,
            if query.newest_first { "DESC" } else { "ASC" }
        );
        self.select(
            sql,
            vec![
                query.status.key(&query.labourer_id).into(),
                bound(query.from).into(),
                bound(query.to).into(),
                (query.limit.min(i64::MAX as usize) as i64).into(),
            ],
        )
        .await
    }

    async fn get_closed(&self, task_id: &str) -> TaskResult<Option<Task>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE task_id = ?1",
            self.tables.closed.name
        );
        Ok(self
            .select(sql, vec![task_id.to_string().into()])
            .await?
            .pop())
    }

    async fn redrive(&self, task: &Task, greenfield: f64, meta: &MetaRow) -> TaskResult<bool> {
        let task = task.clone();
        self.audited(vec![meta.clone()], move |tx, t| {
            let Some(mut row) =
                read_one(tx, &t.closed.name, "task_id = ?1", params![task.task_id])?
            else {
                return Ok(false);
            };
            row.greenfield = greenfield;
            row.attempts = 0;
            row.failed_attempts = 0;
            row.completed_at = None;
            row.closed_at = None;
            row.status = None;
            row.result.clear();
            if insert(tx, &t.tasks.name, &row, "OR IGNORE")? == 0 {
                return Ok(false);
            }
            tx.execute(
                &format!("DELETE FROM {} WHERE task_id = ?1", t.closed.name),
                params![task.task_id],
            )?;
            Ok(true)
        })
        .await
    }

    async fn job(&self, job_id: &str) -> TaskResult<JobTasks> {
        let job_id = job_id.to_string();
        self.with(move |c, t| {
            let read = |table: &str| -> rusqlite::Result<Vec<Task>> {
                let mut statement =
                    c.prepare_cached(&format!("SELECT {COLUMNS} FROM {table} WHERE job_id = ?1"))?;
                let rows = statement.query_map(params![job_id], to_task)?;
                rows.collect()
            };
            Ok(JobTasks {
                live: read(&t.tasks.name)?,
                retry: read(&t.retry.name)?,
                closed: read(&t.closed.name)?,
            })
        })
        .await
    }

    async fn write_meta(&self, rows: &[MetaRow]) -> TaskResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = rows.to_vec();
        self.write(move |tx, t| {
            for row in &rows {
                put_meta(tx, &t.meta.name, row)?;
            }
            Ok(())
        })
        .await
    }

    async fn meta(&self, task_id: &str) -> TaskResult<Vec<MetaRow>> {
        let task_id = task_id.to_string();
        self.with(move |c, t| {
            let mut statement = c.prepare_cached(&format!(
                "SELECT task_id, created_at, action, author, labourer_id, detail FROM {} WHERE task_id = ?1 ORDER BY created_at",
                t.meta.name
            ))?;
            let rows = statement.query_map(params![task_id], |r| {
                Ok(MetaRow {
                    task_id: r.get(0)?,
                    created_at: r.get(1)?,
                    action: r.get(2)?,
                    author: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    labourer_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    detail: r.get(5)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn config_get(&self, env: &str, name: &str) -> TaskResult<Option<String>> {
        let (env, name) = (env.to_string(), name.to_string());
        self.with(move |c, t| {
            c.query_row(
                &format!(
                    "SELECT config_value FROM {} WHERE env = ?1 AND config_name = ?2",
                    t.config.name
                ),
                params![env, name],
                |r| r.get(0),
            )
            .optional()
        })
        .await
    }

    async fn config_put(&self, env: &str, name: &str, value: &str) -> TaskResult<()> {
        let (env, name, value) = (env.to_string(), name.to_string(), value.to_string());
        self.write(move |tx, t| {
            tx.execute(
                &format!(
                    "INSERT OR REPLACE INTO {}(env, config_name, config_value) VALUES (?1, ?2, ?3)",
                    t.config.name
                ),
                params![env, name, value],
            )?;
            Ok(())
        })
        .await
    }
}
