//! Applying a deployment through the AWS APIs (the standard AWS configuration, so
//! `AWS_ENDPOINT_URL` points everything at an emulator): the artefact bucket and upload, the
//! stack's change set, waiting on its events, and deleting it. Errors are classified once: the
//! caller's input, a stack that does not exist, an endpoint that cannot be reached, or what AWS
//! answered (with the failing resource's reason).

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, StackEvent, StackStatus,
};
use serde_json::{Value, json};
use sha2::Digest;
use stratus_analytics::ErrorClass;

use crate::model::Deployment;
use crate::template;

/// A deployment that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The manifest.
    #[error(transparent)]
    Manifest(#[from] crate::ManifestError),
    /// The schedule or ingest files.
    #[error(transparent)]
    Model(#[from] crate::ModelError),
    /// Something the caller can fix (a missing zip, a refused confirmation).
    #[error("{0}")]
    Input(String),
    /// The stack does not exist.
    #[error("stack {0} does not exist; create it with `stratus deploy apply`")]
    NoStack(String),
    /// AWS (or the emulator) could not be reached.
    #[error(
        "{action}: cannot reach AWS ({message}); check AWS_ENDPOINT_URL, the region and the network"
    )]
    Unavailable {
        /// The API call.
        action: String,
        /// What happened.
        message: String,
    },
    /// AWS answered with an error, or the stack failed.
    #[error("{action}: {message}")]
    Aws {
        /// The API call or stack operation.
        action: String,
        /// AWS's reason.
        message: String,
    },
}

impl DeployError {
    /// The class that decides exit codes.
    pub fn class(&self) -> ErrorClass {
        match self {
            DeployError::Manifest(_) | DeployError::Model(_) | DeployError::Input(_) => {
                ErrorClass::UserInput
            }
            DeployError::NoStack(_) => ErrorClass::NotFound,
            DeployError::Unavailable { .. } => ErrorClass::Unavailable,
            DeployError::Aws { .. } => ErrorClass::Upstream,
        }
    }
}

/// Classifies an SDK error: no answer is `Unavailable`; an answer is what AWS said. An answer the
/// SDK cannot parse (an emulator's JSON where XML was due) still yields its message.
pub(crate) fn sdk_error<E, R>(action: &str, error: SdkError<E, R>) -> DeployError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + RawBody,
{
    use aws_sdk_cloudformation::error::DisplayErrorContext;
    match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => DeployError::Unavailable {
            action: action.into(),
            message: DisplayErrorContext(&error).to_string(),
        },
        SdkError::ServiceError(service) => {
            let e = service.err();
            let message = match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (code, message) => {
                    // An answer the SDK could not read (an emulator's JSON for an XML API).
                    let body = service.raw().body_text();
                    let parsed = serde_json::from_str::<Value>(&body).ok();
                    let from_body = parsed.as_ref().and_then(|v| {
                        let message = v["message"].as_str().or(v["Message"].as_str())?;
                        let kind = v["__type"].as_str().unwrap_or("Error");
                        Some(format!("{kind}: {message}"))
                    });
                    from_body.unwrap_or_else(|| {
                        format!(
                            "{}: {}",
                            code.unwrap_or("Error"),
                            message.map(str::to_string).unwrap_or(body)
                        )
                    })
                }
            };
            DeployError::Aws {
                action: action.into(),
                message,
            }
        }
        SdkError::ResponseError(response) => {
            let body = response.raw().body_text();
            let message = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or(body);
            DeployError::Aws {
                action: action.into(),
                message,
            }
        }
        _ => DeployError::Aws {
            action: action.into(),
            message: DisplayErrorContext(&error).to_string(),
        },
    }
}

/// The body of a raw HTTP response, as text.
pub(crate) trait RawBody {
    /// The body.
    fn body_text(&self) -> String;
}

impl RawBody for aws_smithy_runtime_api::http::Response {
    fn body_text(&self) -> String {
        self.body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
}

/// Clients for one region.
pub struct Aws {
    pub(crate) config: aws_config::SdkConfig,
    pub(crate) cfn: aws_sdk_cloudformation::Client,
    pub(crate) region: String,
}

/// What `apply` reports along the way.
pub enum Progress<'a> {
    /// A step ("uploading …").
    Step(&'a str),
    /// A stack event.
    Event(&'a StackEvent),
}

impl Aws {
    /// Clients for `region` from the standard AWS configuration; `env` may supply
    /// `AWS_ENDPOINT_URL` and static credentials (else the usual chain reads the process's).
    pub async fn connect(region: &str, env: &dyn Fn(&str) -> Option<String>) -> Aws {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()));
        if let Some(endpoint) = env("AWS_ENDPOINT_URL").filter(|e| !e.is_empty()) {
            loader = loader.endpoint_url(endpoint);
        }
        if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            loader = loader.credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
                id,
                secret,
                env("AWS_SESSION_TOKEN"),
                None,
                "environment",
            ));
        }
        let config = loader.load().await;
        Aws {
            cfn: aws_sdk_cloudformation::Client::new(&config),
            config,
            region: region.to_string(),
        }
    }

    /// The caller's account id.
    pub async fn account(&self) -> Result<String, DeployError> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        let answer = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts:GetCallerIdentity", e))?;
        answer.account.ok_or_else(|| DeployError::Aws {
            action: "sts:GetCallerIdentity".into(),
            message: "no account in the answer".into(),
        })
    }

    /// The stack, if it exists.
    pub async fn stack(&self, name: &str) -> Result<Option<Stack>, DeployError> {
        match self.cfn.describe_stacks().stack_name(name).send().await {
            Ok(answer) => Ok(answer.stacks.unwrap_or_default().into_iter().next()),
            Err(e) => {
                let missing = e
                    .as_service_error()
                    .and_then(|s| s.message())
                    .is_some_and(|m| m.contains("does not exist"));
                if missing {
                    Ok(None)
                } else {
                    Err(sdk_error("cloudformation:DescribeStacks", e))
                }
            }
        }
    }

    /// The stack's events, newest first.
    pub async fn events(&self, name: &str) -> Result<Vec<StackEvent>, DeployError> {
        let answer = self
            .cfn
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("cloudformation:DescribeStackEvents", e))?;
        Ok(answer.stack_events.unwrap_or_default())
    }

    /// The stack's outputs; where the service left them out (moto after a change set), the
    /// physical ids of the resources the outputs name.
    pub async fn outputs(&self, name: &str) -> Result<serde_json::Map<String, Value>, DeployError> {
        let stack = self
            .stack(name)
            .await?
            .ok_or_else(|| DeployError::NoStack(name.into()))?;
        let mut out = serde_json::Map::new();
        for o in stack.outputs.unwrap_or_default() {
            if let (Some(k), Some(v)) = (o.output_key, o.output_value) {
                out.insert(k, Value::String(v));
            }
        }
        if out.is_empty() {
            let resources = self
                .cfn
                .describe_stack_resources()
                .stack_name(name)
                .send()
                .await
                .map_err(|e| sdk_error("cloudformation:DescribeStackResources", e))?;
            for r in resources.stack_resources.unwrap_or_default() {
                let (Some(logical), Some(physical)) =
                    (r.logical_resource_id, r.physical_resource_id)
                else {
                    continue;
                };
                let key = match logical.as_str() {
                    "ExportBucket" => "ExportBucketName".to_string(),
                    "DeadLetterQueue" => "DeadLetterQueueUrl".to_string(),
                    l if l.ends_with("Table") || l.ends_with("Function") => format!("{l}Name"),
                    _ => continue,
                };
                out.insert(key, Value::String(physical));
            }
        }
        Ok(out)
    }

    /// Waits until the stack leaves every `*_IN_PROGRESS` state, reporting each new event;
    /// `None` when it was deleted.
    async fn wait(
        &self,
        name: &str,
        since: std::time::SystemTime,
        progress: &dyn Fn(Progress<'_>),
    ) -> Result<Option<Stack>, DeployError> {
        let started = Instant::now();
        let mut seen = std::collections::HashSet::new();
        let mut delay = Duration::from_millis(300);
        loop {
            let stack = self.stack(name).await?;
            if let Ok(events) = self.events(name).await {
                for event in events.iter().rev() {
                    let recent = event
                        .timestamp
                        .and_then(|t| std::time::SystemTime::try_from(t).ok())
                        .is_none_or(|t| t + Duration::from_secs(1) >= since);
                    if recent && seen.insert(event.event_id.clone().unwrap_or_default()) {
                        progress(Progress::Event(event));
                    }
                }
            }
            let Some(stack) = stack else {
                return Ok(None);
            };
            let status = stack.stack_status.clone();
            let busy = status
                .as_ref()
                .is_some_and(|s| s.as_str().ends_with("_IN_PROGRESS"));
            if !busy {
                return Ok(Some(stack));
            }
            if started.elapsed() > Duration::from_secs(3600) {
                return Err(DeployError::Aws {
                    action: format!("stack {name}"),
                    message: "still in progress after an hour; see `stratus deploy status`".into(),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// The reason of the first failed resource among the stack's events since `since`.
    async fn failure_reason(&self, name: &str, since: std::time::SystemTime) -> String {
        let events = self.events(name).await.unwrap_or_default();
        events
            .iter()
            .rev()
            .filter(|e| {
                e.timestamp
                    .and_then(|t| std::time::SystemTime::try_from(t).ok())
                    .is_none_or(|t| t + Duration::from_secs(1) >= since)
            })
            .find(|e| {
                e.resource_status
                    .as_ref()
                    .is_some_and(|s| s.as_str().ends_with("_FAILED"))
            })
            .map(|e| {
                format!(
                    "{} ({}): {}",
                    e.logical_resource_id.as_deref().unwrap_or("?"),
                    e.resource_type.as_deref().unwrap_or("?"),
                    e.resource_status_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                )
            })
            .unwrap_or_else(|| "no resource reported a failure".into())
    }

    /// Makes sure the artefact bucket exists (its own small stack) and returns its name.
    async fn artefact_bucket(
        &self,
        deployment: &Deployment,
        account: &str,
        progress: &dyn Fn(Progress<'_>),
    ) -> Result<String, DeployError> {
        let manifest = &deployment.manifest;
        if !manifest.artifacts.bucket.is_empty() {
            return Ok(manifest.artifacts.bucket.clone());
        }
        let bucket = format!("{}-artifacts-{account}", manifest.stack_name());
        let stack = format!("{}-artifacts", manifest.stack_name());
        if let Some(existing) = self.stack(&stack).await?
            && existing.stack_status.as_ref().is_some_and(|s| {
                matches!(s, StackStatus::CreateComplete | StackStatus::UpdateComplete)
            })
        {
            return Ok(bucket);
        }
        progress(Progress::Step(&format!(
            "creating the artefact bucket {bucket}"
        )));
        let since = std::time::SystemTime::now();
        self.cfn
            .create_stack()
            .stack_name(&stack)
            .template_body(template::artefact_template(&bucket).to_string())
            .send()
            .await
            .map_err(|e| sdk_error("cloudformation:CreateStack (artefacts)", e))?;
        let done = self.wait(&stack, since, progress).await?;
        match done.and_then(|s| s.stack_status) {
            Some(StackStatus::CreateComplete) => Ok(bucket),
            other => Err(DeployError::Aws {
                action: format!("stack {stack}"),
                message: format!("{other:?}: {}", self.failure_reason(&stack, since).await),
            }),
        }
    }
}

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
    let needs_bucket = manifest.artifacts.image.is_empty() || !deployment.ec2_jobs.is_empty();
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
    let body = template::render(deployment).to_string();
    if body.len() > 51_200 {
        return Err(DeployError::Input(format!(
            "the template is {} bytes, above CloudFormation's 51 200 for an inline body; deploy fewer [[function]]s per stack",
            body.len()
        )));
    }
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
        .template_body(&body)
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

async fn delete_and_wait(
    aws: &Aws,
    name: &str,
    progress: &dyn Fn(Progress<'_>),
) -> Result<(), DeployError> {
    let since = std::time::SystemTime::now();
    aws.cfn
        .delete_stack()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| sdk_error("cloudformation:DeleteStack", e))?;
    match aws.wait(name, since, progress).await? {
        None => Ok(()),
        Some(stack) if stack.stack_status == Some(StackStatus::DeleteComplete) => Ok(()),
        Some(stack) => Err(DeployError::Aws {
            action: format!("deleting {name}"),
            message: format!(
                "{:?}: {}",
                stack.stack_status,
                aws.failure_reason(name, since).await
            ),
        }),
    }
}

/// Deletes the stack and waits; retained tables and buckets stay.
pub async fn destroy(
    aws: &Aws,
    deployment: &Deployment,
    progress: &dyn Fn(Progress<'_>),
) -> Result<Value, DeployError> {
    let name = deployment.manifest.stack_name();
    let started = Instant::now();
    if aws.stack(&name).await?.is_none() {
        return Err(DeployError::NoStack(name));
    }
    delete_and_wait(aws, &name, progress).await?;
    let retained: Vec<String> = deployment
        .tables
        .iter()
        .flat_map(|t| t.all().map(|t| t.name.clone()))
        .filter(|_| deployment.manifest.cache.retain)
        .chain(
            deployment
                .manifest
                .bucket
                .existing
                .is_empty()
                .then(|| "the export bucket".to_string()),
        )
        .collect();
    Ok(json!({
        "stack": name,
        "status": "DELETE_COMPLETE",
        "seconds": started.elapsed().as_secs_f64(),
        "retained": retained,
    }))
}

/// The stack's status, outputs and latest events.
pub async fn status(aws: &Aws, deployment: &Deployment) -> Result<Value, DeployError> {
    let name = deployment.manifest.stack_name();
    let stack = aws
        .stack(&name)
        .await?
        .ok_or_else(|| DeployError::NoStack(name.clone()))?;
    let events: Vec<Value> = aws
        .events(&name)
        .await?
        .iter()
        .take(10)
        .map(|e| {
            json!({
                "time": e.timestamp.map(|t| t.to_string()),
                "resource": e.logical_resource_id,
                "status": e.resource_status.as_ref().map(|s| s.as_str().to_string()),
                "reason": e.resource_status_reason,
            })
        })
        .collect();
    Ok(json!({
        "stack": name,
        "status": stack.stack_status.map(|s| s.as_str().to_string()),
        "reason": stack.stack_status_reason,
        "outputs": aws.outputs(&name).await?,
        "events": events,
    }))
}

/// Stores `value` as the SecureString parameter of secret `name`; returns the parameter and its
/// version (never the value).
pub async fn set_secret(
    aws: &Aws,
    deployment: &Deployment,
    name: &str,
    value: &str,
) -> Result<Value, DeployError> {
    let known = deployment.manifest.secrets.iter().any(|s| s == name)
        || deployment
            .secret_parameters()
            .contains(&deployment.manifest.secret_parameter(name));
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        return Err(DeployError::Input(format!(
            "secret name {name:?} must be an environment variable name such as ALPHA_VANTAGE_KEY"
        )));
    }
    if value.is_empty() {
        return Err(DeployError::Input(format!(
            "no value for {name} on standard input; pipe it in: `printf %s \"$KEY\" | stratus deploy secret set {name}`"
        )));
    }
    let parameter = deployment.manifest.secret_parameter(name);
    let ssm = aws_sdk_ssm::Client::new(&aws.config);
    let answer = ssm
        .put_parameter()
        .name(&parameter)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .description(format!("{name} for {}", deployment.manifest.stack_name()))
        .send()
        .await
        .map_err(|e| sdk_error("ssm:PutParameter", e))?;
    Ok(json!({
        "secret": name,
        "parameter": parameter,
        "version": answer.version,
        "used_by_the_deployment": known,
    }))
}
