//! The store a deployment uses, from the manifest: a database whose URL (password included)
//! reaches every function as the SSM secret `STRATUS_STORE`, or a read-only snapshot each role
//! may only read — and no DynamoDB table or permission in either.

use std::path::Path;

use serde_json::Value;
use stratus_deploy::iam::{self, Arns};
use stratus_deploy::{Deployment, Manifest, template};

fn literal() -> Arns {
    Arns::Literal {
        region: "us-east-1".into(),
        account: "123456789012".into(),
        bucket: "b".into(),
    }
}

/// A folder with the example schedule and ingest config, as a project has.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(
        repo.join("schedule.example.toml"),
        dir.path().join("schedule.toml"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("ingest.example.toml"),
        dir.path().join("ingest.example.toml"),
    )
    .unwrap();
    dir
}

fn actions(statements: &[Value]) -> Vec<String> {
    statements
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_database_url_is_a_secret_every_function_reads() {
    let dir = project();
    let manifest = Manifest::parse(
        "db",
        "stage = \"db\"\n[cache]\nmode = \"database\"\n[[function]]\nname = \"curve\"\nverb = \"yield-curve\"\n",
    )
    .unwrap();
    let deployment = Deployment::new(&manifest, dir.path()).unwrap();
    assert!(deployment.tables.is_none(), "no DynamoDB tables");
    let parameter = manifest.secret_parameter("STRATUS_STORE");
    let roles: Vec<&str> = deployment
        .functions
        .iter()
        .map(|f| f.short.as_str())
        .collect();
    assert!(
        roles.contains(&"api") && roles.contains(&"curve") && roles.contains(&"ingest"),
        "{roles:?}"
    );
    for function in &deployment.functions {
        let secrets = function
            .env
            .get("STRATUS_SECRET_PARAMETERS")
            .cloned()
            .unwrap_or_default();
        assert!(
            secrets.contains(&format!("STRATUS_STORE={parameter}")),
            "{}: {secrets}",
            function.short
        );
        assert!(
            !function.env.contains_key("STRATUS_STORE"),
            "never the URL itself"
        );
        let statements = iam::function_statements(function, &deployment, &literal());
        let actions = actions(&statements);
        assert!(
            actions.iter().any(|a| a == "ssm:GetParameter"),
            "{}",
            function.short
        );
        assert!(
            !actions.iter().any(|a| a.starts_with("dynamodb:")),
            "{}: {actions:?}",
            function.short
        );
        let text = serde_json::to_string(&statements).unwrap();
        assert!(text.contains(&format!("parameter{parameter}")), "{text}");
    }
    let rendered = serde_json::to_string(&template::render(&deployment)).unwrap();
    assert!(!rendered.contains("AWS::DynamoDB::Table"));
}

#[test]
fn a_snapshot_is_read_and_never_written() {
    let dir = project();
    let text = "stage = \"snap\"\n[cache]\nmode = \"snapshot\"\nsnapshot = \"s3://published-stratus/prod/stratus.db\"\n";
    // The example schedule's ingest jobs would have nowhere to write.
    let error = Deployment::new(&Manifest::parse("snap", text).unwrap(), dir.path()).unwrap_err();
    assert!(error.reason.contains("read-only"), "{error}");
    let manifest = Manifest::parse(
        "snap",
        &format!("{text}[ingest]\nschedule = \"none.toml\"\n"),
    )
    .unwrap();
    let deployment = Deployment::new(&manifest, dir.path()).unwrap();
    assert!(deployment.tables.is_none());
    for function in &deployment.functions {
        assert_eq!(
            function.env.get("STRATUS_STORE").map(String::as_str),
            Some("s3://published-stratus/prod/stratus.db")
        );
        let statements = iam::function_statements(function, &deployment, &literal());
        let snapshot: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Sid"] == "ReadSnapshot")
            .collect();
        assert_eq!(snapshot.len(), 1, "{}", function.short);
        assert_eq!(snapshot[0]["Action"], serde_json::json!(["s3:GetObject"]));
        assert_eq!(
            snapshot[0]["Resource"],
            serde_json::json!(["arn:aws:s3:::published-stratus/prod/stratus.db"])
        );
        let actions = actions(&statements);
        assert!(
            !actions
                .iter()
                .any(|a| a.starts_with("dynamodb:") || a == "s3:PutObject"),
            "{actions:?}"
        );
    }
}

#[test]
fn store_mistakes_name_their_key() {
    for (text, key) in [
        ("[cache]\nmode = \"snapshot\"\n", "cache.snapshot"),
        (
            "[cache]\nmode = \"snapshot\"\nsnapshot = \"s3://bucket/\"\n",
            "cache.snapshot",
        ),
        (
            "[cache]\nmode = \"dynamodb\"\nsnapshot = \"s3://b/k.db\"\n",
            "cache.snapshot",
        ),
        (
            "[cache]\nmode = \"database\"\n[jobs]\nenabled = true\n",
            "jobs.enabled",
        ),
        ("[cache]\nmode = \"postgres\"\n", "line"),
    ] {
        let error = Manifest::parse("m", text).unwrap_err();
        assert_eq!(
            error.key.split(' ').next().unwrap(),
            key.split(' ').next().unwrap(),
            "{text}: {error}"
        );
    }
}
