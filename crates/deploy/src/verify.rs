//! `stratus deploy verify`: the deployed stack checked against the resource model — Terracotta's
//! deploy-time integrity check, done for every part: the tables' keys, attributes and indexes
//! against the layouts the store uses, the bucket, every function's runtime, architecture, size
//! and environment, the secrets, and the API where it can be reached from here.

use serde_json::{Value, json};
use stratus_store::tables::TableLayout;

use crate::aws::{Aws, DeployError, sdk_error};
use crate::model::Deployment;

/// One check's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// What was checked.
    pub check: String,
    /// Passed, failed, or `None` when it could not be made from here.
    pub ok: Option<bool>,
    /// What was found.
    pub detail: String,
}

fn check(name: String, ok: Option<bool>, detail: impl Into<String>) -> Check {
    Check {
        check: name,
        ok,
        detail: detail.into(),
    }
}

/// How a deployed table differs from its layout (empty: it matches).
pub fn table_differences(
    table: &TableLayout,
    described: &aws_sdk_dynamodb::types::TableDescription,
) -> Vec<String> {
    use aws_sdk_dynamodb::types::KeyType;
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> (String, Option<String>) {
        let find = |kind: KeyType| {
            schema
                .iter()
                .find(|k| k.key_type == kind)
                .map(|k| k.attribute_name.clone())
        };
        (
            find(KeyType::Hash).unwrap_or_default(),
            find(KeyType::Range),
        )
    };
    let mut out = Vec::new();
    let (hash, range) = keys(described.key_schema());
    if hash != table.hash || range.as_deref() != table.range {
        out.push(format!(
            "key schema is ({hash}, {}) but the store expects ({}, {})",
            range.as_deref().unwrap_or("-"),
            table.hash,
            table.range.unwrap_or("-")
        ));
    }
    for index in &table.indexes {
        let name = Some(index.name.as_str());
        let found = if index.local {
            described
                .local_secondary_indexes()
                .iter()
                .find(|l| l.index_name() == name)
                .map(|l| l.key_schema())
        } else {
            described
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == name)
                .map(|g| g.key_schema())
        };
        match found {
            None => out.push(format!("index {} is missing", index.name)),
            Some(schema) => {
                let (h, r) = keys(schema);
                if h != index.hash || r.as_deref() != index.range {
                    out.push(format!(
                        "index {} is keyed ({h}, {}) but the store expects ({}, {})",
                        index.name,
                        r.as_deref().unwrap_or("-"),
                        index.hash,
                        index.range.unwrap_or("-")
                    ));
                }
            }
        }
    }
    out
}

/// Every check of the deployed stack.
pub async fn verify(
    aws: &Aws,
    deployment: &Deployment,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Check>, DeployError> {
    let manifest = &deployment.manifest;
    let name = manifest.stack_name();
    let stack = aws
        .stack(&name)
        .await?
        .ok_or_else(|| DeployError::NoStack(name.clone()))?;
    let status = stack
        .stack_status
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let mut checks = vec![check(
        format!("stack {name}"),
        Some(status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE"),
        status,
    )];
    let outputs = aws.outputs(&name).await?;
    let cache = deployment.tables.iter().flat_map(|t| t.all());
    let tasks = deployment.task_tables.iter().flat_map(|t| t.all());
    let all: Vec<&TableLayout> = cache.chain(tasks).collect();
    if !all.is_empty() {
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws.config);
        for table in all {
            let label = format!("table {}", table.name);
            match dynamodb
                .describe_table()
                .table_name(&table.name)
                .send()
                .await
            {
                Ok(answer) => match answer.table {
                    Some(described) => {
                        let differences = table_differences(table, &described);
                        checks.push(if differences.is_empty() {
                            check(label, Some(true), "keys and indexes as the store expects")
                        } else {
                            check(label, Some(false), differences.join("; "))
                        });
                    }
                    None => checks.push(check(label, Some(false), "no description")),
                },
                Err(e) => checks.push(check(
                    label,
                    Some(false),
                    sdk_error("dynamodb:DescribeTable", e).to_string(),
                )),
            }
        }
    }
    let bucket = outputs
        .get("ExportBucketName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| manifest.bucket.existing.clone());
    let region = manifest.region.clone();
    let env = |k: &str| match k {
        "AWS_REGION" => Some(region.clone()),
        _ => env(k),
    };
    let label = format!("bucket {bucket}");
    match stratus_ingest::Destination::open(
        &format!("s3://{bucket}/{}", manifest.export_prefix()),
        &env,
    ) {
        Ok(destination) => match destination.check().await {
            Ok(()) => checks.push(check(label, Some(true), "exists and lists")),
            Err(e) => checks.push(check(label, Some(false), e.to_string())),
        },
        Err(e) => checks.push(check(label, Some(false), e.to_string())),
    }
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    for function in &deployment.functions {
        let label = format!("function {}", function.name);
        let answer = match lambda
            .get_function_configuration()
            .function_name(&function.name)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                checks.push(check(
                    label,
                    Some(false),
                    sdk_error("lambda:GetFunctionConfiguration", e).to_string(),
                ));
                continue;
            }
        };
        let mut problems = Vec::new();
        let architecture = manifest.architecture.lambda_name();
        let architectures: Vec<&str> = answer.architectures().iter().map(|a| a.as_str()).collect();
        if architectures != [architecture] {
            problems.push(format!(
                "architectures {architectures:?}, expected [{architecture}]"
            ));
        }
        if manifest.artifacts.image.is_empty() {
            let runtime = answer.runtime().map(|r| r.as_str()).unwrap_or("none");
            if runtime != "provided.al2023" {
                problems.push(format!("runtime {runtime}, expected provided.al2023"));
            }
        }
        if answer.memory_size() != Some(function.memory_mb as i32) {
            problems.push(format!(
                "memory {:?} MB, expected {}",
                answer.memory_size(),
                function.memory_mb
            ));
        }
        if answer.timeout() != Some(function.timeout_s as i32) {
            problems.push(format!(
                "timeout {:?} s, expected {}",
                answer.timeout(),
                function.timeout_s
            ));
        }
        let variables = answer
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default();
        for (key, expected) in &function.env {
            match variables.get(key) {
                None => problems.push(format!("environment lacks {key}")),
                Some(actual) if !expected.contains("${") && actual != expected => {
                    problems.push(format!("{key}={actual:?}, expected {expected:?}"))
                }
                Some(_) => {}
            }
        }
        checks.push(if problems.is_empty() {
            check(
                label,
                Some(true),
                format!(
                    "{} {architecture}, {} MB, {} s, environment as deployed",
                    answer.runtime().map(|r| r.as_str()).unwrap_or("image"),
                    function.memory_mb,
                    function.timeout_s
                ),
            )
        } else {
            check(label, Some(false), problems.join("; "))
        });
    }
    let ssm = aws_sdk_ssm::Client::new(&aws.config);
    for parameter in deployment.secret_parameters() {
        let label = format!("secret {parameter}");
        match ssm.get_parameter().name(&parameter).send().await {
            Ok(_) => checks.push(check(label, Some(true), "exists")),
            Err(e) => checks.push(check(
                label,
                Some(false),
                format!(
                    "{}; create it with `stratus deploy secret set {}`",
                    sdk_error("ssm:GetParameter", e),
                    parameter.rsplit('/').next().unwrap_or_default()
                ),
            )),
        }
    }
    if let Some(url) = outputs.get("ApiUrl").and_then(Value::as_str) {
        checks.extend(check_api(url).await);
    }
    Ok(checks)
}

/// `GET /health` and one small analytics request, where the URL answers from here.
pub async fn check_api(url: &str) -> Vec<Check> {
    let base = url.trim_end_matches('/');
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => return vec![check("api".into(), None, e.to_string())],
    };
    let health = format!("{base}/health");
    match client.get(&health).send().await {
        Err(e) => vec![check(
            format!("api {health}"),
            None,
            format!("not reachable from here ({e}); skipped"),
        )],
        Ok(answer) if answer.status().as_u16() == 403 => vec![check(
            format!("api {health}"),
            None,
            "reachable; it needs signed requests (api.auth = \"aws-iam\"), so it was not called",
        )],
        Ok(answer) if !answer.status().is_success() => vec![check(
            format!("api {health}"),
            Some(false),
            format!("HTTP {}", answer.status()),
        )],
        Ok(answer) => {
            let text = answer.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(json!(null));
            let mut out = vec![check(format!("api {health}"), Some(true), body.to_string())];
            let request = format!("{base}/api/risk-profile?tickers=AAPL");
            let ok = match client.get(&request).send().await {
                Ok(a) => (a.status().is_success(), format!("HTTP {}", a.status())),
                Err(e) => (false, e.to_string()),
            };
            out.push(check(format!("api {request}"), Some(ok.0), ok.1));
            out
        }
    }
}
