//! The other stack operations: delete, status, and the secrets CloudFormation cannot create.

use std::time::Instant;

use aws_sdk_cloudformation::types::StackStatus;
use serde_json::{Value, json};

use super::{Aws, DeployError, Progress, sdk_error};
use crate::model::Deployment;

pub(super) async fn delete_and_wait(
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
