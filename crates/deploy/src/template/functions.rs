//! A function's resources: its log group, its own role, the function, how it is reached (URL,
//! HTTP API, schedules) and its error alarm.

use serde_json::{Map, Value, json};

use super::{CODE_BUCKET, CODE_KEY, IMAGE_URI, skips, sub, tags};
use crate::iam::{self, Arns};
use crate::manifest::Auth;
use crate::model::{Deployment, Function, JobRole, Role};

/// The logical id of schedule `i`'s `j`-th rule of `function`.
pub(crate) fn rule_id(function: &Function, i: usize, j: usize) -> String {
    if j == 0 {
        format!("{}Schedule{}", function.logical, i + 1)
    } else {
        format!("{}Schedule{}Part{}", function.logical, i + 1, j + 1)
    }
}

pub(crate) fn render(
    function: &Function,
    deployment: &Deployment,
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) {
    let manifest = &deployment.manifest;
    let id = |suffix: &str| format!("{}{suffix}", function.logical);
    resources.insert(
        id("LogGroup"),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "Metadata": skips(&[("CKV_AWS_158", "encrypted by CloudWatch Logs; the logs hold no secrets (they are read from SSM, never logged), so a customer-managed key would add cost for nothing")]),
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": format!("/aws/lambda/{}", function.name),
                "RetentionInDays": manifest.logs.retention_days,
                "Tags": tags(manifest),
            }
        }),
    );
    resources.insert(
        id("Role"),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": function.name,
                "Description": format!("{}: only what this function touches", function.name),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }],
                },
                "Policies": [{
                    "PolicyName": "least-privilege",
                    "PolicyDocument": iam::document(iam::function_statements(function, deployment, &Arns::Template)),
                }],
                "Tags": tags(manifest),
            }
        }),
    );
    let mut env = Map::new();
    for (name, value) in &function.env {
        let value = if manifest.bucket.existing.is_empty() {
            sub(value)
        } else {
            Value::String(value.replace("${ExportBucket}", &manifest.bucket.existing))
        };
        env.insert(name.clone(), value);
    }
    let mut properties = json!({
        "FunctionName": function.name,
        "Description": match &function.role {
            Role::Api => "Stratus HTTP API (the `stratus serve` router)".to_string(),
            Role::Verb(verb) => format!("Stratus function mode: `stratus {verb} --json` per event"),
            Role::Ingest => "Stratus scheduled ingest: runs the event's ingest config, exports to the bucket".to_string(),
            Role::Job(role) => format!("Stratus job system: {} (sosw-compatible task tables)", role.mode()),
        },
        "Architectures": [manifest.architecture.lambda_name()],
        "MemorySize": function.memory_mb,
        "Timeout": function.timeout_s,
        "Role": {"Fn::GetAtt": [format!("{}Role", function.logical), "Arn"]},
        "Environment": {"Variables": env},
        "LoggingConfig": {"LogGroup": {"Ref": format!("{}LogGroup", function.logical)}, "LogFormat": "Text"},
        "TracingConfig": {"Mode": "PassThrough"},
        "Tags": tags(manifest),
    });
    if manifest.artifacts.image.is_empty() {
        properties["Runtime"] = json!("provided.al2023");
        properties["Handler"] = json!("bootstrap");
        properties["Code"] = json!({"S3Bucket": {"Ref": CODE_BUCKET}, "S3Key": {"Ref": CODE_KEY}});
    } else {
        properties["PackageType"] = json!("Image");
        properties["Code"] = json!({"ImageUri": {"Ref": IMAGE_URI}});
    }
    if function.access.dead_letters {
        properties["DeadLetterConfig"] =
            json!({"TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}});
    }
    let reserved = match function.role {
        Role::Api => manifest.api.reserved_concurrency,
        // Two runs of one ingest config at once would only race for the same exports.
        Role::Ingest => 1,
        Role::Verb(_) => 10,
        // One orchestrator and one scavenger at a time; the worker's cap is the job concurrency.
        Role::Job(JobRole::Orchestrator | JobRole::Scavenger) => 1,
        Role::Job(JobRole::Scheduler) => 2,
        Role::Job(JobRole::Assistant) => 20,
        Role::Job(JobRole::Worker) => manifest.jobs.max_concurrency,
    };
    if reserved > 0 {
        properties["ReservedConcurrentExecutions"] = json!(reserved);
    }
    let mut skipped = vec![
        (
            "CKV_AWS_173",
            "the environment holds no secrets (only the names of SSM parameters), and Lambda encrypts it at rest with its own key",
        ),
        (
            "CKV_AWS_272",
            "code signing needs AWS Signer profiles; the zip's integrity is its content-hashed S3 key and CloudFormation's CodeSha256",
        ),
    ];
    if manifest.vpc.is_none() {
        skipped.push(("CKV_AWS_117", "no [vpc] in the manifest: nothing the function reaches lives in a VPC, and a VPC would add NAT or endpoint costs; set [vpc] for a database inside one"));
    }
    if !function.access.dead_letters {
        skipped.push(("CKV_AWS_116", "invoked synchronously (HTTP, or direct calls): a dead-letter queue only receives failed asynchronous events"));
    }
    if let Some(vpc) = &manifest.vpc {
        properties["VpcConfig"] =
            json!({"SubnetIds": vpc.subnets, "SecurityGroupIds": vpc.security_groups});
    }
    resources.insert(
        id("Function"),
        json!({
            "Type": "AWS::Lambda::Function",
            "Metadata": skips(&skipped),
            "Properties": properties,
        }),
    );
    let function_ref = json!({"Ref": id("Function")});
    let function_arn = json!({"Fn::GetAtt": [id("Function"), "Arn"]});
    outputs.insert(
        id("FunctionName"),
        json!({"Description": format!("The {} function", function.short), "Value": function_ref}),
    );
    if function.role == Role::Api {
        if manifest.api.function_url {
            let auth = match manifest.api.auth {
                Auth::AwsIam => "AWS_IAM",
                Auth::None => "NONE",
            };
            let mut url = json!({
                "Type": "AWS::Lambda::Url",
                "Properties": {"TargetFunctionArn": function_arn, "AuthType": auth},
            });
            if manifest.api.auth == Auth::None {
                url["Metadata"] = skips(&[(
                    "CKV_AWS_258",
                    "the manifest asks for a public API (api.auth = \"none\"), like a Terracotta tile server; reserved concurrency caps what it can cost",
                )]);
            }
            resources.insert("ApiUrl".into(), url);
            if manifest.api.auth == Auth::None {
                resources.insert(
                    "ApiUrlPermission".into(),
                    json!({
                        "Type": "AWS::Lambda::Permission",
                        "Properties": {
                            "FunctionName": function_ref,
                            "Action": "lambda:InvokeFunctionUrl",
                            "Principal": "*",
                            "FunctionUrlAuthType": "NONE",
                        }
                    }),
                );
            }
            outputs.insert(
                "ApiUrl".into(),
                json!({"Description": "The API and web page (Function URL)", "Value": {"Fn::GetAtt": ["ApiUrl", "FunctionUrl"]}}),
            );
        }
        if manifest.api.http_api {
            resources.insert(
                "HttpApi".into(),
                json!({
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {
                        "Name": function.name,
                        "ProtocolType": "HTTP",
                        "Target": function_arn,
                        "Tags": manifest.tags,
                    }
                }),
            );
            resources.insert(
                "HttpApiPermission".into(),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "FunctionName": function_ref,
                        "Action": "lambda:InvokeFunction",
                        "Principal": "apigateway.amazonaws.com",
                        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"},
                    }
                }),
            );
            outputs.insert(
                "HttpApiUrl".into(),
                json!({"Description": "The API and web page (API Gateway HTTP API)", "Value": {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]}}),
            );
        }
    }
    for (i, schedule) in function.schedules.iter().enumerate() {
        for (j, expression) in schedule.expressions.iter().enumerate() {
            let rule = rule_id(function, i, j);
            let mut target = json!({
                "Id": "function",
                "Arn": function_arn,
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
            });
            if let Some(input) = &schedule.input {
                target["Input"] = json!(input.to_string());
            }
            let name = if j == 0 {
                format!("{}-{}", function.name, schedule.name)
            } else {
                format!("{}-{}-{}", function.name, schedule.name, j + 1)
            };
            let name: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '-'
                    }
                })
                .take(64)
                .collect();
            resources.insert(
                rule.clone(),
                json!({
                    "Type": "AWS::Events::Rule",
                    "Properties": {
                        "Name": name,
                        "Description": format!("{} — cron {:?} (UTC)", schedule.name, schedule.cron),
                        "ScheduleExpression": expression,
                        "State": "ENABLED",
                        "Targets": [target],
                    }
                }),
            );
            resources.insert(
                format!("{rule}Permission"),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "FunctionName": function_ref,
                        "Action": "lambda:InvokeFunction",
                        "Principal": "events.amazonaws.com",
                        "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
                    }
                }),
            );
        }
    }
    if !manifest.alarms.enabled {
        return;
    }
    let alarm = super::alarm(
        manifest,
        format!("{}-errors", function.name),
        &format!("{} reported errors", function.name),
        ("AWS/Lambda", "Errors", "Sum"),
        json!({"Name": "FunctionName", "Value": function_ref}),
    );
    resources.insert(id("ErrorsAlarm"), alarm);
}
