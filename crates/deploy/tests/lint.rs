//! Every template the deploy crate renders is checked by the tools AWS practitioners use:
//! cfn-lint (no error or warning), checkov (no failed check; the findings left on purpose are
//! skipped in each resource's Metadata with the reason), and parliament on every IAM policy —
//! each function's role with literal ARNs and every `deploy policy --for` document.
//!
//! CI installs the three (PyPI). Run locally without them, the test says what it skipped; with
//! `CI` set, a missing tool fails it.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stratus_deploy::iam::{self, Arns, Audience};
use stratus_deploy::{Deployment, Manifest, template};

const VARIANTS: &[(&str, &str)] = &[
    ("defaults", ""),
    (
        "vpc",
        "stage = \"vpc\"\nsecrets = [\"ALPHA_VANTAGE_KEY\"]\n[vpc]\nvpc_id = \"vpc-0123456789abcdef0\"\nsubnets = [\"subnet-0123456789abcdef0\", \"subnet-0fedcba9876543210\"]\nsecurity_groups = [\"sg-0123456789abcdef0\"]\nroute_tables = [\"rtb-0123456789abcdef0\"]\n",
    ),
    (
        "ec2",
        "stage = \"ec2\"\n[ingest]\ncompute = \"ec2-schedule\"\n",
    ),
    (
        "provisioned",
        "stage = \"prov\"\narchitecture = \"x86_64\"\n[cache]\nbilling = \"provisioned\"\nread_capacity = 10\nwrite_capacity = 2\nretain = false\n[api]\nhttp_api = true\nauth = \"none\"\n[alarms]\nemail = \"ops@example.com\"\n[bucket]\nexisting = \"my-existing-exports\"\n[[function]]\nname = \"month-start\"\nverb = \"risk-profile\"\nparams = { tickers = [\"AAPL\", \"MSFT\"] }\nschedule = \"0 6 1 * MON\"\n",
    ),
    (
        "collision-free",
        "stage = \"cf\"\n[cache]\nlayout = \"collision-free\"\ntable_prefix = \"prod_\"\n[[function]]\nname = \"curve\"\nverb = \"yield-curve\"\n",
    ),
    ("sqlite", "stage = \"lite\"\n[cache]\nmode = \"sqlite\"\n"),
    (
        "database",
        "stage = \"db\"\n[cache]\nmode = \"database\"\n[vpc]\nvpc_id = \"vpc-0123456789abcdef0\"\nsubnets = [\"subnet-0123456789abcdef0\", \"subnet-0fedcba9876543210\"]\nsecurity_groups = [\"sg-0123456789abcdef0\"]\nroute_tables = [\"rtb-0123456789abcdef0\"]\n",
    ),
    (
        "snapshot",
        "stage = \"snap\"\n[cache]\nmode = \"snapshot\"\nsnapshot = \"s3://published-stratus/prod/stratus.db\"\n[ingest]\nschedule = \"none.toml\"\n",
    ),
    (
        "jobs",
        "stage = \"jobs\"\nsecrets = [\"ALPHA_VANTAGE_KEY\"]\n[jobs]\nenabled = true\nmax_concurrency = 25\n[alarms]\nemail = \"ops@example.com\"\n",
    ),
];

fn deployments(dir: &Path) -> Vec<(String, Deployment)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(
        repo.join("schedule.example.toml"),
        dir.join("schedule.toml"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("ingest.example.toml"),
        dir.join("ingest.example.toml"),
    )
    .unwrap();
    VARIANTS
        .iter()
        .map(|(name, text)| {
            let manifest = Manifest::parse(name, text).unwrap();
            (name.to_string(), Deployment::new(&manifest, dir).unwrap())
        })
        .collect()
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (pip install {name}); CI must run it"
        );
        eprintln!("skipped: {name} is not installed (pip install {name})");
    }
    found
}

fn write_templates(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (name, deployment) in deployments(dir) {
        let rendered = template::render(&deployment);
        let json = dir.join(format!("{name}.json"));
        std::fs::write(&json, serde_json::to_string_pretty(&rendered).unwrap()).unwrap();
        files.push(json);
        let yaml = dir.join(format!("{name}.yaml"));
        std::fs::write(&yaml, template::to_yaml(&rendered).unwrap()).unwrap();
        files.push(yaml);
    }
    files
}

#[test]
fn cfn_lint_finds_nothing_in_any_rendered_template() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_templates(dir.path());
    if !tool("cfn-lint") {
        return;
    }
    let output = Command::new("cfn-lint").args(&files).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && report.trim().is_empty(),
        "cfn-lint:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn checkov_fails_no_check_and_every_skip_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_templates(dir.path());
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let template: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for (id, resource) in template["Resources"].as_object().unwrap() {
            for skip in resource["Metadata"]["checkov"]["skip"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let reason = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    reason.len() > 40,
                    "{}: {id}: skip without a reason: {skip}",
                    file.display()
                );
            }
        }
    }
    if !tool("checkov") {
        return;
    }
    let jsons: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .collect();
    let mut command = Command::new("checkov");
    command.args([
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--quiet",
        "--compact",
    ]);
    for file in &jsons {
        command.arg("-f").arg(file);
    }
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "checkov's JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match report {
        Value::Array(many) => many,
        one => vec![one],
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    let mut skipped = 0;
    for report in &reports {
        passed += report["summary"]["passed"].as_u64().unwrap_or(0);
        skipped += report["summary"]["skipped"].as_u64().unwrap_or(0);
        for check in report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failed.push(format!(
                "{} {} {}",
                check["check_id"].as_str().unwrap_or(""),
                check["resource"].as_str().unwrap_or(""),
                check["file_path"].as_str().unwrap_or("")
            ));
        }
    }
    eprintln!(
        "checkov: {passed} passed, {skipped} skipped on purpose, {} failed",
        failed.len()
    );
    assert!(passed > 100, "checkov passed only {passed} checks:\n{text}");
    assert!(
        failed.is_empty(),
        "checkov failed checks:\n{}",
        failed.join("\n")
    );
}

#[test]
fn parliament_finds_nothing_in_any_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, deployment) in deployments(dir.path()) {
        let arns = Arns::Literal {
            region: deployment.manifest.region.clone(),
            account: "123456789012".into(),
            bucket: "stratus-dev-exports-123456789012".into(),
        };
        for function in &deployment.functions {
            let policy = iam::document(iam::function_statements(function, &deployment, &arns));
            let file = dir.path().join(format!("{name}-{}.json", function.short));
            std::fs::write(&file, policy.to_string()).unwrap();
            files.push(file);
        }
        for audience in ["analytics", "cache-writer", "ingest", "deployer"] {
            let policy = iam::policy_for(
                Audience::parse(audience).unwrap(),
                &deployment,
                "123456789012",
            );
            let file = dir.path().join(format!("{name}-for-{audience}.json"));
            std::fs::write(&file, policy.to_string()).unwrap();
            files.push(file);
        }
    }
    let found = Command::new("python3")
        .args(["-c", "import parliament"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "parliament is not installed (pip install parliament); CI must run it"
        );
        eprintln!("skipped: parliament is not installed (pip install parliament)");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parliament_check.py");
    let output = Command::new("python3")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "parliament:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("parliament: no finding in {} policies", files.len());
    assert!(files.len() > 20, "{} policies", files.len());
}
