//! `stratus --remote URL <verb> …` and `stratus connect URL`: the command line against a deployed
//! API, so a laptop checks and uses a deployment with the commands it already knows.
//!
//! The verb's own arguments (never the global ones: files, folders, stores) are sent as the JSON
//! body of `POST /api/<verb>` under the names the API takes — the same clap declarations parse
//! them on both sides. The server renders the answer as the CLI would (`Accept: text/plain`, or
//! the JSON with `--json`), so the output is byte for byte the local one, and an error answer
//! becomes the same one-line message and exit code as the local error.

use std::io::Write;

use clap::CommandFactory;
use clap::parser::ValueSource;
use serde_json::{Map, Value, json};
use stratus_analytics::ErrorClass;

use crate::args::{Cli, Command};

/// A remote failure: what the server (or the network) said, classified like a local one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct RemoteError {
    pub(crate) class: ErrorClass,
    message: String,
}

impl RemoteError {
    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        RemoteError {
            class,
            message: message.into(),
        }
    }
}

/// The class of an error answer's status (the inverse of [`ErrorClass::http_status`]).
fn class_of_status(status: u16) -> ErrorClass {
    match status {
        404 => ErrorClass::NotFound,
        501 => ErrorClass::Unsupported,
        400..=499 => ErrorClass::UserInput,
        502 => ErrorClass::Upstream,
        504 => ErrorClass::UpstreamTimeout,
        503 => ErrorClass::Unavailable,
        _ => ErrorClass::Internal,
    }
}

/// `base` without a trailing slash; refused unless it is http(s).
fn base_url(base: &str) -> Result<String, RemoteError> {
    let trimmed = base.trim().trim_end_matches('/');
    match url_scheme(trimmed) {
        Some("http" | "https") => Ok(trimmed.to_string()),
        _ => Err(RemoteError::new(
            ErrorClass::UserInput,
            format!(
                "--remote {base:?} is not an http(s) URL; use e.g. https://abc.lambda-url.us-east-1.on.aws/"
            ),
        )),
    }
}

fn url_scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}

/// The served verb's name and its arguments as the API's JSON body.
pub(crate) fn request_of(cli: &Cli) -> Result<(String, Map<String, Value>), RemoteError> {
    let root = Cli::command();
    let matches = root
        .clone()
        .try_get_matches_from(&cli.argv)
        .map_err(|e| RemoteError::new(ErrorClass::UserInput, e.to_string()))?;
    let Some((verb, sub)) = matches.subcommand() else {
        return Err(RemoteError::new(ErrorClass::UserInput, "no verb given"));
    };
    let declared = root
        .find_subcommand(verb)
        .ok_or_else(|| RemoteError::new(ErrorClass::Internal, format!("no verb {verb}")))?;
    let mut body = Map::new();
    for arg in declared.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_global_set()
            || ["help", "version"].contains(&id)
            || sub.value_source(id) != Some(ValueSource::CommandLine)
        {
            continue;
        }
        let values: Vec<String> = sub
            .get_raw(id)
            .into_iter()
            .flatten()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let name = if arg.is_positional() {
            id.to_string()
        } else {
            arg.get_long().unwrap_or(id).replace('-', "_")
        };
        let value = if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
            json!(true)
        } else if values.len() == 1
            && arg.get_num_args().is_none_or(|n| n.max_values() <= 1)
            && !matches!(arg.get_action(), clap::ArgAction::Append)
        {
            json!(values[0])
        } else {
            json!(values)
        };
        body.insert(name, value);
    }
    Ok((verb.to_string(), body))
}

/// The command line of a verb's API parameters (the inverse of [`request_of`]): `--name=value`,
/// a list as one `--name=item` each, `true` as the bare flag.
pub(crate) fn argv_of(params: &Map<String, Value>) -> Vec<String> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut argv = Vec::new();
    for (name, value) in params {
        let name = name.replace('_', "-");
        match value {
            Value::Bool(true) => argv.push(format!("--{name}")),
            Value::Bool(false) | Value::Null => {}
            Value::Array(items) => {
                argv.extend(items.iter().map(|i| format!("--{name}={}", text(i))))
            }
            other => argv.push(format!("--{name}={}", text(other))),
        }
    }
    argv
}

fn client() -> Result<reqwest::Client, RemoteError> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| RemoteError::new(ErrorClass::Internal, e.to_string()))
}

fn unreachable(base: &str, error: &reqwest::Error) -> RemoteError {
    let cause = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_else(|| error.to_string());
    RemoteError::new(
        ErrorClass::Unavailable,
        format!(
            "cannot reach the Stratus API at {base}: {cause}; check the URL (stratus connect URL)"
        ),
    )
}

/// The error an answer with a failure status carries.
async fn answer_error(base: &str, response: reqwest::Response) -> RemoteError {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            format!(
                "{base} answered HTTP {status} without a Stratus error body; is it a Stratus API?"
            )
        });
    RemoteError::new(class_of_status(status), message)
}

/// Runs the command line's verb on the API at `base`; returns the exit code.
pub(crate) fn run(cli: &Cli, base: &str, out: &mut dyn Write) -> anyhow::Result<u8> {
    let base = base_url(base)?;
    let Command::Verb(verb) = &cli.command else {
        return Err(RemoteError::new(
            ErrorClass::UserInput,
            "--remote runs the analytics verbs (risk-profile, optimize-portfolio, …); this command runs locally",
        )
        .into());
    };
    if cli.global.save.is_some() && !verb.is_plot() {
        return Err(RemoteError::new(
            ErrorClass::UserInput,
            "--save works locally only; with --remote, redirect the output (--json > result.json)",
        )
        .into());
    }
    let (name, mut body) = request_of(cli)?;
    let chart = verb.is_plot().then(|| crate::chart_path(cli));
    if let Some(path) = &chart
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        body.insert("format".into(), json!("png"));
    }
    let accept = if cli.global.json || chart.is_some() {
        "application/json"
    } else {
        "text/plain"
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let bytes = runtime.block_on(async {
        let response = client()?
            .post(format!("{base}/api/{name}"))
            .header(reqwest::header::ACCEPT, accept)
            .json(&Value::Object(body))
            .send()
            .await
            .map_err(|e| unreachable(&base, &e))?;
        if !response.status().is_success() {
            return Err(answer_error(&base, response).await);
        }
        response.bytes().await.map_err(|e| unreachable(&base, &e))
    })?;
    if let Some(path) = chart {
        crate::files::write_atomically(&path, &bytes)?;
        if cli.global.quiet {
            return Ok(0);
        }
        if cli.global.json {
            serde_json::to_writer(&mut *out, &json!({ "file": path.display().to_string() }))?;
            writeln!(out)?;
        } else {
            writeln!(out, "wrote {}", path.display())?;
        }
        return Ok(0);
    }
    if cli.global.quiet {
        return Ok(0);
    }
    if cli.global.json {
        // Printed as the local command prints it.
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            RemoteError::new(
                ErrorClass::Upstream,
                format!("{base} answered with malformed JSON: {e}"),
            )
        })?;
        serde_json::to_writer(&mut *out, &value)?;
        writeln!(out)?;
    } else {
        out.write_all(&bytes)?;
    }
    Ok(0)
}

/// `stratus connect URL`: the API's health, version and store, and where its page is.
pub(crate) fn connect(url: &str, json_output: bool, out: &mut dyn Write) -> anyhow::Result<u8> {
    let base = base_url(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let health: Value = runtime.block_on(async {
        let response = client()?
            .get(format!("{base}/health"))
            .send()
            .await
            .map_err(|e| unreachable(&base, &e))?;
        if !response.status().is_success() {
            return Err(answer_error(&base, response).await);
        }
        response.json::<Value>().await.map_err(|_| {
            RemoteError::new(
                ErrorClass::Upstream,
                format!("{base}/health did not answer like a Stratus API; check the URL"),
            )
        })
    })?;
    let text = |key: &str| {
        health
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string()
    };
    let (version, backend, store) = (text("version"), text("backend"), text("store"));
    let local = env!("CARGO_PKG_VERSION");
    let read_only = health
        .get("read_only")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if json_output {
        let mut report = health.clone();
        if let Some(map) = report.as_object_mut() {
            map.insert("url".into(), json!(base));
            map.insert("page".into(), json!(format!("{base}/")));
            map.insert("docs".into(), json!(format!("{base}/docs")));
            map.insert("client_version".into(), json!(local));
        }
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "connected to {base}: stratus {version}, store {backend} ({store}{})",
            if read_only { ", read-only" } else { "" }
        )?;
        if version != local {
            writeln!(
                out,
                "note: this stratus is {local}; verbs may differ from the server's"
            )?;
        }
        writeln!(out, "page: {base}/")?;
        writeln!(out, "API docs: {base}/docs")?;
        writeln!(
            out,
            "run any verb there with: stratus --remote {base} <verb> …"
        )?;
    }
    Ok(0)
}
