//! Applying a deployment through the AWS APIs (the standard AWS configuration, so
//! `AWS_ENDPOINT_URL` points everything at an emulator): the artefact bucket and upload, the
//! stack's change set, waiting on its events, and deleting it. Errors are classified once: the
//! caller's input, a stack that does not exist, an endpoint that cannot be reached, or what AWS
//! answered (with the failing resource's reason).

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{Stack, StackEvent, StackStatus};
use serde_json::Value;
use stratus_analytics::ErrorClass;

use crate::model::Deployment;
use crate::template;

mod apply;
mod ops;

pub use apply::{Applied, ApplyOptions, apply};
pub use ops::{destroy, set_secret, status};

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
        // Every AWS call gives up rather than hang: 5 s to connect, 60 s per operation.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .timeout_config(timeouts);
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
