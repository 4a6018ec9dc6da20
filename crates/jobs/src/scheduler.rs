//! The scheduler: a job description → task payloads, by sosw 0.7's rules (`orchestration.md`
//! §5.1), and their creation in batches that stop before a time budget runs out.
//!
//! Planning is a pure function of the job, the config and "today", so a continuation re-plans the
//! same list and carries on from an index; task ids are `<job id>_<index>`, so re-running a batch
//! after a crash creates nothing twice. Beyond sosw: exact date ranges (`st_date`/`en_date`, sosw
//! #59), and a `tasks` list of explicit payloads (one task each, e.g. one per line of a file).

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Map, Value};

use crate::config::JobsConfig;

/// A job that cannot be planned, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid job: {0}")]
pub struct JobError(pub String);

/// sosw's fixed cap on the values of one batch.
const MAX_BATCH: usize = 1_000_000;

/// The most tasks one job may make (a typo such as `isolate_days` over a 100-year range should
/// be an error, not 36 500 tasks per ticker).
pub const MAX_TASKS: usize = 1_000_000;

fn plural(attr: &str) -> String {
    format!("{attr}s")
}

/// The dates a `period` pattern names, relative to `today`.
pub fn period_dates(period: &str, today: NaiveDate) -> Result<Vec<NaiveDate>, JobError> {
    let days = |n: i64| today - Duration::days(n);
    let number = |text: &str| -> Option<i64> {
        text.parse::<i64>()
            .ok()
            .filter(|n| (1..=36_600).contains(n))
    };
    let parts: Vec<&str> = period.split('_').collect();
    let dates = match parts.as_slice() {
        ["today"] => vec![today],
        ["yesterday"] => vec![days(1)],
        ["last", "week"] => {
            let sunday = days(i64::from(today.weekday().num_days_from_monday()) + 8);
            (0..7).map(|i| sunday + Duration::days(i)).collect()
        }
        ["last", n, "days"] if number(n).is_some() => {
            let n = number(n).unwrap_or(1);
            (1..=n).rev().map(days).collect()
        }
        ["previous", n, "days"] if number(n).is_some() => {
            let n = number(n).unwrap_or(1);
            let end = days(n);
            (1..=n).rev().map(|x| end - Duration::days(x)).collect()
        }
        [n, "days", "back"] if number(n).is_some() => vec![days(number(n).unwrap_or(1))],
        _ => {
            return Err(JobError(format!(
                "unsupported period {period:?}; use last_X_days, X_days_back, yesterday, today, previous_X_days, last_week, or st_date and en_date (X from 1 to 36600)"
            )));
        }
    };
    Ok(dates)
}

fn date_field(job: &Map<String, Value>, key: &str) -> Result<Option<NaiveDate>, JobError> {
    match job.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| JobError(format!("{key} {s:?} is not a date; use YYYY-MM-DD"))),
        Some(other) => Err(JobError(format!(
            "{key} must be a YYYY-MM-DD date, not {other}"
        ))),
    }
}

/// sosw's `chunk_dates`, plus exact ranges: `period` or `st_date`/`en_date` (inclusive) become
/// `date_list`; with `isolate_days` one task per date.
fn chunk_dates(
    mut job: Map<String, Value>,
    today: NaiveDate,
) -> Result<Vec<Map<String, Value>>, JobError> {
    let period = job.remove("period");
    let isolate = job.remove("isolate_days").is_some_and(|v| truthy(&v));
    let start = date_field(&job, "st_date")?;
    let end = date_field(&job, "en_date")?;
    let dates = match (period, start, end) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(JobError(
                "give either period or st_date/en_date, not both".into(),
            ));
        }
        (Some(Value::String(p)), None, None) => period_dates(&p, today)?,
        (Some(other), None, None) => {
            return Err(JobError(format!(
                "period must be text such as \"last_7_days\", not {other}"
            )));
        }
        (None, Some(s), Some(e)) => {
            job.remove("st_date");
            job.remove("en_date");
            if e < s {
                return Err(JobError(format!("en_date {e} is before st_date {s}")));
            }
            let span = (e - s).num_days();
            if span >= 36_600 {
                return Err(JobError(format!(
                    "st_date {s} to en_date {e} spans more than 100 years"
                )));
            }
            (0..=span).map(|d| s + Duration::days(d)).collect()
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(JobError(
                "st_date and en_date go together; give both".into(),
            ));
        }
        (None, None, None) => return Ok(vec![job]),
    };
    let as_value = |d: &NaiveDate| Value::String(d.to_string());
    Ok(if isolate {
        dates
            .iter()
            .map(|d| {
                let mut task = job.clone();
                task.insert("date_list".into(), Value::Array(vec![as_value(d)]));
                task
            })
            .collect()
    } else {
        job.insert(
            "date_list".into(),
            Value::Array(dates.iter().map(as_value).collect()),
        );
        vec![job]
    })
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(true) => true,
    }
}

/// sosw's `get_list_of_multiple_or_one_or_empty_from_dict`.
fn values_of(job: &Map<String, Value>, key: &str) -> Vec<Value> {
    match job.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

/// sosw's `validate_list_of_vals`: flat strings and numbers, or a dict whose values are all
/// null (its keys).
fn flat_values(values: &[Value], attr: &str) -> Result<Vec<Value>, JobError> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::String(_) | Value::Number(_) => out.push(value.clone()),
            Value::Object(map) if map.values().all(Value::is_null) => {
                out.extend(map.keys().map(|k| Value::String(k.clone())));
            }
            _ => {
                return Err(JobError(format!(
                    "{attr}: {value} has embedded data; give a flat list, or add isolate_{} to chunk it",
                    plural(attr)
                )));
            }
        }
    }
    Ok(out)
}

struct Chunker<'a> {
    attrs: &'a [String],
}

impl Chunker<'_> {
    fn next(&self, level: usize) -> Option<usize> {
        (level + 1 < self.attrs.len()).then_some(level + 1)
    }

    fn isolation_flags(data: &Map<String, Value>) -> Map<String, Value> {
        data.iter()
            .filter(|(k, _)| {
                k.starts_with("isolate_") || (k.starts_with("max_") && k.ends_with("_per_batch"))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// sosw's `needs_chunking`: an isolate or batch-size flag for this level here, or for a
    /// lower level inside a sub-job.
    fn needs_chunking(&self, level: usize, data: &Map<String, Value>) -> bool {
        let attr = &self.attrs[level];
        let flags = [
            format!("isolate_{attr}"),
            format!("isolate_{}", plural(attr)),
            format!("max_{attr}_per_batch"),
            format!("max_{}_per_batch", plural(attr)),
        ];
        if flags.iter().any(|f| data.get(f).is_some_and(truthy)) {
            return true;
        }
        let Some(next) = self.next(level) else {
            return false;
        };
        let root = Self::isolation_flags(data);
        for key in [attr.clone(), plural(attr)] {
            for value in values_of(data, &key) {
                if let Value::Object(map) = value {
                    for sub in map.values() {
                        if let Value::Object(sub) = sub {
                            let mut merged = sub.clone();
                            merged.extend(root.clone());
                            if self.needs_chunking(next, &merged) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    fn chunk(
        &self,
        job: Map<String, Value>,
        skeleton: &Map<String, Value>,
        level: usize,
        out: &mut Vec<Map<String, Value>>,
    ) -> Result<(), JobError> {
        let Some(attr) = self.attrs.get(level) else {
            let mut task = job;
            task.extend(skeleton.clone());
            out.push(task);
            return Ok(());
        };
        let batch_key = format!("max_{}_per_batch", plural(attr));
        let given = job
            .get(&batch_key)
            .or_else(|| skeleton.get(&batch_key))
            .map(|v| {
                v.as_u64()
                    .filter(|n| *n >= 1)
                    .map(|n| n as usize)
                    .ok_or_else(|| {
                        JobError(format!("{batch_key} must be a whole number ≥ 1, not {v}"))
                    })
            })
            .transpose()?;
        let mut merged = job.clone();
        merged.extend(skeleton.clone());
        let push = |vals: Vec<Value>,
                    skeleton: &Map<String, Value>,
                    size: usize,
                    out: &mut Vec<Map<String, Value>>| {
            for batch in vals.chunks(size.max(1)) {
                let mut task = skeleton.clone();
                task.insert(plural(attr), Value::Array(batch.to_vec()));
                out.push(task);
            }
        };
        if self.needs_chunking(level, &merged) {
            let size = given.unwrap_or(1);
            for key in [attr.clone(), plural(attr)] {
                let current = values_of(&job, &key);
                if current.is_empty() {
                    continue;
                }
                let mut task_skeleton = skeleton.clone();
                task_skeleton.extend(
                    job.iter()
                        .filter(|(k, _)| **k != key)
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                if current.iter().all(Value::is_object) {
                    for value in current {
                        let Value::Object(map) = value else { continue };
                        if map.values().all(Value::is_null) {
                            push(
                                map.keys().map(|k| Value::String(k.clone())).collect(),
                                &task_skeleton,
                                size,
                                out,
                            );
                            continue;
                        }
                        for (name, sub) in map {
                            let mut task = task_skeleton.clone();
                            task.insert(
                                plural(attr),
                                Value::Array(vec![Value::String(name.clone())]),
                            );
                            match sub {
                                Value::Object(sub) => match self.next(level) {
                                    Some(next) => self.chunk(sub, &task, next, out)?,
                                    None => {
                                        task.extend(sub);
                                        out.push(task);
                                    }
                                },
                                Value::Null => out.push(task),
                                other => {
                                    return Err(JobError(format!(
                                        "{key}.{name}: expected a sub-job (a table) or nothing, not {other}"
                                    )));
                                }
                            }
                        }
                    }
                } else {
                    push(flat_values(&current, attr)?, &task_skeleton, size, out);
                }
            }
            if out.len() > MAX_TASKS {
                return Err(JobError(format!(
                    "the job makes more than {MAX_TASKS} tasks"
                )));
            }
            return Ok(());
        }
        // Not chunked at this level: flat values pass through as one batch; anything else is
        // left as it is.
        let mut rest = job;
        for key in [attr.clone(), plural(attr)] {
            if let Some(value) = rest.remove(&key) {
                if truthy(&value)
                    && let Ok(vals) = flat_values(
                        &values_of(&Map::from_iter([(key.clone(), value.clone())]), &key),
                        attr,
                    )
                {
                    let mut task_skeleton = skeleton.clone();
                    task_skeleton.extend(rest);
                    push(vals, &task_skeleton, MAX_BATCH, out);
                    return Ok(());
                }
                rest.insert(key, value);
                break;
            }
        }
        let mut task = skeleton.clone();
        task.extend(rest);
        out.push(task);
        Ok(())
    }
}

/// The task payloads of a job: explicit `tasks` (each merged over the rest of the job), or
/// sosw's chunking (dates first, then the schema's attributes; the schema is the job's
/// `job_schema_name`, else `default`).
pub fn plan(
    job: &Map<String, Value>,
    config: &JobsConfig,
    today: NaiveDate,
) -> Result<Vec<Map<String, Value>>, JobError> {
    let mut job = job.clone();
    if let Some(tasks) = job.remove("tasks") {
        let Value::Array(tasks) = tasks else {
            return Err(JobError(
                "tasks must be a list of tables, one per task".into(),
            ));
        };
        if tasks.len() > MAX_TASKS {
            return Err(JobError(format!("more than {MAX_TASKS} tasks")));
        }
        return tasks
            .into_iter()
            .enumerate()
            .map(|(i, task)| match task {
                Value::Object(own) => {
                    let mut merged = job.clone();
                    merged.extend(own);
                    Ok(merged)
                }
                other => Err(JobError(format!("tasks[{i}] must be a table, not {other}"))),
            })
            .collect();
    }
    let schema = match job.get("job_schema_name") {
        None => "default".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(JobError(format!(
                "job_schema_name must be text, not {other}"
            )));
        }
    };
    let attrs = config.schemas.get(&schema).ok_or_else(|| {
        JobError(format!(
            "unknown job_schema_name {schema:?}; known: {}",
            config
                .schemas
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let chunker = Chunker { attrs };
    let mut out = Vec::new();
    for dated in chunk_dates(job, today)? {
        chunker.chunk(dated, &Map::new(), 0, &mut out)?;
        if out.len() > MAX_TASKS {
            return Err(JobError(format!(
                "the job makes more than {MAX_TASKS} tasks"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(attrs: &[&str]) -> JobsConfig {
        let mut raw = crate::config::defaults();
        crate::config::recursive_update(
            &mut raw,
            // A variant of its own: lists merge by union, so patching `default` would append.
            &json!({"scheduler_config": {"job_schema_variants": {"test": {"chunkable_attrs": attrs.iter().map(|a| json!([a, {}])).collect::<Vec<_>>()}}}}),
        );
        JobsConfig::from_value(raw).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn obj(v: Value) -> Map<String, Value> {
        let mut map = v.as_object().unwrap().clone();
        map.entry("job_schema_name").or_insert(json!("test"));
        map
    }

    #[test]
    fn periods_match_sosw() {
        let today = day("2019-04-30"); // a Tuesday
        let s = |p: &str| -> Vec<String> {
            period_dates(p, today)
                .unwrap()
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        assert_eq!(s("last_2_days"), ["2019-04-28", "2019-04-29"]);
        assert_eq!(s("previous_2_days"), ["2019-04-26", "2019-04-27"]);
        assert_eq!(s("7_days_back"), ["2019-04-23"]);
        assert_eq!(s("yesterday"), ["2019-04-29"]);
        assert_eq!(s("today"), ["2019-04-30"]);
        assert_eq!(s("last_week")[0], "2019-04-21");
        assert_eq!(s("last_week")[6], "2019-04-27");
        for bad in [
            "last_days",
            "last_0_days",
            "tomorrow",
            "last_x_days",
            "9999999_days_back",
        ] {
            assert!(period_dates(bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tutorial_job_makes_36_tasks() {
        // sosw_tutorial_pull_tweeter_hashtags: 3 topics × 6 words, isolate_words, last_2_days.
        let words =
            |w: &[&str]| Value::Object(w.iter().map(|w| (w.to_string(), Value::Null)).collect());
        let job = obj(json!({
            "lambda_name": "worker",
            "topics": {
                "cars": {"words": words(&["toyota", "mazda", "nissan", "racing", "automobile", "car"])},
                "food": {"words": words(&["recipe", "cooking", "eating", "food", "meal", "tasty"])},
                "shows": {"words": words(&["opera", "cinema", "movie", "concert", "show", "musical"])}
            },
            "isolate_words": true,
            "period": "last_2_days",
            "isolate_days": true
        }));
        let tasks = plan(&job, &config(&["topic", "word"]), day("2019-04-30")).unwrap();
        assert_eq!(tasks.len(), 36);
        let first = &tasks[0];
        assert_eq!(first["topics"], json!(["cars"]));
        assert_eq!(first["words"], json!(["toyota"]));
        assert_eq!(first["date_list"], json!(["2019-04-28"]));
        assert_eq!(first["lambda_name"], "worker");
    }

    #[test]
    fn batches_exact_ranges_and_explicit_tasks() {
        let job = obj(json!({"tickers": ["A", "B", "C", "D", "E"], "max_tickers_per_batch": 2}));
        let tasks = plan(&job, &config(&["ticker"]), day("2024-01-10")).unwrap();
        let batches: Vec<&Value> = tasks.iter().map(|t| &t["tickers"]).collect();
        assert_eq!(
            batches,
            [&json!(["A", "B"]), &json!(["C", "D"]), &json!(["E"])]
        );
        let unflagged = obj(json!({"tickers": ["A", "B"], "verb": "x"}));
        assert_eq!(
            plan(&unflagged, &config(&["ticker"]), day("2024-01-10"))
                .unwrap()
                .len(),
            1
        );
        let ranged =
            obj(json!({"st_date": "2024-02-27", "en_date": "2024-03-01", "isolate_days": true}));
        let tasks = plan(&ranged, &config(&["ticker"]), day("2024-01-10")).unwrap();
        assert_eq!(tasks.len(), 4); // 2024 is a leap year
        assert_eq!(tasks[2]["date_list"], json!(["2024-02-29"]));
        let explicit =
            obj(json!({"verb": "v", "tasks": [{"tickers": ["A"]}, {"tickers": ["B", "C"]}]}));
        let tasks = plan(&explicit, &config(&["ticker"]), day("2024-01-10")).unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[1]["verb"], "v");
        for bad in [
            json!({"st_date": "2024-03-01", "en_date": "2024-02-01"}),
            json!({"st_date": "2024-03-01"}),
            json!({"period": "today", "st_date": "2024-03-01", "en_date": "2024-03-02"}),
            json!({"tickers": ["A"], "max_tickers_per_batch": 0}),
            json!({"tickers": [["A"]], "isolate_tickers": true}),
            json!({"tasks": [1]}),
            json!({"job_schema_name": "nope"}),
            json!({"job_schema_name": 3}),
        ] {
            assert!(
                plan(&obj(bad.clone()), &config(&["ticker"]), day("2024-01-10")).is_err(),
                "{bad}"
            );
        }
    }
}
