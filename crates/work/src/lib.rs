//! What a task of a job does. A task's payload names its work:
//!
//! - `work = "verb"` (the default): one call of a served analytics verb — `verb`, its `params`
//!   (as the HTTP API takes them), plus the task's chunked `tickers` and `date_list` (one date:
//!   `end`; several: `start` and `end`). The result is the verb's JSON, byte for byte what
//!   `stratus <verb> --json` prints; the verb writes the cache as it always does, and with
//!   `export = URL` the result is also written to `<URL>/<job>/<task>.json`.
//! - `work = "ingest"`: one source (or one symbol of a source) of an ingest config, whose text
//!   travels in the payload (`ingest_config`), exported under `<destination>/<job>/<task>/`.
//! - `work = "noop"`: nothing (`sleep_ms` optional) — for benchmarks and fault tests.
//!
//! Later work types (backtests) are new `work` names here. A job is checked whole when it is
//! submitted ([`check_job`]): every task's verb call is parsed with the CLI's own argument
//! declarations, so a typo fails the submission, not ten thousand tasks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use stratus_analytics::{Analytics, ErrorClass};
use stratus_app::settings::LiveSettings;
use stratus_ingest::{Destination, IngestConfig, IngestOptions};
use stratus_jobs::model::Invocation;
use stratus_jobs::pool::{Done, Failure, Work};
use stratus_jobs::scheduler::JobError;

/// The kinds of work.
pub const KINDS: [&str; 3] = ["verb", "ingest", "noop"];

/// An environment lookup (secrets overlaid in Lambda).
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Performs tasks with the analytics services.
pub struct Worker {
    analytics: Analytics,
    live: LiveSettings,
    env: Env,
}

impl Worker {
    /// A worker over `analytics`, with the live settings an ingest task needs.
    pub fn new(analytics: Analytics, live: LiveSettings, env: Env) -> Self {
        Worker {
            analytics,
            live,
            env,
        }
    }
}

fn permanent(message: String) -> Failure {
    Failure {
        message,
        retryable: false,
    }
}

fn failure(class: ErrorClass, message: String) -> Failure {
    Failure {
        message,
        retryable: !matches!(
            class,
            ErrorClass::UserInput | ErrorClass::NotFound | ErrorClass::Unsupported
        ),
    }
}

fn kind_of(payload: &Map<String, Value>) -> Result<&str, String> {
    match payload.get("work") {
        None => Ok("verb"),
        Some(Value::String(kind)) if KINDS.contains(&kind.as_str()) => Ok(kind),
        Some(other) => Err(format!(
            "unknown work {other}; use one of {}",
            KINDS.join(", ")
        )),
    }
}

/// The verb and the parameters of a verb task.
pub fn verb_call(payload: &Map<String, Value>) -> Result<(String, Map<String, Value>), String> {
    let verb = match payload.get("verb") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => return Err(format!("verb must be a verb's name, not {other}")),
        None => return Err("a verb task needs verb = \"<name>\" (e.g. risk-profile)".into()),
    };
    let mut params = match payload.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(other) => {
            return Err(format!(
                "params must be a table of the verb's options, not {other}"
            ));
        }
    };
    if let Some(tickers) = payload.get("tickers") {
        params.insert("tickers".into(), tickers.clone());
    }
    if let Some(Value::Array(dates)) = payload.get("date_list") {
        match dates.as_slice() {
            [] => {}
            [one] => {
                params.insert("end".into(), one.clone());
            }
            [first, .., last] => {
                params.insert("start".into(), first.clone());
                params.insert("end".into(), last.clone());
            }
        }
    }
    Ok((verb, params))
}

/// Checks every planned task of a job: known work, and for verb tasks a call the verb accepts.
/// The error names the task (by position) and the parameter.
pub fn check_job(payloads: &[Map<String, Value>]) -> Result<(), JobError> {
    let mut seen = BTreeSet::new();
    for (i, payload) in payloads.iter().enumerate() {
        let at = |m: String| JobError(format!("task {i}: {m}"));
        match kind_of(payload).map_err(at)? {
            "verb" => {
                let (verb, params) = verb_call(payload).map_err(at)?;
                // Identical calls parse identically: check each distinct one once.
                let key = format!("{verb}{}", Value::Object(params.clone()));
                if seen.insert(key) {
                    stratus_verbs::request::command_from_json(&verb, &Value::Object(params))
                        .map_err(|e| at(e.to_string()))?;
                }
            }
            "ingest" => {
                ingest_config(payload).map_err(at)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The ingest config of an ingest task, narrowed to its `sources` and `symbols`.
fn ingest_config(payload: &Map<String, Value>) -> Result<IngestConfig, String> {
    let text = payload
        .get("ingest_config")
        .and_then(Value::as_str)
        .ok_or("an ingest task needs ingest_config: the text of an ingest.toml")?;
    let mut config =
        IngestConfig::parse("the job's ingest_config", text).map_err(|e| e.to_string())?;
    let names = |key: &str| -> Option<Vec<String>> {
        payload.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    if let Some(sources) = names("sources") {
        let unknown: Vec<&String> = sources
            .iter()
            .filter(|s| !config.sources.iter().any(|c| &c.name == *s))
            .collect();
        if !unknown.is_empty() {
            return Err(format!("no source named {unknown:?} in the ingest config"));
        }
        config.sources.retain(|s| sources.contains(&s.name));
    }
    if let Some(symbols) = names("symbols") {
        for source in &mut config.sources {
            source.symbols.retain(|s| symbols.contains(s));
        }
    }
    Ok(config)
}

impl Worker {
    async fn verb(&self, payload: &Map<String, Value>) -> Result<Value, Failure> {
        let (verb, params) = verb_call(payload).map_err(permanent)?;
        let command = stratus_verbs::request::command_from_json(&verb, &Value::Object(params))
            .map_err(|e| failure(e.class(), e.to_string()))?;
        let output = stratus_verbs::commands::run_verb(
            &command,
            &self.analytics,
            stratus_charts::Format::Svg,
        )
        .await
        .map_err(|e| failure(e.class(), e.to_string()))?;
        Ok(output.json)
    }

    async fn ingest(&self, invocation: &Invocation) -> Result<Value, Failure> {
        let config = ingest_config(&invocation.payload).map_err(permanent)?;
        let env = |name: &str| (self.env)(name);
        let job = invocation.job_id.as_deref().unwrap_or("job");
        let url = format!(
            "{}/{job}/{}",
            config.destination.trim_end_matches('/'),
            invocation.task_id
        );
        let destination = Destination::open(&url, &env).map_err(|e| permanent(e.to_string()))?;
        let options = IngestOptions {
            run_date: self.analytics.today(),
            force: true,
            full: invocation
                .payload
                .get("full")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let report = stratus_ingest::ingest(
            &self.analytics,
            &self.live,
            &config,
            &destination,
            &options,
            &|_| {},
        )
        .await
        .map_err(|e| failure(e.class(), e.to_string()))?;
        let value = serde_json::to_value(&report).unwrap_or(Value::Null);
        if report.any_failed() {
            return Err(Failure {
                message: format!("ingest to {url}: a source failed ({value})"),
                retryable: true,
            });
        }
        Ok(value)
    }

    async fn export(&self, invocation: &Invocation, result: &Value) -> Result<(), Failure> {
        let Some(url) = invocation.payload.get("export") else {
            return Ok(());
        };
        let url = url
            .as_str()
            .ok_or_else(|| permanent(format!("export must be a folder or s3:// URL, not {url}")))?;
        let env = |name: &str| (self.env)(name);
        let destination = Destination::open(url, &env).map_err(|e| permanent(e.to_string()))?;
        let job = invocation.job_id.as_deref().unwrap_or("job");
        let body = serde_json::to_vec_pretty(result).unwrap_or_default();
        destination
            .put(&format!("{job}/{}.json", invocation.task_id), body, true)
            .await
            .map_err(|e| Failure {
                message: e.to_string(),
                retryable: true,
            })?;
        Ok(())
    }
}

#[async_trait]
impl Work for Worker {
    async fn perform(&self, invocation: &Invocation) -> Result<Done, Failure> {
        let started = std::time::Instant::now();
        let payload = &invocation.payload;
        let result = match kind_of(payload).map_err(permanent)? {
            "noop" => {
                if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
                    tokio::time::sleep(Duration::from_millis(ms.min(900_000))).await;
                }
                json!({"noop": true})
            }
            "ingest" => self.ingest(invocation).await?,
            _ => self.verb(payload).await?,
        };
        self.export(invocation, &result).await?;
        Ok(Done {
            result: Some(result),
            stats: vec![(
                "duration_ms".into(),
                started.elapsed().as_secs_f64() * 1000.0,
            )],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn chunked_fields_become_verb_parameters() {
        let (verb, params) = verb_call(&obj(json!({
            "verb": "risk-profile", "params": {"method": "percentiles"},
            "tickers": ["AAPL"], "date_list": ["2024-01-02", "2024-03-28"]
        })))
        .unwrap();
        assert_eq!(verb, "risk-profile");
        assert_eq!(
            Value::Object(params),
            json!({"method": "percentiles", "tickers": ["AAPL"], "start": "2024-01-02", "end": "2024-03-28"})
        );
        let (_, one) = verb_call(&obj(json!({"verb": "x", "date_list": ["2024-01-02"]}))).unwrap();
        assert_eq!(Value::Object(one), json!({"end": "2024-01-02"}));
    }

    #[test]
    fn a_job_is_checked_whole_naming_the_task_and_parameter() {
        let good = obj(json!({"verb": "risk-profile", "tickers": ["AAPL"]}));
        check_job(&[good.clone(), good.clone()]).unwrap();
        for (bad, expected) in [
            (
                json!({"verb": "risk-profile", "tickers": ["AAPL"], "params": {"methd": "x"}}),
                "methd",
            ),
            (json!({"verb": "no-such-verb"}), "no-such-verb"),
            (json!({"tickers": ["AAPL"]}), "needs verb"),
            (json!({"work": "dance"}), "unknown work"),
            (json!({"work": "ingest"}), "ingest_config"),
            (json!({"verb": "risk-profile", "params": [1]}), "params"),
        ] {
            let error = check_job(&[good.clone(), obj(bad.clone())]).unwrap_err();
            assert!(
                error.0.starts_with("task 1: ") && error.0.contains(expected),
                "{bad}: {error}"
            );
        }
    }
}
