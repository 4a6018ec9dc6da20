//! Requests that do not come from a command line: an HTTP query string or a Lambda event's JSON.
//!
//! They are turned into the argument list the CLI would get (`risk-profile --start=… -- AAPL
//! MSFT`) and parsed by the same clap declarations, so options, defaults and validation cannot
//! drift between adapters. Only the verb's own options are accepted — never the global ones that
//! name files or folders (`--save`, `--home`) — and values always travel as `--name=value`, so a
//! value can never be read as another option.

use clap::{ArgAction, CommandFactory, Parser, error::ContextKind, error::ContextValue};
use serde_json::Value;

use crate::args::Verb;

/// Upper bound on the tickers (and other list items) of one request.
pub const MAX_LIST_ITEMS: usize = 100;

/// Upper bound on `steps` (efficient-frontier points) of one request.
pub const MAX_STEPS: usize = 2000;

/// Why a request could not become a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No such verb, or one that is not served.
    #[error("unknown function {verb:?}; available: {}", available.join(", "))]
    UnknownVerb {
        /// What was asked for.
        verb: String,
        /// What exists.
        available: Vec<String>,
    },
    /// A parameter that is missing, unknown or invalid.
    #[error("{message}")]
    BadParameter {
        /// The parameter (as the request names it), when one is to blame.
        field: Option<String>,
        /// What is wrong and what would be right.
        message: String,
    },
    /// Too many tickers or points for one request.
    #[error("{message}")]
    TooLarge {
        /// The parameter.
        field: String,
        /// What the limit is.
        message: String,
    },
}

impl RequestError {
    /// The one classification every adapter uses.
    pub fn class(&self) -> stratus_analytics::ErrorClass {
        match self {
            RequestError::UnknownVerb { .. } => stratus_analytics::ErrorClass::NotFound,
            RequestError::BadParameter { .. } | RequestError::TooLarge { .. } => {
                stratus_analytics::ErrorClass::UserInput
            }
        }
    }

    /// The parameter at fault, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            RequestError::UnknownVerb { .. } => None,
            RequestError::BadParameter { field, .. } => field.as_deref(),
            RequestError::TooLarge { field, .. } => Some(field),
        }
    }
}

/// The verbs served over HTTP and Lambda: every analytics command and chart.
pub fn served_verbs() -> Vec<String> {
    VerbParser::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != "help")
        .collect()
}

/// Parses just a verb and its options (no global flags).
#[derive(Debug, Parser)]
#[command(
    name = "stratus",
    no_binary_name = true,
    disable_help_subcommand = true
)]
struct VerbParser {
    #[command(subcommand)]
    command: Verb,
}

/// Parses a verb's argument list (`["hrp", "--linkage", "ward", "--", "A", "B"]`).
pub(crate) fn parse_verb(argv: &[String]) -> Result<Verb, clap::Error> {
    VerbParser::try_parse_from(argv).map(|p| p.command)
}

/// The verb a name or alias stands for (`rparity` → `risk-parity`).
pub(crate) fn canonical_verb(name: &str) -> Option<String> {
    VerbParser::command()
        .get_subcommands()
        .find(|c| c.get_name() == name || c.get_all_aliases().any(|a| a == name))
        .map(|c| c.get_name().to_string())
}

/// The long name of the option or positional a clap error is about (`--start <YYYY-MM-DD>` →
/// `start`, `<TICKER>...` → `tickers`).
fn field_of(error: &clap::Error, positional: &[(String, String)]) -> Option<String> {
    let text = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.first().cloned()?,
        _ => return None,
    };
    if let Some(rest) = text.strip_prefix("--") {
        let name = rest.split([' ', '=']).next().unwrap_or(rest);
        return Some(name.replace('-', "_"));
    }
    // `<TICKER>...` or `<TICKER> <TICKER>...`: the first value name.
    let value_name = text
        .split(['<', '>'])
        .find(|part| !part.trim().is_empty() && !part.contains('.'))
        .unwrap_or_default()
        .trim();
    positional
        .iter()
        .find(|(_, v)| v == value_name)
        .map(|(id, _)| id.clone())
}

/// Text values of one parameter: a JSON array gives one per element; a string in a list
/// parameter is split on commas. Only strings, numbers and booleans are values: `null` inside a
/// list, an object, or a list where one value is expected is refused, naming the parameter.
fn values_of(name: &str, value: &Value, is_list: bool) -> Result<Vec<String>, RequestError> {
    let wrong = |what: &str| RequestError::BadParameter {
        field: Some(name.to_string()),
        message: format!(
            "{name}: {what}; give {}",
            if is_list {
                "a list of strings, e.g. [\"AAPL\", \"MSFT\"], or \"AAPL,MSFT\""
            } else {
                "one string or number"
            }
        ),
    };
    let text = |v: &Value| match v {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(wrong("null is not a value")),
        Value::Array(_) => Err(wrong("a nested list is not a value")),
        Value::Object(_) => Err(wrong("an object is not a value")),
    };
    match value {
        Value::Array(items) if is_list => items.iter().map(text).collect(),
        Value::Array(_) => Err(wrong("a list where one value is expected")),
        Value::String(s) if is_list => Ok(s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()),
        other => Ok(vec![text(other)?]),
    }
}

/// Builds and parses the command for `verb` from named parameters (query-string pairs, with
/// strings, or an event's JSON object). Parameter names are the CLI's long option names, with
/// `_` or `-`; positional arguments go by their name (`tickers`, `maturities`, `first`,
/// `second`, `ticker`).
pub fn command_from_params(verb: &str, params: &[(String, Value)]) -> Result<Verb, RequestError> {
    let root = VerbParser::command();
    let unknown_verb = || RequestError::UnknownVerb {
        verb: verb.to_string(),
        available: served_verbs(),
    };
    if verb == "help" {
        return Err(unknown_verb());
    }
    let sub = root
        .get_subcommands()
        .find(|c| c.get_name() == verb || c.get_all_aliases().any(|a| a == verb))
        .ok_or_else(unknown_verb)?;
    let verb = sub.get_name().to_string();
    let positional: Vec<(String, String)> = sub
        .get_positionals()
        .map(|a| {
            let value_name = a
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| a.get_id().to_string().to_uppercase(), |v| v.to_string());
            (a.get_id().to_string(), value_name)
        })
        .collect();
    let mut options = Vec::new();
    let mut trailing: Vec<(usize, Vec<String>)> = Vec::new();
    for (name, value) in params {
        let key = name.trim().replace('_', "-");
        let as_id = key.replace('-', "_");
        if let Some((index, arg)) = sub
            .get_positionals()
            .enumerate()
            .find(|(_, a)| a.get_id() == as_id.as_str())
        {
            let is_list = matches!(arg.get_action(), ArgAction::Append)
                || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
            let values = values_of(name, value, is_list)?;
            if values.len() > MAX_LIST_ITEMS {
                return Err(RequestError::TooLarge {
                    field: as_id,
                    message: format!(
                        "{} {name} given; at most {MAX_LIST_ITEMS} per request",
                        values.len()
                    ),
                });
            }
            trailing.push((index, values));
            continue;
        }
        let arg = sub
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_global_set())
            .find(|a| {
                a.get_long() == Some(key.as_str())
                    || a.get_all_aliases()
                        .is_some_and(|aliases| aliases.contains(&key.as_str()))
            })
            .ok_or_else(|| {
                let mut known: Vec<String> = positional.iter().map(|(id, _)| id.clone()).collect();
                known.extend(
                    sub.get_arguments()
                        .filter(|a| !a.is_positional())
                        .filter_map(|a| a.get_long())
                        .filter(|l| !["help", "version"].contains(l))
                        .map(|l| l.replace('-', "_")),
                );
                RequestError::BadParameter {
                    field: Some(name.clone()),
                    message: format!(
                        "unknown parameter {name:?} for {verb}; expected one of: {}",
                        known.join(", ")
                    ),
                }
            })?;
        let long = arg.get_long().expect("options have long names");
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            let on = match value {
                Value::Bool(b) => *b,
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "" | "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => {
                        return Err(RequestError::BadParameter {
                            field: Some(name.clone()),
                            message: format!("{name} must be true or false, not {s:?}"),
                        });
                    }
                },
                other => {
                    return Err(RequestError::BadParameter {
                        field: Some(name.clone()),
                        message: format!("{name} must be true or false, not {other}"),
                    });
                }
            };
            if on {
                options.push(format!("--{long}"));
            }
            continue;
        }
        // A repeatable option takes a JSON array as one value per occurrence (never split on
        // commas, which its values may contain).
        let values = match value {
            Value::Array(items) if matches!(arg.get_action(), ArgAction::Append) => {
                if items.len() > MAX_LIST_ITEMS {
                    return Err(RequestError::TooLarge {
                        field: as_id,
                        message: format!(
                            "{} {name} given; at most {MAX_LIST_ITEMS} per request",
                            items.len()
                        ),
                    });
                }
                let mut all = Vec::with_capacity(items.len());
                for item in items {
                    all.extend(values_of(name, item, false)?);
                }
                all
            }
            _ => values_of(name, value, false)?,
        };
        for text in values {
            if long == "steps" && text.parse::<usize>().is_ok_and(|s| s > MAX_STEPS) {
                return Err(RequestError::TooLarge {
                    field: "steps".into(),
                    message: format!("steps = {text}; at most {MAX_STEPS} per request"),
                });
            }
            options.push(format!("--{long}={text}"));
        }
    }
    trailing.sort_by_key(|(index, _)| *index);
    let mut argv = vec![verb.clone()];
    argv.extend(options);
    if !trailing.is_empty() {
        argv.push("--".into());
        argv.extend(trailing.into_iter().flat_map(|(_, v)| v));
    }
    VerbParser::try_parse_from(&argv)
        .map(|p| p.command)
        .map_err(|e| {
            let field = field_of(&e, &positional);
            let message = e
                .render()
                .to_string()
                .lines()
                .next()
                .unwrap_or("invalid request")
                .trim_start_matches("error: ")
                .to_string();
            let message = match &field {
                Some(f) => format!("{verb}: {message} (parameter {f})"),
                None => format!("{verb}: {message}"),
            };
            RequestError::BadParameter { field, message }
        })
}

/// A query string's pairs as parameters.
pub fn params_from_query(pairs: &[(String, String)]) -> Vec<(String, Value)> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// A JSON object's members as parameters (nulls mean "not given").
pub fn params_from_json(body: &Value) -> Result<Vec<(String, Value)>, RequestError> {
    let Value::Object(map) = body else {
        return Err(RequestError::BadParameter {
            field: None,
            message: format!(
                "expected a JSON object of parameters, e.g. {{\"tickers\": [\"AAPL\", \"MSFT\"]}}, not {body}"
            ),
        });
    };
    Ok(map
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// [`command_from_params`] for a query string's pairs.
pub fn command_from_query(verb: &str, pairs: &[(String, String)]) -> Result<Verb, RequestError> {
    command_from_params(verb, &params_from_query(pairs))
}

/// [`command_from_params`] for a JSON object (a Lambda event or a POST body).
pub fn command_from_json(verb: &str, body: &Value) -> Result<Verb, RequestError> {
    command_from_params(verb, &params_from_json(body)?)
}

/// One parameter of a served verb, for API documentation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParamDoc {
    /// Name in a query string or event (`max_weight`).
    pub name: String,
    /// The CLI's help text.
    pub help: String,
    /// Whether the verb needs it.
    pub required: bool,
    /// Whether the command line takes it by position rather than as `--name`.
    pub positional: bool,
    /// JSON-schema type: `string`, `number`, `integer`, `boolean` or `array`.
    pub kind: &'static str,
    /// JSON-schema format of a string (`date`).
    pub format: Option<&'static str>,
    /// The allowed range of a number.
    pub domain: Option<crate::args::NumberDomain>,
    /// Allowed values, if a fixed set.
    pub choices: Vec<String>,
    /// Default, if any.
    pub default: Option<String>,
}

/// A served verb, for API documentation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerbDoc {
    /// The verb (`risk-profile`).
    pub name: String,
    /// Its aliases (`rp`).
    pub aliases: Vec<String>,
    /// The CLI's description.
    pub about: String,
    /// Whether it answers with a chart rather than JSON.
    pub chart: bool,
    /// Its parameters.
    pub params: Vec<ParamDoc>,
}

/// Every served verb with its parameters, read from the CLI's declarations.
pub fn verb_docs() -> Vec<VerbDoc> {
    let root = VerbParser::command();
    root.get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| VerbDoc {
            name: c.get_name().to_string(),
            aliases: c.get_visible_aliases().map(str::to_string).collect(),
            about: c.get_about().map(|a| a.to_string()).unwrap_or_default(),
            chart: c.get_name().starts_with("plot-"),
            params: c
                .get_arguments()
                .filter(|a| !a.is_global_set())
                .filter(|a| a.is_positional() || a.get_long().is_some_and(|l| l != "help"))
                .map(|a| {
                    let name = if a.is_positional() {
                        a.get_id().to_string()
                    } else {
                        a.get_long().unwrap_or_default().replace('-', "_")
                    };
                    let default = a
                        .get_default_values()
                        .first()
                        .map(|d| d.to_string_lossy().to_string());
                    let domain = a.get_long().and_then(crate::args::number_domain);
                    let kind = if matches!(a.get_action(), ArgAction::SetTrue) {
                        "boolean"
                    } else if domain.is_some_and(|d| d.integer) {
                        "integer"
                    } else if a.is_positional()
                        && a.get_num_args().is_some_and(|n| n.max_values() > 1)
                        || matches!(a.get_action(), ArgAction::Append)
                    {
                        "array"
                    } else if default.as_deref().is_some_and(|d| d.parse::<f64>().is_ok())
                        || a.get_value_names().is_some_and(|v| {
                            v.iter().any(|n| {
                                ["W", "K", "RATE", "AMOUNT", "T", "BPS", "GAMMA", "L", "MAX"]
                                    .contains(&n.as_str())
                            })
                        })
                        || ["prob", "expiry", "target", "delta"].contains(&name.as_str())
                    {
                        "number"
                    } else {
                        "string"
                    };
                    let is_date = a
                        .get_value_names()
                        .is_some_and(|v| v.iter().any(|n| n.as_str() == "YYYY-MM-DD"));
                    ParamDoc {
                        help: a.get_help().map(|h| h.to_string()).unwrap_or_default(),
                        required: a.is_required_set(),
                        positional: a.is_positional(),
                        kind,
                        format: is_date.then_some("date"),
                        domain,
                        // A flag's "true"/"false" are not choices of a JSON boolean.
                        choices: if kind == "boolean" {
                            Vec::new()
                        } else {
                            a.get_possible_values()
                                .iter()
                                .map(|p| p.get_name().to_string())
                                .collect()
                        },
                        default: default.filter(|_| kind != "boolean"),
                        name,
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
