//! `deploy apply`: upload the artefacts, then create or update the stack through a change set,
//! following its events to the end.

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackStatus,
};
use serde_json::Value;
use sha2::Digest;

use super::ops::delete_and_wait;
use super::{Aws, DeployError, Progress, sdk_error};
use crate::model::Deployment;
use crate::template;

/// Options of `deploy apply`.
pub struct ApplyOptions<'a> {
    /// The zip (ignored with an image URI).
    pub zip: Option<Vec<u8>>,
    /// The `stratus` binary (EC2 ingest only).
    pub cli: Option<Vec<u8>>,
    /// Print the change set and stop.
    pub dry_run: bool,
    /// Asked with the change set's summary; `false` stops.
    pub confirm: &'a dyn Fn(&str) -> bool,
    /// The environment (credentials and endpoints for the upload).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// What `apply` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// Stack name.
    pub stack: String,
    /// Final status (or `NO_CHANGES`, `DRY_RUN`).
    pub status: String,
    /// The change set's changes: action, logical id, type.
    pub changes: Vec<(String, String, String)>,
    /// Outputs.
    pub outputs: serde_json::Map<String, Value>,
    /// Seconds from the change set to the end.
    pub seconds: f64,
    /// Where the code was uploaded.
    pub code: Option<String>,
}

/// Uploads the artefacts and creates or updates the stack through a change set.
pub async fn apply(
    aws: &Aws,
    deployment: &Deployment,
    options: &ApplyOptions<'_>,
    progress: &dyn Fn(Progress<'_>),
) -> Result<Applied, DeployError> {
    let manifest = &deployment.manifest;
    let name = manifest.stack_name();
    let started = Instant::now();
    let account = aws.account().await?;
    let mut parameters = Vec::new();
    let mut code = None;
    let body = template::render(deployment).to_string();
    // CloudFormation takes 51 200 bytes inline; a larger template (the job system adds five
    // tables and five functions) goes through the artefact bucket, up to 1 MB.
    let inline = body.len() <= 51_200;
    let needs_bucket =
        manifest.artifacts.image.is_empty() || !deployment.ec2_jobs.is_empty() || !inline;
    let bucket = if needs_bucket {
        Some(aws.artefact_bucket(deployment, &account, progress).await?)
    } else {
        None
    };
    let region = aws.region.clone();
    let env = |k: &str| match k {
        "AWS_REGION" => Some(region.clone()),
        _ => (options.env)(k),
    };
    let upload = |bytes: &[u8], stem: &str| {
        let hash = sha2::Sha256::digest(bytes);
        let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
        (format!("{stem}-{hex}"), bytes.to_vec())
    };
    if let Some(bucket) = &bucket {
        parameters.push(param(template::CODE_BUCKET, bucket));
        let destination = stratus_ingest::Destination::open(&format!("s3://{bucket}/{name}"), &env)
            .map_err(|e| DeployError::Input(e.to_string()))?;
        if manifest.artifacts.image.is_empty() {
            let zip = options.zip.as_deref().ok_or_else(|| {
                DeployError::Input(format!(
                    "no Lambda zip at {}; build it with `stratus package lambda` (see the README's \"Deploy to AWS\")",
                    manifest.artifacts.zip.display()
                ))
            })?;
            let (key, bytes) = upload(zip, "stratus-lambda");
            let key = put(&destination, &name, format!("{key}.zip"), bytes, progress).await?;
            parameters.push(param(template::CODE_KEY, &key));
            code = Some(format!("s3://{bucket}/{key}"));
        }
        if !deployment.ec2_jobs.is_empty() {
            let cli = options.cli.as_deref().ok_or_else(|| {
                DeployError::Input(format!(
                    "ingest.compute = \"ec2-schedule\" needs the stratus binary at {}; build it for the instance's architecture",
                    manifest.artifacts.cli.display()
                ))
            })?;
            let (key, bytes) = upload(cli, "stratus");
            let key = put(&destination, &name, key, bytes, progress).await?;
            parameters.push(param(template::CLI_KEY, &key));
        }
    }
    if body.len() > 1_000_000 {
        return Err(DeployError::Input(format!(
            "the template is {} bytes, above CloudFormation's 1 MB; deploy fewer [[function]]s per stack",
            body.len()
        )));
    }
    let template_url = match (&bucket, inline) {
        (Some(bucket), false) => {
            let destination =
                stratus_ingest::Destination::open(&format!("s3://{bucket}/{name}"), &env)
                    .map_err(|e| DeployError::Input(e.to_string()))?;
            let (key, bytes) = upload(body.as_bytes(), "template");
            let key = put(&destination, &name, format!("{key}.json"), bytes, progress).await?;
            Some(format!(
                "https://{bucket}.s3.{}.amazonaws.com/{key}",
                aws.region
            ))
        }
        _ => None,
    };
    let existing = aws.stack(&name).await?;
    let mut change_type = ChangeSetType::Create;
    if let Some(stack) = &existing {
        match stack.stack_status.as_ref() {
            Some(StackStatus::RollbackComplete) | Some(StackStatus::ReviewInProgress) => {
                progress(Progress::Step(&format!(
                    "deleting {name}, left empty by a failed create"
                )));
                delete_and_wait(aws, &name, progress).await?;
            }
            Some(s) if s.as_str().ends_with("_IN_PROGRESS") => {
                return Err(DeployError::Input(format!(
                    "stack {name} is busy ({}); wait for it (stratus deploy status) and apply again",
                    s.as_str()
                )));
            }
            _ => change_type = ChangeSetType::Update,
        }
    }
    let change_set = format!("stratus-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let mut request = aws
        .cfn
        .create_change_set()
        .stack_name(&name)
        .change_set_name(&change_set)
        .change_set_type(change_type.clone())
        .set_template_body(template_url.is_none().then(|| body.clone()))
        .set_template_url(template_url.clone())
        .capabilities(Capability::CapabilityNamedIam)
        .set_parameters(Some(parameters));
    for (k, v) in &manifest.tags {
        request = request.tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key(k)
                .value(v)
                .build(),
        );
    }
    if let Err(e) = request.send().await {
        let error = sdk_error("cloudformation:CreateChangeSet", e);
        // CloudFormation reports "nothing to change" as a failed change set; some emulators as
        // this call's error.
        if error.to_string().contains("No updates are to be performed") {
            return Ok(unchanged(aws, &name, started, code).await);
        }
        return Err(error);
    }
    let described = loop {
        let d = aws
            .cfn
            .describe_change_set()
            .stack_name(&name)
            .change_set_name(&change_set)
            .send()
            .await
            .map_err(|e| sdk_error("cloudformation:DescribeChangeSet", e))?;
        match d.status {
            Some(ChangeSetStatus::CreatePending) | Some(ChangeSetStatus::CreateInProgress) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => break d,
        }
    };
    let delete_change_set = || async {
        let _ = aws
            .cfn
            .delete_change_set()
            .stack_name(&name)
            .change_set_name(&change_set)
            .send()
            .await;
    };
    if described.status == Some(ChangeSetStatus::Failed) {
        let reason = described.status_reason.unwrap_or_default();
        delete_change_set().await;
        if reason.contains("didn't contain changes") || reason.contains("No updates") {
            return Ok(unchanged(aws, &name, started, code).await);
        }
        return Err(DeployError::Aws {
            action: "cloudformation:CreateChangeSet".into(),
            message: reason,
        });
    }
    let changes: Vec<(String, String, String)> = described
        .changes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.resource_change)
        .map(|r| {
            (
                r.action.map(|a| a.as_str().to_string()).unwrap_or_default(),
                r.logical_resource_id.unwrap_or_default(),
                r.resource_type.unwrap_or_default(),
            )
        })
        .collect();
    let summary = format!(
        "{} {name}: {} change(s)",
        if change_type == ChangeSetType::Create {
            "create"
        } else {
            "update"
        },
        changes.len()
    );
    if options.dry_run || !(options.confirm)(&summary) {
        delete_change_set().await;
        if change_type == ChangeSetType::Create {
            // A create change set leaves an empty stack in REVIEW_IN_PROGRESS behind.
            let _ = aws.cfn.delete_stack().stack_name(&name).send().await;
        }
        if !options.dry_run {
            return Err(DeployError::Input(format!(
                "not applied ({summary}); pass --yes to apply without asking"
            )));
        }
        return Ok(Applied {
            stack: name,
            status: "DRY_RUN".into(),
            changes,
            outputs: serde_json::Map::new(),
            seconds: started.elapsed().as_secs_f64(),
            code,
        });
    }
    let since = std::time::SystemTime::now();
    progress(Progress::Step(&summary));
    if let Err(e) = aws
        .cfn
        .execute_change_set()
        .stack_name(&name)
        .change_set_name(&change_set)
        .send()
        .await
    {
        // An emulator may fail a resource inside this call rather than in the stack's events.
        let error = sdk_error("cloudformation:ExecuteChangeSet", e);
        let rolled_back = if change_type == ChangeSetType::Create {
            delete_and_wait(aws, &name, progress).await.is_ok()
        } else {
            false
        };
        return Err(DeployError::Aws {
            action: format!(
                "{} {name}",
                if rolled_back {
                    "creating (rolled back: stack deleted)"
                } else {
                    "updating"
                }
            ),
            message: error.to_string(),
        });
    }
    let stack = aws.wait(&name, since, progress).await?;
    let status = stack
        .as_ref()
        .and_then(|s| s.stack_status.clone())
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "DELETED".into());
    if status != "CREATE_COMPLETE" && status != "UPDATE_COMPLETE" {
        let reason = aws.failure_reason(&name, since).await;
        return Err(DeployError::Aws {
            action: format!("stack {name} ended {status}"),
            message: reason,
        });
    }
    Ok(Applied {
        stack: name.clone(),
        status,
        changes,
        outputs: aws.outputs(&name).await?,
        seconds: started.elapsed().as_secs_f64(),
        code,
    })
}

/// Uploads one artefact (kept if that content is already there: keys carry a content hash).
async fn put(
    destination: &stratus_ingest::Destination,
    stack: &str,
    key: String,
    bytes: Vec<u8>,
    progress: &dyn Fn(Progress<'_>),
) -> Result<String, DeployError> {
    progress(Progress::Step(&format!(
        "uploading {:.1} MiB to {}/{key}",
        bytes.len() as f64 / 1_048_576.0,
        destination.shown()
    )));
    destination
        .put(&key, bytes, false)
        .await
        .map_err(|e| DeployError::Aws {
            action: "s3:PutObject".into(),
            message: e.to_string(),
        })?;
    Ok(format!("{stack}/{key}"))
}

/// What `apply` reports when the stack already is what the manifest says.
async fn unchanged(aws: &Aws, name: &str, started: Instant, code: Option<String>) -> Applied {
    Applied {
        stack: name.to_string(),
        status: "NO_CHANGES".into(),
        changes: vec![],
        outputs: aws.outputs(name).await.unwrap_or_default(),
        seconds: started.elapsed().as_secs_f64(),
        code,
    }
}

fn param(key: &str, value: &str) -> Parameter {
    Parameter::builder()
        .parameter_key(key)
        .parameter_value(value)
        .build()
}
