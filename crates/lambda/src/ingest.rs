//! Ingest mode (`STRATUS_FUNCTION=ingest`): each event carries one ingest config (the text of an
//! `ingest.toml`, as a deployed schedule sends it) and runs it exactly as `stratus ingest` does,
//! exporting to the deployment's bucket (`STRATUS_EXPORT_URL`). A run in which some source
//! failed is a Lambda error (`SourcesFailed`), so the retry policy, the dead-letter queue and the
//! error alarm see it; the exports and report of the sources that worked are written first.

use serde_json::{Map, Value};
use stratus_analytics::{Analytics, ErrorClass};
use stratus_app::settings::LiveSettings;
use stratus_ingest::{Destination, IngestConfig, IngestOptions, ingest};

use crate::FunctionError;

fn bad(message: String) -> FunctionError {
    FunctionError {
        kind: ErrorClass::UserInput.lambda_error_type(),
        message,
    }
}

/// Runs the ingest config of one event.
pub(crate) async fn run(
    analytics: &Analytics,
    live: &LiveSettings,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    params: &Map<String, Value>,
) -> Result<Value, FunctionError> {
    let text = params.get("config").and_then(Value::as_str).ok_or_else(|| {
        bad("an ingest event needs \"config\": the text of an ingest.toml (see ingest.example.toml)".into())
    })?;
    let flag = |name: &str| -> Result<bool, FunctionError> {
        match params.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(bad(format!(
                "\"{name}\" must be true or false, not {other}"
            ))),
        }
    };
    let (full, force) = (flag("full")?, flag("force")?);
    let config = IngestConfig::parse("event config", text).map_err(|e| bad(e.to_string()))?;
    let url = stratus_app::vars::lookup(env, "STRATUS_EXPORT_URL")
        .map(|(_, v)| v)
        .unwrap_or_else(|| config.destination.clone());
    let destination = Destination::open(&url, env).map_err(|e| bad(e.to_string()))?;
    let options = IngestOptions {
        run_date: analytics.today(),
        force,
        full,
    };
    let report = ingest(analytics, live, &config, &destination, &options, &|_| {})
        .await
        .map_err(|e| FunctionError {
            kind: e.class().lambda_error_type(),
            message: e.to_string(),
        })?;
    let value = serde_json::to_value(&report).unwrap_or(Value::Null);
    if report.any_failed() {
        let failed: Vec<String> = report
            .sources
            .iter()
            .filter(|s| s.status.failed())
            .map(|s| format!("{} ({})", s.name, s.status.label()))
            .collect();
        return Err(FunctionError {
            kind: "SourcesFailed",
            message: format!(
                "ingest to {url}: {} failed (the other sources' exports and the run report are written there)",
                failed.join(", ")
            ),
        });
    }
    Ok(value)
}
