//! How one value of one variable is parsed — the same code whichever layer (file or
//! environment) it came from — and how a settings file becomes such values.

use super::*;

pub(super) fn invalid(source_name: &str, value: &str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        source_name: source_name.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Billing from its three variables: capacity is required with PROVISIONED and refused
/// without it, rather than silently ignored.
pub(super) fn dynamo_billing(
    mode: Option<(String, String)>,
    read: Option<(String, String)>,
    write: Option<(String, String)>,
) -> Result<DynamoBilling, SettingsError> {
    let mode_source = mode
        .as_ref()
        .map_or("STRATUS_DYNAMO_BILLING".to_string(), |(source, _)| {
            source.clone()
        });
    let capacity = |entry: Option<(String, String)>, name: &str| -> Result<i64, SettingsError> {
        let (source, value) = entry.ok_or_else(|| {
            invalid(
                name,
                "",
                format!("required with {mode_source} = PROVISIONED"),
            )
        })?;
        value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| invalid(&source, &value, "expected a positive whole number"))
    };
    // The capacity setting that is present, named as the user set it.
    let given = || {
        read.clone()
            .or_else(|| write.clone())
            .unwrap_or_else(|| ("STRATUS_DYNAMO_RCU".into(), String::new()))
    };
    match mode.as_ref().map(|(_, v)| v.trim().to_ascii_uppercase()) {
        None => match (&read, &write) {
            (None, None) => Ok(DynamoBilling::PayPerRequest),
            _ => {
                let (source, value) = given();
                Err(invalid(
                    &source,
                    &value,
                    "capacity needs STRATUS_DYNAMO_BILLING=PROVISIONED",
                ))
            }
        },
        Some(m) if m == "PAY_PER_REQUEST" => match (&read, &write) {
            (None, None) => Ok(DynamoBilling::PayPerRequest),
            _ => {
                let (source, value) = given();
                Err(invalid(
                    &source,
                    &value,
                    "capacity is rejected with PAY_PER_REQUEST billing",
                ))
            }
        },
        Some(m) if m == "PROVISIONED" => Ok(DynamoBilling::Provisioned {
            read: capacity(read, "STRATUS_DYNAMO_RCU")?,
            write: capacity(write, "STRATUS_DYNAMO_WCU")?,
        }),
        Some(_) => {
            let (source, value) = mode.unwrap_or_default();
            Err(invalid(
                &source,
                &value,
                "expected PAY_PER_REQUEST or PROVISIONED",
            ))
        }
    }
}

/// The three billing entries from scrilla's `DYNAMO_CONF` dictionary (JSON; a Python literal
/// with single quotes is accepted too, since that is how scrilla users have it).
pub(super) fn dynamo_conf_entries(
    text: &str,
) -> Result<[Option<(String, String)>; 3], SettingsError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Throughput {
        #[serde(rename = "ReadCapacityUnits")]
        read: serde_json::Value,
        #[serde(rename = "WriteCapacityUnits")]
        write: serde_json::Value,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DynamoConf {
        #[serde(rename = "BillingMode")]
        billing_mode: String,
        #[serde(rename = "ProvisionedThroughput")]
        throughput: Option<Throughput>,
    }
    let conf: DynamoConf = serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&text.replace('\'', "\"")))
        .map_err(|e| {
            invalid(
                "DYNAMO_CONF",
                text,
                format!("expected {{\"BillingMode\": …, \"ProvisionedThroughput\": {{\"ReadCapacityUnits\": R, \"WriteCapacityUnits\": W}}}} ({e})"),
            )
        })?;
    let entry = |field: &str, value: serde_json::Value| {
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        Some((format!("DYNAMO_CONF.ProvisionedThroughput.{field}"), text))
    };
    let (read, write) = match conf.throughput {
        Some(t) => (
            entry("ReadCapacityUnits", t.read),
            entry("WriteCapacityUnits", t.write),
        ),
        None => (None, None),
    };
    Ok([
        Some(("DYNAMO_CONF.BillingMode".to_string(), conf.billing_mode)),
        read,
        write,
    ])
}

pub(super) fn parse_count(name: &str, value: &str) -> Result<usize, SettingsError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 2)
        .ok_or_else(|| invalid(name, value, "expected a whole number of at least 2"))
}

/// Finds the first of several variable names that is set: (name, value).
pub(super) type Lookup<'a> = dyn Fn(&str) -> Option<(String, String)> + 'a;

pub(super) fn parse_seconds(name: &str, value: &str) -> Result<std::time::Duration, SettingsError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 3600.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            invalid(
                name,
                value,
                "expected seconds, more than 0 and at most 3600",
            )
        })
}

/// The settings file's values, by the primary name of the variable each key sets, with the
/// key's name for messages. Only keys the registry gives a variable are allowed; values are read
/// as the text an environment variable would hold (a list as `a,b,c`), so both layers are parsed
/// by the same rules.
pub(super) fn file_values(
    path: &Path,
) -> Result<HashMap<&'static str, (String, String)>, SettingsError> {
    let failed = |reason: String| SettingsError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let Some(var) = crate::vars::by_file_key(&key) else {
            let known: Vec<&str> = crate::vars::ENV_VARS.iter().filter_map(|v| v.key).collect();
            return Err(failed(format!(
                "unknown key {key}; the keys are {}",
                known.join(", ")
            )));
        };
        let text = |value: &toml::Value| match value {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(n) => Some(n.to_string()),
            toml::Value::Float(x) => Some(x.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        let value = match &value {
            toml::Value::Array(items) => items
                .iter()
                .map(text)
                .collect::<Option<Vec<_>>>()
                .map(|items| items.join(",")),
            other => text(other),
        }
        .ok_or_else(|| {
            failed(format!(
                "key {key} must be a string, a number or a list of them"
            ))
        })?;
        // Blank is unset, as in the environment.
        if !value.trim().is_empty() {
            values.insert(
                var.names[0],
                (format!("{} key {key}", path.display()), value),
            );
        }
    }
    Ok(values)
}
