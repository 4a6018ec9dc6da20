//! `stratus deploy` on the command line without AWS: what it prints, and every bad input an
//! error naming it with exit code 2 and nothing on standard output.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use serde_json::Value;

fn stratus(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .current_dir(dir)
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn init_template_policy_and_cost_work_without_aws() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = stratus(d, &["deploy", "init"]);
    assert_eq!(code, 0, "{err}");
    assert!(d.join("stratus.deploy.toml").exists());
    let (code, out, err) = stratus(d, &["deploy", "init"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("--force"), "{err}");

    let (code, out, err) = stratus(d, &["deploy", "template"]);
    assert_eq!(code, 0, "{err}");
    let template: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        template["Resources"]["ApiFunction"]["Properties"]["Architectures"][0],
        "arm64"
    );
    assert_eq!(
        template["Resources"]["ApiFunction"]["Properties"]["Runtime"],
        "provided.al2023"
    );
    let (code, out, _) = stratus(d, &["deploy", "template", "--format", "yaml"]);
    assert_eq!(code, 0);
    assert!(out.contains("AWS::DynamoDB::Table") && !out.trim_start().starts_with('{'));

    for audience in ["analytics", "cache-writer", "ingest", "deployer"] {
        let (code, out, err) = stratus(
            d,
            &[
                "deploy",
                "policy",
                "--for",
                audience,
                "--account",
                "123456789012",
            ],
        );
        assert_eq!(code, 0, "{audience}: {err}");
        let policy: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(policy["Version"], "2012-10-17");
        assert!(
            !out.contains("\"Resource\": \"*\"") || audience == "deployer",
            "{audience}: {out}"
        );
    }

    let (code, out, err) = stratus(d, &["--json", "deploy", "cost", "--requests", "1000"]);
    assert_eq!(code, 0, "{err}");
    let cost: Value = serde_json::from_str(&out).unwrap();
    let arm = cost["by_architecture"]["arm64"].as_f64().unwrap();
    let x86 = cost["by_architecture"]["x86_64"].as_f64().unwrap();
    assert!(arm > 0.0 && arm < x86, "{cost}");
    assert_eq!(cost["total_usd_per_month"].as_f64().unwrap(), arm);
}

#[test]
fn bad_deploy_input_is_named_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.toml"), "memory_mb = 64\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["deploy", "--manifest", "bad.toml", "template"],
            "memory_mb",
        ),
        (
            &["deploy", "--manifest", "missing.toml", "template"],
            "no manifest at missing.toml",
        ),
        (&["deploy", "policy", "--account", "12"], "12-digit"),
        (&["deploy", "cost", "--duration-s", "NaN"], "duration-s"),
        (&["deploy", "cost", "--storage-gb=-1"], "storage-gb"),
        (&["deploy", "cost", "--memory-mb", "99999"], "memory-mb"),
        (
            &["deploy", "cost", "--runs-per-month", "inf"],
            "runs-per-month",
        ),
    ];
    for (args, named) in cases {
        let (code, out, err) = stratus(d, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any numbers for `deploy cost`: an estimate, or exit 2 naming the flag — never a crash.
    #[test]
    fn any_cost_flags_estimate_or_name_the_flag(
        runs in prop_oneof![Just("NaN".to_string()), Just("-0".to_string()), Just("1e300".to_string()), any::<f64>().prop_map(|x| x.to_string())],
        duration in prop_oneof![Just("inf".to_string()), Just("0".to_string()), any::<f64>().prop_map(|x| x.to_string())],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = stratus(dir.path(), &["--json", "deploy", "cost", "--runs-per-month", &runs, "--duration-s", &duration]);
        match code {
            0 => {
                let cost: Value = serde_json::from_str(&out).unwrap();
                prop_assert!(cost["total_usd_per_month"].as_f64().is_some_and(f64::is_finite), "{}", out);
            }
            2 => prop_assert!(err.contains("--runs-per-month") || err.contains("--duration-s") || err.contains("error:"), "{}", err),
            other => prop_assert!(false, "exit {}: {}", other, err),
        }
    }
}
