//! `stratus deploy` end to end against moto's server (CloudFormation, S3, IAM, Lambda, EventBridge,
//! SQS, SSM, DynamoDB on 127.0.0.1; `STRATUS_TEST_S3` names it, as CI starts it): the stack is
//! created, verified, updated, broken on purpose, tampered with and destroyed; and the very zip
//! `apply` uploaded runs under a local Lambda Runtime API with the deployed functions' environment
//! against the tables the stack created — one ingest run from the deployed schedule's event, then
//! the deployed verb.
//!
//! moto's CloudFormation drops a function's `Architectures`, so the stacks here are x86_64 (the
//! arm64 default is checked in the rendered template and by cfn-lint).

#![allow(clippy::print_stderr)] // timings for the record

mod support {
    pub mod runtime;
}

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use serde_json::{Value, json};
use support::runtime::{FakeRuntime, Outcome};

fn endpoint() -> Option<String> {
    match std::env::var("STRATUS_TEST_S3") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "STRATUS_TEST_S3 (moto's server) is not set; .ci/run starts it"
            );
            eprintln!("skipped: set STRATUS_TEST_S3 to a moto server (python3 -m moto.server)");
            None
        }
    }
}

/// `stratus --json <args>` in process with the emulator's endpoint and credentials, in `dir`'s
/// manifest.
fn stratus(endpoint: &str, dir: &Path, args: &[&str]) -> (ExitCode, Value, String) {
    use clap::Parser;
    let mut argv = vec!["stratus".to_string(), "--json".to_string()];
    argv.extend(args.iter().map(|a| (*a).to_string()));
    if args.first() == Some(&"deploy") {
        argv.push("--manifest".into());
        argv.push(dir.join("stratus.deploy.toml").display().to_string());
    }
    let endpoint = endpoint.to_string();
    std::thread::spawn(move || {
        let cli = stratus_cli::args::Cli::try_parse_from(argv).unwrap();
        let env = move |k: &str| match k {
            "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("testing".into()),
            "AWS_REGION" => Some("us-east-1".into()),
            _ => None,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = stratus_cli::run(cli, &env, &mut out, &mut err);
        let out = String::from_utf8(out).unwrap();
        let json = serde_json::from_str(&out).unwrap_or(Value::String(out));
        (code, json, String::from_utf8(err).unwrap())
    })
    .join()
    .unwrap()
}

fn ok(result: (ExitCode, Value, String)) -> Value {
    let (code, json, err) = result;
    assert_eq!(code, ExitCode::SUCCESS, "{json} {err}");
    json
}

struct Lambda(Child);

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `bootstrap` from the zip `apply` uploaded, under `runtime` with `env`.
fn start_bootstrap(bootstrap: &Path, runtime: &FakeRuntime, env: &[(String, String)]) -> Lambda {
    let mut command = Command::new(bootstrap);
    command
        .env_clear()
        .envs(runtime.environment())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Lambda(command.spawn().expect("the packaged bootstrap starts"))
}

fn response(outcome: Outcome, id: &str) -> Value {
    match outcome {
        Outcome::Response { id: got, body } if got == id => body,
        other => panic!("expected a response to {id}, got {other:?}"),
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn unzip_bootstrap(zip: &Path, into: &Path) -> PathBuf {
    let file = std::fs::File::open(zip).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut entry = archive.by_name("bootstrap").unwrap();
    let path = into.join("bootstrap");
    let mut out = std::fs::File::create(&path).unwrap();
    std::io::copy(&mut entry, &mut out).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_is_applied_verified_updated_broken_and_destroyed_and_its_zip_runs() {
    let Some(endpoint) = endpoint() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tag = format!("t{}", std::process::id());
    let prefix = format!("{tag}_");
    // The zip `apply` uploads: this build's Lambda binary, packaged by the CLI.
    let zip = d.join("stratus-lambda.zip");
    ok(stratus(
        &endpoint,
        d,
        &[
            "package",
            "lambda",
            "--binary",
            env!("CARGO_BIN_EXE_stratus-lambda"),
            "--out",
            zip.to_str().unwrap(),
        ],
    ));
    write(
        d,
        "ingest.toml",
        "destination = \"exports\"\n[[source]]\nname = \"equities\"\nprovider = \"bundled\"\nsymbols = [\"AAPL\", \"MSFT\", \"SP500\"]\n[[source]]\nname = \"rates\"\nprovider = \"bundled\"\nkind = \"yields\"\nlookback_days = 2000\n",
    );
    write(
        d,
        "schedule.toml",
        "[[job]]\nname = \"nightly\"\ncron = \"30 22 * * MON-FRI\"\ncommand = [\"ingest\", \"--config\", \"ingest.toml\"]\n",
    );
    let manifest = |memory: u32, extra: &str| {
        format!(
            "stage = \"{tag}\"\narchitecture = \"x86_64\"\nmemory_mb = {memory}\nsecrets = [\"ALPHA_VANTAGE_KEY\"]\n[cache]\ntable_prefix = \"{prefix}\"\nretain = false\n[artifacts]\nzip = \"{}\"\n[[function]]\nname = \"profiles\"\nverb = \"risk-profile\"\nparams = {{ tickers = [\"AAPL\", \"MSFT\"], start = \"2021-01-04\", end = \"2021-12-31\" }}\n{extra}",
            zip.display()
        )
    };
    write(d, "stratus.deploy.toml", &manifest(1024, ""));

    // Dry run: the change set, nothing created.
    let dry = ok(stratus(&endpoint, d, &["deploy", "apply", "--dry-run"]));
    assert_eq!(dry["status"], "DRY_RUN", "{dry}");
    assert!(dry["changes"].as_array().unwrap().len() > 15, "{dry}");
    let (code, _, err) = stratus(&endpoint, d, &["deploy", "status"]);
    assert_ne!(code, ExitCode::SUCCESS);
    assert!(err.contains("does not exist"), "{err}");

    // Create.
    let started = std::time::Instant::now();
    let created = ok(stratus(&endpoint, d, &["deploy", "apply", "--yes"]));
    let create_s = started.elapsed().as_secs_f64();
    assert_eq!(created["status"], "CREATE_COMPLETE", "{created}");
    let outputs = &created["outputs"];
    assert_eq!(
        outputs["PricesTableName"],
        format!("{prefix}prices"),
        "{outputs}"
    );
    let bucket = outputs["ExportBucketName"].as_str().unwrap().to_string();

    // Verify: fails on the missing secret, naming it; passes once it is set.
    let (code, report, _) = stratus(&endpoint, d, &["deploy", "verify"]);
    assert_ne!(code, ExitCode::SUCCESS);
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == json!(false))
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("deploy secret set ALPHA_VANTAGE_KEY")
    );
    {
        let endpoint = endpoint.clone();
        let env = move |k: &str| match k {
            "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("testing".into()),
            _ => None,
        };
        let m = stratus_deploy::Manifest::load(&d.join("stratus.deploy.toml")).unwrap();
        let deployment = stratus_deploy::Deployment::new(&m, d).unwrap();
        let aws = stratus_deploy::aws::Aws::connect("us-east-1", &env).await;
        let stored =
            stratus_deploy::aws::set_secret(&aws, &deployment, "ALPHA_VANTAGE_KEY", "demo-key")
                .await
                .unwrap();
        assert_eq!(
            stored["parameter"],
            format!("/stratus/{tag}/ALPHA_VANTAGE_KEY")
        );
        assert!(
            !stored.to_string().contains("demo-key"),
            "the value is never echoed"
        );
    }
    let report = ok(stratus(&endpoint, d, &["deploy", "verify"]));
    assert_eq!(report["passed"], true, "{report}");

    // The uploaded zip's bootstrap, with the deployed environment, against the stack's tables.
    let manifest_now = stratus_deploy::Manifest::load(&d.join("stratus.deploy.toml")).unwrap();
    let deployment = stratus_deploy::Deployment::new(&manifest_now, d).unwrap();
    let template = stratus_deploy::template::render(&deployment);
    let bootstrap = unzip_bootstrap(&zip, d);
    let aws_env = [
        ("AWS_ENDPOINT_URL".to_string(), endpoint.clone()),
        ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
        ("AWS_REGION".to_string(), "us-east-1".to_string()),
    ];
    let function_env = |short: &str| -> Vec<(String, String)> {
        let f = deployment
            .functions
            .iter()
            .find(|f| f.short == short)
            .unwrap();
        f.env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("${ExportBucket}", &bucket)))
            .chain(aws_env.iter().cloned())
            .collect()
    };
    {
        let mut runtime = FakeRuntime::start().await;
        let _lambda = start_bootstrap(&bootstrap, &runtime, &function_env("ingest"));
        let input = template["Resources"]["IngestSchedule1"]["Properties"]["Targets"][0]["Input"]
            .as_str()
            .unwrap();
        let event: Value = serde_json::from_str(input).unwrap();
        let id = runtime.invoke(event);
        let report = response(runtime.next_outcome().await, &id);
        let source = &report["sources"][0];
        assert_eq!(source["status"], "Operational", "{report}");
        assert!(source["stored"].as_u64().unwrap() > 500, "{report}");
    }
    {
        let mut runtime = FakeRuntime::start().await;
        let _lambda = start_bootstrap(&bootstrap, &runtime, &function_env("profiles"));
        let id = runtime.invoke(json!({}));
        let profiles = response(runtime.next_outcome().await, &id);
        assert!(profiles["AAPL"]["annual_return"].is_number(), "{profiles}");
        assert!(
            profiles["MSFT"]["annual_volatility"].is_number(),
            "{profiles}"
        );
    }

    // Update: more memory and a new schedule.
    write(
        d,
        "stratus.deploy.toml",
        &manifest(
            512,
            &format!(
                "schedule = \"0 23 * * MON-FRI\"\n[jobs]\nenabled = true\ntable_prefix = \"{prefix}\"\nconfig_table = \"{prefix}config\"\nmax_concurrency = 4\n"
            ),
        ),
    );
    let started = std::time::Instant::now();
    let updated = ok(stratus(&endpoint, d, &["deploy", "apply", "--yes"]));
    let update_s = started.elapsed().as_secs_f64();
    assert_eq!(updated["status"], "UPDATE_COMPLETE", "{updated}");
    let changed: Vec<String> = updated["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c[0].as_str().unwrap(), c[1].as_str().unwrap()))
        .collect();
    assert!(
        changed.contains(&"Add FnProfilesSchedule1".to_string()),
        "{changed:?}"
    );
    assert!(
        changed.contains(&"Modify ApiFunction".to_string()),
        "{changed:?}"
    );
    let report = ok(stratus(&endpoint, d, &["deploy", "verify"]));
    assert_eq!(report["passed"], true, "{report}");
    let again = ok(stratus(&endpoint, d, &["deploy", "apply", "--yes"]));
    assert_eq!(again["status"], "NO_CHANGES", "{again}");

    // The job system the update added: the deployed scheduler makes tasks in the stack's task
    // tables, and the deployed orchestrator invokes the deployed worker through the Lambda API.
    {
        let manifest_now = stratus_deploy::Manifest::load(&d.join("stratus.deploy.toml")).unwrap();
        let deployment = stratus_deploy::Deployment::new(&manifest_now, d).unwrap();
        let env_of = |short: &str| -> Vec<(String, String)> {
            let f = deployment
                .functions
                .iter()
                .find(|f| f.short == short)
                .unwrap();
            f.env
                .iter()
                .map(|(k, v)| (k.clone(), v.replace("${ExportBucket}", &bucket)))
                .chain(aws_env.iter().cloned())
                .chain([("AWS_LAMBDA_FUNCTION_NAME".to_string(), f.name.clone())])
                .collect()
        };
        // moto accepts an asynchronous invocation without running the code (no Docker here).
        let worker = manifest_now.function_name("jobs-worker");
        let mut runtime = FakeRuntime::start().await;
        let _scheduler = start_bootstrap(&bootstrap, &runtime, &env_of("jobs-scheduler"));
        let id = runtime
            .invoke(json!({"job": {"labourer": worker, "work": "noop", "tasks": [{}, {}, {}]}}));
        let submitted = response(runtime.next_outcome().await, &id);
        assert_eq!(submitted["tasks"], 3, "{submitted}");
        let mut runtime = FakeRuntime::start().await;
        let _orchestrator = start_bootstrap(&bootstrap, &runtime, &env_of("jobs-orchestrator"));
        let id = runtime.invoke(
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
        );
        let report = response(runtime.next_outcome().await, &id);
        assert_eq!(report[&worker]["invoked"], 3, "{report}");
    }

    // A broken resource: a second stage whose tables collide with the first stack's.
    let broken = tempfile::tempdir().unwrap();
    write(
        broken.path(),
        "stratus.deploy.toml",
        &format!(
            "stage = \"b{tag}\"\narchitecture = \"x86_64\"\n[cache]\ntable_prefix = \"{prefix}\"\n[artifacts]\nzip = \"{}\"\n",
            zip.display()
        ),
    );
    let (code, _, err) = stratus(&endpoint, broken.path(), &["deploy", "apply", "--yes"]);
    assert_ne!(code, ExitCode::SUCCESS);
    assert!(
        err.contains("already exists")
            && err.contains(&format!("{prefix}prices"))
            && err.contains("rolled back"),
        "{err}"
    );
    let (_, _, err) = stratus(&endpoint, broken.path(), &["deploy", "status"]);
    assert!(err.contains("does not exist"), "{err}");

    // A table altered behind the stack's back: verify names it.
    {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let table = format!("{prefix}correlations");
        dynamodb
            .delete_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        dynamodb
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("ticker_1")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("ticker_1")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let (code, report, _) = stratus(&endpoint, d, &["deploy", "verify"]);
    assert_ne!(code, ExitCode::SUCCESS);
    let failed: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == json!(false))
        .map(|c| format!("{}: {}", c["check"], c["detail"]))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains(&format!("table {prefix}correlations"))
            && failed[0].contains("key schema"),
        "{failed:?}"
    );

    // Destroy.
    let started = std::time::Instant::now();
    let destroyed = ok(stratus(&endpoint, d, &["deploy", "destroy", "--yes"]));
    let destroy_s = started.elapsed().as_secs_f64();
    assert_eq!(destroyed["status"], "DELETE_COMPLETE");
    let (_, _, err) = stratus(&endpoint, d, &["deploy", "status"]);
    assert!(err.contains("does not exist"), "{err}");
    eprintln!(
        "moto: apply (create) {create_s:.2} s, apply (update) {update_s:.2} s, destroy {destroy_s:.2} s"
    );
}
