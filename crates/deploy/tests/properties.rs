//! The deploy crate's input surfaces under any input (manifest text, cron expressions), the cron
//! conversion checked against croner's own schedule, and the IAM derivation named case by case.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;
use stratus_deploy::{Deployment, Manifest, cron, template};
use stratus_store::tables::{AnalyticsLayout, CacheTables, CorrelationLayout};

fn deployment(text: &str) -> Deployment {
    let manifest = Manifest::parse("m", text).unwrap();
    Deployment::new(&manifest, std::path::Path::new("/nonexistent")).unwrap()
}

/// The next `n` times an EventBridge expression fires, evaluated by croner after turning it back
/// into Unix cron (day names are the same in both; `?` is `*`; the year field is dropped).
fn eventbridge_times(expression: &str, n: usize) -> Vec<chrono::DateTime<Utc>> {
    let inner = expression
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
        .unwrap();
    let fields: Vec<&str> = inner.split_whitespace().collect();
    assert_eq!(fields.len(), 6, "{expression}");
    assert_eq!(fields[5], "*");
    assert!(
        fields[2] == "?" || fields[4] == "?",
        "{expression}: one day field is ?"
    );
    // EventBridge's `start/step` is croner's `start-last/step`.
    let highs = ["59", "23", "31", "12", "7"];
    let unix: Vec<String> = fields[..5]
        .iter()
        .zip(highs)
        .map(|(f, high)| {
            f.replace('?', "*")
                .split(',')
                .map(|part| match part.split_once('/') {
                    Some((start, step)) if !start.contains('-') && start != "*" => {
                        format!("{start}-{high}/{step}")
                    }
                    _ => part.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    times(&unix.join(" "), n)
}

fn times(unix: &str, n: usize) -> Vec<chrono::DateTime<Utc>> {
    let parsed = croner::Cron::from_str(unix).unwrap();
    let mut at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        let Ok(next) = parsed.find_next_occurrence(&at, false) else {
            break;
        };
        out.push(next);
        at = next;
    }
    out
}

fn field(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any manifest text is a manifest or an error naming a key — never a panic.
    #[test]
    fn any_manifest_text_is_checked(text in "[a-z_\\[\\]=\" .0-9\n{}-]{0,120}") {
        match Manifest::parse("m.toml", &text) {
            Ok(manifest) => { let _ = Deployment::new(&manifest, std::path::Path::new("/nonexistent")); }
            Err(e) => prop_assert!(!e.key.is_empty() && !e.reason.is_empty()),
        }
    }

    /// Any text as a cron expression converts or is an error naming the expression.
    #[test]
    fn any_cron_text_converts_or_is_named(text in "[0-9*/,?LW#A-Z -]{0,30}") {
        match cron::to_eventbridge(&text) {
            Ok(rules) => prop_assert!(!rules.is_empty() && rules.len() <= 2),
            Err(e) => prop_assert_eq!(e.expression, text),
        }
    }

    /// Converted schedules fire exactly when Unix cron does: the union of the EventBridge rules'
    /// next 40 times equals croner's next 40 for the original.
    #[test]
    fn converted_schedules_fire_when_unix_cron_does(
        minute in field(&["0", "30", "*/15", "5,35", "10-20/5"]),
        hour in field(&["*", "0", "22", "9-17", "*/6"]),
        dom in field(&["*", "1", "15", "1,15", "10-12"]),
        month in field(&["*", "1", "JAN,JUL", "3-5", "*/3"]),
        dow in field(&["*", "0", "7", "1-5", "MON-FRI", "SUN", "5-7", "6,0", "*/2", "TUE,THU"]),
    ) {
        let unix = format!("{minute} {hour} {dom} {month} {dow}");
        let rules = cron::to_eventbridge(&unix).unwrap();
        let mut got: Vec<_> = rules.iter().flat_map(|r| eventbridge_times(r, 40)).collect();
        got.sort();
        got.dedup();
        got.truncate(40);
        prop_assert_eq!(got, times(&unix, 40), "{} -> {:?}", unix, rules);
    }
}

#[test]
fn a_role_names_only_the_tables_its_verb_uses() {
    let d = deployment(
        "[api]\nenabled = false\n[[function]]\nname = \"curve\"\nverb = \"yield-curve\"\n[[function]]\nname = \"rp\"\nverb = \"risk-profile\"\n",
    );
    let rendered = template::render(&d);
    let policy = |role: &str| rendered["Resources"][role]["Properties"]["Policies"][0].to_string();
    let curve = policy("FnCurveRole");
    assert!(curve.contains("table/interest"), "{curve}");
    for other in [
        "table/prices",
        "table/profile",
        "table/correlations",
        "s3:",
        "ssm:",
        "sqs:",
    ] {
        assert!(!curve.contains(other), "{other} in {curve}");
    }
    let rp = policy("FnRpRole");
    assert!(
        rp.contains("table/prices") && rp.contains("table/profile/index/DateTelescoping"),
        "{rp}"
    );
    assert!(
        !rp.contains("dynamodb:CreateTable") && !rp.contains("\"*\""),
        "{rp}"
    );
    // Only the function's own log group.
    assert!(
        rp.contains("log-group:/aws/lambda/stratus-dev-rp:*") && !rp.contains("stratus-dev-curve"),
        "{rp}"
    );
}

#[test]
fn the_template_s_tables_are_the_store_s_layouts() {
    for (text, analytics) in [
        ("", AnalyticsLayout::Scrilla),
        (
            "[cache]\nlayout = \"collision-free\"\ntable_prefix = \"p_\"\n",
            AnalyticsLayout::CollisionFree,
        ),
    ] {
        let d = deployment(text);
        let prefix = if text.is_empty() { "" } else { "p_" };
        let store = CacheTables::new(prefix, analytics, CorrelationLayout::IdKeyed);
        let rendered = template::render(&d);
        for (kind, table) in stratus_store::tables::TableKind::ALL
            .iter()
            .zip(store.all())
        {
            let resource = &rendered["Resources"][template::table_logical_id(*kind)];
            assert_eq!(resource, &template::table_resource(table, &d.manifest));
            let props = &resource["Properties"];
            assert_eq!(props["TableName"], table.name.as_str());
            let keys: Vec<&str> = props["KeySchema"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["AttributeName"].as_str().unwrap())
                .collect();
            assert_eq!(keys, table.key_names());
            let indexes: Vec<&str> = props["GlobalSecondaryIndexes"]
                .as_array()
                .map(|a| a.iter().map(|i| i["IndexName"].as_str().unwrap()).collect())
                .unwrap_or_default();
            let expected: Vec<&str> = table.indexes.iter().map(|i| i.name.as_str()).collect();
            assert_eq!(indexes, expected);
            assert_eq!(
                props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
                true
            );
        }
    }
}

#[test]
fn secrets_reach_functions_as_parameter_names_never_values() {
    let d = deployment("secrets = [\"ALPHA_VANTAGE_KEY\"]\n");
    let rendered = template::render(&d);
    let env = &rendered["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["STRATUS_SECRET_PARAMETERS"],
        "ALPHA_VANTAGE_KEY=/stratus/dev/ALPHA_VANTAGE_KEY"
    );
    assert!(env.get("ALPHA_VANTAGE_KEY").is_none());
    let policy = rendered["Resources"]["ApiRole"]["Properties"]["Policies"][0].to_string();
    assert!(
        policy.contains("parameter/stratus/dev/ALPHA_VANTAGE_KEY"),
        "{policy}"
    );
    assert!(matches!(rendered["Outputs"]["ApiUrl"], Value::Object(_)));
}
