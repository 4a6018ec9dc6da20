//! Secrets at cold start: the template gives a function the *names* of SSM SecureString
//! parameters (`STRATUS_SECRET_PARAMETERS=ALPHA_VANTAGE_KEY=/stratus/prod/ALPHA_VANTAGE_KEY,…`),
//! never values; they are read once here, decrypted, and overlaid on the environment the
//! settings are loaded from, so a key never sits in the template, the console or the logs.

use std::collections::BTreeMap;

/// Parses `NAME=/parameter,…`; an error names the entry and the expected form.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (name, parameter) = entry.split_once('=').ok_or_else(|| {
                format!(
                    "STRATUS_SECRET_PARAMETERS entry {entry:?} is not NAME=/ssm/parameter (e.g. ALPHA_VANTAGE_KEY=/stratus/prod/ALPHA_VANTAGE_KEY)"
                )
            })?;
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !name_ok || !parameter.starts_with('/') || parameter.len() < 2 {
                return Err(format!(
                    "STRATUS_SECRET_PARAMETERS entry {entry:?}: the name must be an upper-case variable name and the parameter a path starting with /"
                ));
            }
            Ok((name.to_string(), parameter.to_string()))
        })
        .collect()
}

/// Reads and decrypts every parameter named by `spec`. An unreadable parameter is an error
/// naming it (and the command that creates it), never an empty key.
pub(crate) async fn resolve(spec: &str) -> Result<BTreeMap<String, String>, String> {
    let wanted = parse(spec)?;
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    // A cold start that cannot reach SSM fails in seconds with the parameter named, not at
    // the function's timeout.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(10))
        .build();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    let client = aws_sdk_ssm::Client::new(&config);
    let mut values = BTreeMap::new();
    for (name, parameter) in wanted {
        let answer = client
            .get_parameter()
            .name(&parameter)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_ssm::error::ProvideErrorMetadata;
                let detail = e
                    .as_service_error()
                    .and_then(|s| s.message().map(str::to_string))
                    .unwrap_or_else(|| e.to_string());
                format!(
                    "cannot read {name} from SSM parameter {parameter} ({detail}); create it with `stratus deploy secret set {name}`"
                )
            })?;
        let value = answer
            .parameter
            .and_then(|p| p.value)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("SSM parameter {parameter} ({name}) is empty"))?;
        values.insert(name, value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(
            super::parse("ALPHA_VANTAGE_KEY=/s/p/ALPHA_VANTAGE_KEY, FRED_KEY=/s/p/FRED_KEY")
                .unwrap(),
            [
                (
                    "ALPHA_VANTAGE_KEY".to_string(),
                    "/s/p/ALPHA_VANTAGE_KEY".to_string()
                ),
                ("FRED_KEY".to_string(), "/s/p/FRED_KEY".to_string())
            ]
        );
        assert!(super::parse("").unwrap().is_empty());
        for bad in ["KEY", "key=/x", "KEY=x", "=/x", "KEY=/"] {
            let e = super::parse(bad).unwrap_err();
            assert!(e.contains("STRATUS_SECRET_PARAMETERS"), "{bad}: {e}");
        }
    }

    proptest! {
        /// Any text: the pairs it names, or an error naming the variable — never a panic.
        #[test]
        fn any_text_parses_or_names_the_variable(text in ".{0,80}") {
            match super::parse(&text) {
                Ok(pairs) => for (name, path) in pairs {
                    prop_assert!(!name.is_empty() && path.starts_with('/'));
                },
                Err(e) => prop_assert!(e.contains("STRATUS_SECRET_PARAMETERS")),
            }
        }
    }
}
