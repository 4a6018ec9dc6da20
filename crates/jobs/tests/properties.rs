//! Properties of the pure parts: planning any job description never panics and either makes at
//! most `MAX_TASKS` tasks or names what is wrong; batches partition the values in order; config
//! merging is idempotent and any patch is either accepted or refused by key; a worker event reads
//! back what was sent; backoff delays stay within their bounds.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use stratus_jobs::config::{Backoff, BackoffKind, JobsConfig, defaults, recursive_update};
use stratus_jobs::model::Invocation;
use stratus_jobs::scheduler::{MAX_TASKS, plan};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e300f64..1e300).prop_map(|x| json!(x)),
        "[a-zA-Z0-9_ -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2024-02-29"),
            Just("2023-02-29"),
            Just("1900-01-01"),
            Just("9999-12-31"),
            Just("last_3_days"),
            Just("last_week"),
            Just("0_days_back"),
            Just("today")
        ]
        .prop_map(|s| json!(s)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn job() -> impl Strategy<Value = Map<String, Value>> {
    let key = prop_oneof![
        Just("tickers"),
        Just("ticker"),
        Just("isolate_tickers"),
        Just("max_tickers_per_batch"),
        Just("period"),
        Just("st_date"),
        Just("en_date"),
        Just("isolate_days"),
        Just("tasks"),
        Just("job_schema_name"),
        Just("verb"),
        Just("params"),
        Just("sources"),
        Just("isolate_sources"),
    ];
    prop::collection::vec((key, value()), 0..8)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn config() -> JobsConfig {
    JobsConfig::from_value(defaults()).unwrap()
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
}

proptest! {
    #[test]
    fn any_job_plans_or_names_its_fault(job in job()) {
        match plan(&job, &config(), today()) {
            Ok(tasks) => prop_assert!(tasks.len() <= MAX_TASKS),
            Err(e) => prop_assert!(e.0.len() > 10, "{e}"),
        }
    }

    #[test]
    fn batches_partition_the_values_in_order(values in prop::collection::vec("[A-Z]{1,5}", 1..40), size in 1usize..12) {
        let job: Map<String, Value> = json!({"tickers": values, "max_tickers_per_batch": size}).as_object().unwrap().clone();
        let tasks = plan(&job, &config(), today()).unwrap();
        let mut seen = Vec::new();
        for task in &tasks {
            let batch = task["tickers"].as_array().unwrap();
            prop_assert!(!batch.is_empty() && batch.len() <= size);
            seen.extend(batch.iter().map(|v| v.as_str().unwrap().to_string()));
        }
        prop_assert_eq!(tasks.len(), values.len().div_ceil(size));
        prop_assert_eq!(seen, values);
    }

    #[test]
    fn merging_a_value_into_itself_changes_nothing(v in value()) {
        let mut merged = v.clone();
        recursive_update(&mut merged, &v);
        prop_assert_eq!(merged, v);
    }

    #[test]
    fn any_config_patch_is_accepted_or_refused_by_key(patch in value()) {
        let mut raw = defaults();
        recursive_update(&mut raw, &json!({"task_config": patch}));
        if let Err(e) = JobsConfig::from_value(raw) {
            prop_assert!(e.message.contains("jobs config:"), "{}", e.message);
        }
    }

    #[test]
    fn a_worker_event_reads_back_what_was_sent(payload in prop::collection::btree_map("[a-z]{1,8}", value(), 0..5), attempt in 0u32..100, job in proptest::option::of("[a-z0-9]{1,8}")) {
        let mut payload: Map<String, Value> = payload.into_iter().collect();
        for reserved in ["task_id", "labourer_id", "attempt", "job_id"] {
            payload.remove(reserved);
        }
        let invocation = Invocation { task_id: "t_1".into(), labourer_id: "w".into(), job_id: job, attempt, payload };
        prop_assert_eq!(Invocation::from_event(&invocation.to_event()), Some(invocation));
    }

    #[test]
    fn any_event_is_read_or_refused_without_panic(event in value()) {
        let _ = Invocation::from_event(&event);
    }

    #[test]
    fn backoff_delays_stay_within_bounds(attempts in 0u32..10_000, timeout in 0.001f64..1e6, base in 0.0f64..1e6, max in 0.001f64..1e7, jitter in 0.0f64..=1.0, unit in 0.0f64..1.0, linear: bool) {
        let backoff = Backoff { kind: if linear { BackoffKind::Linear } else { BackoffKind::Exponential }, base, max, jitter };
        let delay = backoff.delay(attempts, timeout, unit);
        prop_assert!(delay.is_finite() && delay >= 0.0 && delay <= max * (1.0 + jitter) + 1e-9, "{delay}");
    }
}
