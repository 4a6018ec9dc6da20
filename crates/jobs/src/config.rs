//! Configuration: sosw's JSON config rows, merged recursively over defaults, read through a cache
//! that re-reads the row after a TTL — so a change takes effect within a minute on every running
//! orchestrator and Lambda, with no redeploy (sosw read it once per container).
//!
//! The merged JSON is checked once into [`JobsConfig`]: an unknown comparison operator, a
//! negative timeout or a coefficient outside 0–1 is an error naming the key when the row is
//! loaded, not a surprise in the middle of a run.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::ecology::Metric;
use crate::model::{Clock, INVOCATION_DELTA, TASK_STEP};
use crate::store::{TaskError, TaskErrorKind, TaskResult, TaskStore};

/// The config row Stratus's roles read (in the `config` table, under the configured `env`).
pub const CONFIG_NAME: &str = "stratus_jobs_config";

/// The defaults every config row is merged over.
pub fn defaults() -> Value {
    json!({
        "task_config": {
            "greenfield_task_step": TASK_STEP,
            "greenfield_invocation_delta": INVOCATION_DELTA,
            "max_attempts": 3,
            "expiry_margin": 60.0,
            "retry_tasks_limit": 20,
            "max_closed_to_analyse_for_duration": 10,
            "backoff": {"kind": "exponential", "base": 0.0, "max": 3600.0, "jitter": 0.2},
            "labourers": {
                "local": {"max_simultaneous_invocations": 64, "timeout": 300.0}
            }
        },
        "ecology_config": {
            "invocation_number_coefficient": {"0": 0.0, "1": 0.0, "2": 0.5, "3": 0.75, "4": 1.0}
        },
        "scheduler_config": {
            "rows_to_process": 50,
            "shutdown_period": 60.0,
            "job_schema_variants": {
                "default": {"chunkable_attrs": [["ticker", {}]]},
                "ingest": {"chunkable_attrs": [["source", {}], ["symbol", {}]]}
            }
        }
    })
}

/// sosw's `recursive_update`: objects merge deeply, arrays are unioned (unique values, the
/// original's order first), anything else — including a type conflict — takes the update.
pub fn recursive_update(base: &mut Value, update: &Value) {
    match (base, update) {
        (Value::Object(base), Value::Object(update)) => {
            for (key, value) in update {
                match base.get_mut(key) {
                    Some(existing) => recursive_update(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(base), Value::Array(update)) => {
            for value in update {
                if !base.contains(value) {
                    base.push(value.clone());
                }
            }
        }
        (base, update) => *base = update.clone(),
    }
}

/// How long a retry waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackoffKind {
    /// `base × attempts` (sosw's, with `base` = the worker's timeout).
    Linear,
    /// `base × 2^(attempts − 1)`.
    Exponential,
}

/// Retry delays.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// Linear or exponential.
    pub kind: BackoffKind,
    /// The first delay in seconds; 0 means the worker's timeout, as sosw.
    pub base: f64,
    /// The longest delay.
    pub max: f64,
    /// ± this fraction of the delay, at random, so retries of a burst spread out.
    pub jitter: f64,
}

impl Backoff {
    /// The delay before retry number `attempts` (1 after the first failure), for a worker whose
    /// timeout is `timeout`, with `unit` a uniform draw from [0, 1).
    pub fn delay(&self, attempts: u32, timeout: f64, unit: f64) -> f64 {
        let base = if self.base > 0.0 { self.base } else { timeout };
        let n = f64::from(attempts.max(1));
        let raw = match self.kind {
            BackoffKind::Linear => base * n,
            BackoffKind::Exponential => base * 2f64.powf(n - 1.0),
        };
        let capped = raw.min(self.max);
        (capped * (1.0 + self.jitter * (2.0 * unit - 1.0))).max(0.0)
    }
}

/// One worker's settings (`task_config.labourers.<id>`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LabourerConfig {
    /// The function to invoke (Lambda); absent for local workers.
    #[serde(default)]
    pub arn: Option<String>,
    /// Most tasks running at once, before the health coefficient.
    #[serde(default = "one")]
    pub max_simultaneous_invocations: u32,
    /// The worker's real timeout in seconds (a Lambda's is read from the function when absent).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Attempts before a task is dead (default `task_config.max_attempts`).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Health metrics; the worker's health is the worst of them.
    #[serde(default)]
    pub health_metrics: Vec<Metric>,
}

fn one() -> u32 {
    1
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsConfig {
    /// The gap between new tasks' greenfields.
    pub task_step: f64,
    /// Added to the invocation time to mark a task invoked.
    pub invocation_delta: f64,
    /// Attempts before a task is dead.
    pub max_attempts: u32,
    /// Added to a worker's timeout before its task counts as expired.
    pub expiry_margin: f64,
    /// Retry rows requeued per run and worker.
    pub retry_tasks_limit: usize,
    /// Closed tasks read for the average duration.
    pub closed_for_duration: usize,
    /// Retry delays.
    pub backoff: Backoff,
    /// The workers.
    pub labourers: BTreeMap<String, LabourerConfig>,
    /// Health status (0–4) → share of `max_simultaneous_invocations`.
    pub coefficients: [f64; 5],
    /// Task rows the scheduler writes per batch.
    pub rows_to_process: usize,
    /// The scheduler stops this many seconds before its time budget ends and continues later.
    pub shutdown_period: f64,
    /// Chunkable attributes per job schema.
    pub schemas: BTreeMap<String, Vec<String>>,
    /// The merged JSON, as `jobs config get` shows it.
    pub raw: Value,
}

fn invalid(key: &str, message: impl std::fmt::Display) -> TaskError {
    TaskError::new(
        TaskErrorKind::Invalid,
        format!("jobs config: {key}: {message}; fix it with `stratus jobs config set {key} VALUE`"),
    )
}

impl JobsConfig {
    /// Checks merged config JSON.
    pub fn from_value(raw: Value) -> TaskResult<Self> {
        let at = |path: &str| -> Value {
            path.split('.')
                .try_fold(&raw, |v, k| v.get(k))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let number = |path: &str, min: f64| -> TaskResult<f64> {
            match at(path).as_f64() {
                Some(n) if n.is_finite() && n >= min => Ok(n),
                _ => Err(invalid(
                    path,
                    format!("expected a number of at least {min}"),
                )),
            }
        };
        let count = |path: &str, min: u64| -> TaskResult<u64> {
            match at(path).as_u64() {
                Some(n) if n >= min => Ok(n),
                _ => Err(invalid(
                    path,
                    format!("expected a whole number of at least {min}"),
                )),
            }
        };
        let backoff: Backoff = serde_json::from_value(at("task_config.backoff"))
            .map_err(|e| invalid("task_config.backoff", e))?;
        let sensible = backoff.base >= 0.0
            && backoff.base.is_finite()
            && backoff.max > 0.0
            && backoff.max.is_finite()
            && (0.0..=1.0).contains(&backoff.jitter);
        if !sensible {
            return Err(invalid(
                "task_config.backoff",
                "base must be ≥ 0, max > 0 and jitter within 0–1",
            ));
        }
        let mut labourers = BTreeMap::new();
        match at("task_config.labourers") {
            Value::Object(map) => {
                for (id, value) in map {
                    let key = format!("task_config.labourers.{id}");
                    let labourer: LabourerConfig =
                        serde_json::from_value(value).map_err(|e| invalid(&key, e))?;
                    if let Some(t) = labourer.timeout
                        && !(t.is_finite() && t > 0.0)
                    {
                        return Err(invalid(&format!("{key}.timeout"), "expected seconds > 0"));
                    }
                    for (i, metric) in labourer.health_metrics.iter().enumerate() {
                        metric
                            .check()
                            .map_err(|m| invalid(&format!("{key}.health_metrics.{i}"), m))?;
                    }
                    labourers.insert(id, labourer);
                }
            }
            _ => {
                return Err(invalid(
                    "task_config.labourers",
                    "expected a table of workers",
                ));
            }
        }
        let mut coefficients = [0.0; 5];
        for (status, slot) in coefficients.iter_mut().enumerate() {
            let key = format!("ecology_config.invocation_number_coefficient.{status}");
            let value = number(&key, 0.0)?;
            if value > 1.0 {
                return Err(invalid(&key, "expected a share between 0 and 1"));
            }
            *slot = value;
        }
        let mut schemas = BTreeMap::new();
        if let Value::Object(variants) = at("scheduler_config.job_schema_variants") {
            for (name, variant) in variants {
                let key = format!("scheduler_config.job_schema_variants.{name}.chunkable_attrs");
                let attrs = variant
                    .get("chunkable_attrs")
                    .and_then(Value::as_array)
                    .ok_or_else(|| invalid(&key, "expected a list of [attribute, {}] pairs"))?;
                let mut names = Vec::new();
                for attr in attrs {
                    let name = attr
                        .get(0)
                        .and_then(Value::as_str)
                        .or_else(|| attr.as_str())
                        .ok_or_else(|| invalid(&key, "expected [attribute, {}] pairs"))?;
                    if name.is_empty() || name.ends_with('s') {
                        return Err(invalid(
                            &key,
                            format!(
                                "{name:?}: attribute names are singular (\"ticker\", not \"tickers\")"
                            ),
                        ));
                    }
                    names.push(name.to_string());
                }
                schemas.insert(name, names);
            }
        }
        Ok(JobsConfig {
            task_step: number("task_config.greenfield_task_step", 1.0)?,
            invocation_delta: number("task_config.greenfield_invocation_delta", 3600.0)?,
            max_attempts: u32::try_from(count("task_config.max_attempts", 1)?)
                .map_err(|e| invalid("task_config.max_attempts", e))?,
            expiry_margin: number("task_config.expiry_margin", 0.0)?,
            retry_tasks_limit: count("task_config.retry_tasks_limit", 1)? as usize,
            closed_for_duration: count("task_config.max_closed_to_analyse_for_duration", 0)?
                as usize,
            backoff,
            labourers,
            coefficients,
            rows_to_process: count("scheduler_config.rows_to_process", 1)? as usize,
            shutdown_period: number("scheduler_config.shutdown_period", 0.0)?,
            schemas,
            raw,
        })
    }

    /// A worker's settings (defaults for one not configured).
    pub fn labourer(&self, id: &str) -> LabourerConfig {
        self.labourers.get(id).cloned().unwrap_or(LabourerConfig {
            arn: None,
            max_simultaneous_invocations: 1,
            timeout: None,
            max_attempts: None,
            health_metrics: Vec::new(),
        })
    }
}

/// Reads the config row through a cache that expires after `ttl` seconds.
pub struct ConfigSource {
    store: Arc<dyn TaskStore>,
    clock: Arc<dyn Clock>,
    env: String,
    ttl: f64,
    /// Merged over the defaults, under the stored row (a deployment's worker functions).
    extra: Value,
    cached: Mutex<Option<(f64, Arc<JobsConfig>)>>,
}

impl ConfigSource {
    /// The row `stratus_jobs_config` of `env`, re-read at most every `ttl` seconds.
    pub fn new(store: Arc<dyn TaskStore>, clock: Arc<dyn Clock>, env: &str, ttl: f64) -> Self {
        ConfigSource {
            store,
            clock,
            env: env.to_string(),
            ttl,
            extra: Value::Object(Default::default()),
            cached: Mutex::new(None),
        }
    }

    /// With `extra` merged over the defaults and under the stored row.
    pub fn with_defaults(mut self, extra: Value) -> Self {
        self.extra = extra;
        self
    }

    fn base(&self) -> Value {
        let mut merged = defaults();
        recursive_update(&mut merged, &self.extra);
        merged
    }

    /// The current config: the cached one while fresh, else the row re-read and merged.
    pub async fn get(&self) -> TaskResult<Arc<JobsConfig>> {
        let now = self.clock.now();
        let mut cached = self.cached.lock().await;
        if let Some((read_at, config)) = cached.as_ref()
            && now - read_at < self.ttl
        {
            return Ok(config.clone());
        }
        let stored = self.row().await?;
        if !stored.is_object() {
            return Err(invalid(CONFIG_NAME, "the stored row is not a JSON object"));
        }
        let mut merged = self.base();
        recursive_update(&mut merged, &stored);
        let config = Arc::new(JobsConfig::from_value(merged)?);
        *cached = Some((now, config.clone()));
        Ok(config)
    }

    /// The stored row (not merged), as JSON.
    pub async fn row(&self) -> TaskResult<Value> {
        row(self.store.as_ref(), &self.env).await
    }

    /// Sets `key` (dotted path) in the stored row to `value`, checks the merged result, writes
    /// it, and drops the cached copy.
    pub async fn set(&self, key: &str, value: Value) -> TaskResult<Arc<JobsConfig>> {
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(invalid(
                key,
                "expected a dotted key such as task_config.max_attempts",
            ));
        }
        let mut stored = self.row().await?;
        let mut slot = &mut stored;
        for part in key.split('.') {
            if !slot.is_object() {
                *slot = Value::Object(Default::default());
            }
            slot = slot
                .as_object_mut()
                .map(|map| map.entry(part.to_string()).or_insert(Value::Null))
                .ok_or_else(|| invalid(key, "not an object"))?;
        }
        *slot = value;
        let mut merged = self.base();
        recursive_update(&mut merged, &stored);
        let config = Arc::new(JobsConfig::from_value(merged)?);
        self.store
            .config_put(&self.env, CONFIG_NAME, &stored.to_string())
            .await?;
        *self.cached.lock().await = Some((self.clock.now(), config.clone()));
        Ok(config)
    }
}

async fn row(store: &dyn TaskStore, env: &str) -> TaskResult<Value> {
    Ok(match store.config_get(env, CONFIG_NAME).await? {
        // sosw: a value that is not JSON is the raw string.
        Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        None => Value::Object(Default::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_deep_and_lists_are_unioned() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        recursive_update(
            &mut base,
            &json!({"a": {"c": [2, 3], "e": true}, "d": {"f": 1}}),
        );
        assert_eq!(
            base,
            json!({"a": {"b": 1, "c": [1, 2, 3], "e": true}, "d": {"f": 1}})
        );
    }

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        let config = JobsConfig::from_value(defaults()).unwrap();
        assert_eq!(config.max_attempts, 3);
        assert_eq!(config.coefficients, [0.0, 0.0, 0.5, 0.75, 1.0]);
        assert_eq!(config.schemas["default"], ["ticker"]);
        for (patch, key) in [
            (
                json!({"task_config": {"max_attempts": 0}}),
                "task_config.max_attempts",
            ),
            (
                json!({"task_config": {"backoff": {"jitter": 2}}}),
                "task_config.backoff",
            ),
            (
                json!({"task_config": {"backoff": {"kind": "random"}}}),
                "task_config.backoff",
            ),
            (
                json!({"ecology_config": {"invocation_number_coefficient": {"4": 1.5}}}),
                "invocation_number_coefficient.4",
            ),
            (
                json!({"task_config": {"labourers": {"w": {"timeout": -1}}}}),
                "labourers.w.timeout",
            ),
            (
                json!({"scheduler_config": {"job_schema_variants": {"x": {"chunkable_attrs": [["words", {}]]}}}}),
                "chunkable_attrs",
            ),
            (
                json!({"task_config": {"labourers": {"w": {"health_metrics": [{"details": {}, "feelings": {"3": 1}, "feeling_comparison_operator": "=~"}]}}}}),
                "labourers.w",
            ),
            (
                json!({"task_config": {"labourers": {"w": {"health_metrics": [{"details": {}, "feelings": {"3": 1, "4": 5}, "feeling_comparison_operator": "<"}]}}}}),
                "health_metrics.0",
            ),
        ] {
            let mut merged = defaults();
            recursive_update(&mut merged, &patch);
            let error = JobsConfig::from_value(merged).unwrap_err();
            assert!(error.message.contains(key), "{patch}: {error}");
        }
    }

    #[test]
    fn backoff_is_linear_or_exponential_capped_and_jittered() {
        let linear = Backoff {
            kind: BackoffKind::Linear,
            base: 0.0,
            max: 1e9,
            jitter: 0.0,
        };
        assert_eq!(linear.delay(3, 60.0, 0.5), 180.0);
        let exponential = Backoff {
            kind: BackoffKind::Exponential,
            base: 10.0,
            max: 50.0,
            jitter: 0.2,
        };
        assert_eq!(exponential.delay(1, 60.0, 0.5), 10.0);
        assert_eq!(exponential.delay(3, 60.0, 0.5), 40.0);
        assert_eq!(exponential.delay(9, 60.0, 0.5), 50.0);
        assert_eq!(exponential.delay(1, 60.0, 0.0), 8.0);
        assert!((exponential.delay(1, 60.0, 1.0) - 12.0).abs() < 1e-12);
    }
}
