//! Any environment (every registered variable, any text) and any settings file either loads or
//! is refused with a message that names the variable or the value — never a panic.

use std::collections::HashMap;

use proptest::prelude::*;
use stratus_app::{ENV_VARS, Settings};

fn odd_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("NaN".to_string()),
        Just("-1".to_string()),
        Just("1e308".to_string()),
        Just("0".to_string()),
        Just("sqlite".to_string()),
        Just("dynamodb".to_string()),
        Just("PROVISIONED".to_string()),
        Just("{\"BillingMode\": 7}".to_string()),
        Just("http://127.0.0.1:1".to_string()),
        Just("😀".to_string()),
        "[ -~]{0,30}",
        "\\PC{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_environment_loads_or_names_what_is_wrong(
        picks in proptest::collection::vec((0..ENV_VARS.len(), 0usize..3, odd_text()), 0..6),
    ) {
        let home = tempfile::tempdir().unwrap();
        let mut env: HashMap<String, String> = HashMap::new();
        for (index, alias, value) in &picks {
            let names = ENV_VARS[*index].names;
            let name = names[alias % names.len()];
            if name == "STRATUS_HOME" {
                continue;
            }
            env.insert(name.to_string(), value.clone());
        }
        env.insert("STRATUS_HOME".into(), home.path().display().to_string());
        match Settings::load(&|k| env.get(k).cloned()) {
            Ok(_) => {}
            Err(e) => {
                let message = e.to_string();
                let named = env.iter().any(|(name, value)| {
                    message.contains(name.as_str())
                        || (!value.trim().is_empty() && message.contains(value.trim()))
                });
                prop_assert!(named, "{message} (environment {env:?})");
            }
        }
    }

    #[test]
    fn any_settings_file_loads_or_is_refused_by_name(text in "[ -~\\n]{0,200}") {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("stratus.toml");
        std::fs::write(&file, &text).unwrap();
        let h = home.path().display().to_string();
        if let Err(e) = Settings::load(&|k| (k == "STRATUS_HOME").then(|| h.clone())) {
            prop_assert!(e.to_string().contains("stratus.toml"), "{e}");
        }
    }

    /// One table drives both layers: a value set through the settings file and the same value
    /// set through the environment load to the same settings, or are both refused.
    #[test]
    fn the_file_and_the_environment_parse_a_value_alike(
        index in 0..ENV_VARS.len(),
        value in odd_text(),
    ) {
        let var = &ENV_VARS[index];
        let Some(key) = var.key else { return Ok(()) };
        let home = tempfile::tempdir().unwrap();
        let h = home.path().display().to_string();
        let from_env = {
            let (h, name, value) = (h.clone(), var.names[0], value.clone());
            Settings::load(&move |k| match k {
                "STRATUS_HOME" => Some(h.clone()),
                k if k == name => Some(value.clone()),
                _ => None,
            })
        };
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        std::fs::write(home.path().join("stratus.toml"), format!("{key} = \"{escaped}\"\n")).unwrap();
        let from_file = Settings::load(&move |k| (k == "STRATUS_HOME").then(|| h.clone()));
        match (from_env, from_file) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(e)) => prop_assert!(e.to_string().contains(key), "{e}"),
            (a, b) => prop_assert!(false, "{key} = {value:?}: environment {a:?}, file {b:?}"),
        }
    }
}
