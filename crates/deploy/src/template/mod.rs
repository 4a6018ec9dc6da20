//! CloudFormation from the resource model. Tables come from the very layouts the DynamoDB store
//! provisions with; each function's role from [`crate::iam`]; schedules from [`crate::cron`].
//! Every resource the stack names starts with `{stack}-{stage}`, which is what the deployer's
//! policy is scoped to.

mod ec2;
mod functions;

use serde_json::{Map, Value, json};
use stratus_store::tables::{
    AttributeType, CacheTables, Projection, TableKind, TableLayout, TaskTables,
};

use crate::iam::dead_letter_queue_name;
use crate::manifest::{Billing, Manifest};
use crate::model::{Deployment, JobRole, Role};

/// How the functions' code is given to the template.
pub const CODE_BUCKET: &str = "CodeBucket";
/// The zip's key in the code bucket.
pub const CODE_KEY: &str = "CodeKey";
/// A container image URI instead of a zip.
pub const IMAGE_URI: &str = "ImageUri";
/// The `stratus` CLI binary's key (EC2 ingest).
pub const CLI_KEY: &str = "CliKey";

/// The logical id of a cache table.
pub fn table_logical_id(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Prices => "PricesTable",
        TableKind::Interest => "InterestTable",
        TableKind::Profile => "ProfileTable",
        TableKind::Correlations => "CorrelationsTable",
    }
}

/// A `Fn::Sub` of `text` when it refers to anything (`${…}`), else the text.
pub(crate) fn sub(text: &str) -> Value {
    if text.contains("${") {
        json!({"Fn::Sub": text})
    } else {
        Value::String(text.to_string())
    }
}

/// checkov findings left on purpose, each with the reason, in the resource's `Metadata` (so the
/// template itself says why).
pub(crate) fn skips(checks: &[(&str, &str)]) -> Value {
    json!({"checkov": {"skip": checks.iter().map(|(id, comment)| json!({"id": id, "comment": comment})).collect::<Vec<_>>()}})
}

/// The tags every taggable resource carries.
pub(crate) fn tags(manifest: &Manifest) -> Value {
    let mut tags = vec![json!({"Key": "stratus:stack", "Value": manifest.stack_name()})];
    tags.extend(
        manifest
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v})),
    );
    Value::Array(tags)
}

/// The CloudFormation template of `deployment`.
pub fn render(deployment: &Deployment) -> Value {
    let manifest = &deployment.manifest;
    let mut resources = Map::new();
    let mut outputs = Map::new();
    let mut parameters = Map::new();
    if manifest.artifacts.image.is_empty() {
        parameters.insert(
            CODE_BUCKET.into(),
            json!({"Type": "String", "Description": "Bucket holding the Lambda zip (stratus deploy apply uploads it)"}),
        );
        parameters.insert(
            CODE_KEY.into(),
            json!({"Type": "String", "Description": "Key of the zip `stratus package lambda` wrote"}),
        );
    } else {
        parameters.insert(
            IMAGE_URI.into(),
            json!({"Type": "String", "Default": manifest.artifacts.image, "Description": "ECR image of stratus-lambda"}),
        );
    }
    if let Some(tables) = &deployment.tables {
        render_tables(tables, manifest, &mut resources, &mut outputs);
    }
    if let Some(tables) = &deployment.task_tables {
        render_task_tables(tables, deployment, &mut resources, &mut outputs);
    }
    render_bucket(manifest, &mut resources, &mut outputs);
    if deployment.has_schedules() {
        render_dead_letters(deployment, &mut resources, &mut outputs);
    }
    if let Some(email) = manifest
        .alarms
        .email
        .as_ref()
        .filter(|_| manifest.alarms.enabled)
    {
        resources.insert(
            "AlarmTopic".into(),
            json!({
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "TopicName": format!("{}-alarms", manifest.stack_name()),
                    "KmsMasterKeyId": "alias/aws/sns",
                    "Subscription": [{"Protocol": "email", "Endpoint": email}],
                    "Tags": tags(manifest),
                }
            }),
        );
    }
    if let Some(vpc) = &manifest.vpc
        && vpc.s3_endpoint
    {
        resources.insert(
            "S3GatewayEndpoint".into(),
            json!({
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": vpc.vpc_id,
                    "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"},
                    "VpcEndpointType": "Gateway",
                    "RouteTableIds": vpc.route_tables,
                }
            }),
        );
    }
    for function in &deployment.functions {
        functions::render(function, deployment, &mut resources, &mut outputs);
    }
    if !deployment.ec2_jobs.is_empty() {
        parameters.insert(
            CLI_KEY.into(),
            json!({"Type": "String", "Description": "Key of the `stratus` binary (Linux, the instance's architecture) in the code bucket"}),
        );
        if !parameters.contains_key(CODE_BUCKET) {
            parameters.insert(
                CODE_BUCKET.into(),
                json!({"Type": "String", "Description": "Bucket holding the stratus binary"}),
            );
        }
        ec2::render(deployment, &mut resources);
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "Stratus {} ({}): serverless portfolio and risk analytics. Rendered by `stratus deploy template` from stratus.deploy.toml; edit the manifest, not this file.",
            manifest.stack_name(),
            env!("CARGO_PKG_VERSION")
        ),
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": outputs,
    })
}

fn attribute_type(t: AttributeType) -> &'static str {
    match t {
        AttributeType::String => "S",
        AttributeType::Number => "N",
    }
}

fn key_schema(hash: &str, range: Option<&str>) -> Value {
    let mut keys = vec![json!({"AttributeName": hash, "KeyType": "HASH"})];
    if let Some(range) = range {
        keys.push(json!({"AttributeName": range, "KeyType": "RANGE"}));
    }
    Value::Array(keys)
}

/// One table's resource, from the layout the DynamoDB store provisions with.
pub fn table_resource(table: &TableLayout, manifest: &Manifest) -> Value {
    let provisioned = manifest.cache.billing == Billing::Provisioned;
    let throughput = json!({
        "ReadCapacityUnits": manifest.cache.read_capacity,
        "WriteCapacityUnits": manifest.cache.write_capacity,
    });
    let mut properties = json!({
        "TableName": table.name,
        "AttributeDefinitions": table.attributes.iter().map(|(name, t)| json!({"AttributeName": name, "AttributeType": attribute_type(*t)})).collect::<Vec<_>>(),
        "KeySchema": key_schema(table.hash, table.range),
        "BillingMode": if provisioned { "PROVISIONED" } else { "PAY_PER_REQUEST" },
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
        "SSESpecification": {"SSEEnabled": true},
        "Tags": tags(manifest),
    });
    if provisioned {
        properties["ProvisionedThroughput"] = throughput.clone();
    }
    let index_json = |index: &stratus_store::tables::IndexLayout| {
        let projection = match index.projection {
            Projection::KeysOnly => json!({"ProjectionType": "KEYS_ONLY"}),
            Projection::All => json!({"ProjectionType": "ALL"}),
            Projection::Include(attributes) => {
                json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": attributes})
            }
        };
        let mut json = json!({
            "IndexName": index.name,
            "KeySchema": key_schema(index.hash, index.range),
            "Projection": projection,
        });
        if provisioned && !index.local {
            json["ProvisionedThroughput"] = throughput.clone();
        }
        json
    };
    let (local, global): (Vec<_>, Vec<_>) = table.indexes.iter().partition(|i| i.local);
    if !global.is_empty() {
        properties["GlobalSecondaryIndexes"] = global.into_iter().map(index_json).collect();
    }
    if !local.is_empty() {
        properties["LocalSecondaryIndexes"] = local.into_iter().map(index_json).collect();
    }
    let policy = if manifest.cache.retain {
        "Retain"
    } else {
        "Delete"
    };
    json!({
        "Type": "AWS::DynamoDB::Table",
        "Metadata": skips(&[("CKV_AWS_119", "encrypted at rest with the AWS-owned key; a customer-managed key adds $1/month and per-request KMS charges for public market data, and would stop scrilla users sharing the tables")]),
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    })
}

fn render_tables(
    tables: &CacheTables,
    manifest: &Manifest,
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) {
    for kind in TableKind::ALL {
        let table = tables.get(kind);
        let id = table_logical_id(kind);
        resources.insert(id.into(), table_resource(table, manifest));
        outputs.insert(
            format!("{id}Name"),
            json!({"Description": format!("The {} table", table.name), "Value": {"Ref": id}}),
        );
    }
}

/// sosw's five task tables, and an alarm on dead tasks: the roles log one JSON line per task
/// archived as dead (`{"stratus_dead_task": …}`), which a metric filter counts.
fn render_task_tables(
    tables: &TaskTables,
    deployment: &Deployment,
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) {
    let manifest = &deployment.manifest;
    for (id, table) in [
        ("TasksTable", &tables.tasks),
        ("ClosedTasksTable", &tables.closed),
        ("RetryTasksTable", &tables.retry),
        ("TasksMetaTable", &tables.meta),
        ("JobsConfigTable", &tables.config),
    ] {
        let mut resource = table_resource(table, manifest);
        if id == "JobsConfigTable" {
            // sosw's template keeps its config whatever the stack does.
            resource["DeletionPolicy"] = json!("Retain");
            resource["UpdateReplacePolicy"] = json!("Retain");
        }
        resources.insert(id.into(), resource);
        outputs.insert(
            format!("{id}Name"),
            json!({"Description": format!("The {} table", table.name), "Value": {"Ref": id}}),
        );
    }
    let metric = format!("DeadTasks-{}", manifest.stack_name());
    for function in deployment.functions.iter().filter(|f| {
        matches!(
            f.role,
            Role::Job(JobRole::Orchestrator | JobRole::Scavenger | JobRole::Assistant)
        )
    }) {
        resources.insert(
            format!("{}DeadTaskFilter", function.logical),
            json!({
                "Type": "AWS::Logs::MetricFilter",
                "Properties": {
                    "LogGroupName": {"Ref": format!("{}LogGroup", function.logical)},
                    "FilterPattern": "{ $.stratus_dead_task = * }",
                    "MetricTransformations": [{"MetricNamespace": "Stratus/Jobs", "MetricName": metric, "MetricValue": "1", "Unit": "Count"}],
                }
            }),
        );
    }
    if manifest.alarms.enabled {
        let mut alarm = json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": format!("{}-dead-tasks", manifest.stack_name()),
                "AlarmDescription": "A job task failed for good (after its last attempt, or with an error retrying cannot fix); `stratus jobs results JOB` shows it and `stratus jobs redrive` queues it again",
                "Namespace": "Stratus/Jobs",
                "MetricName": metric,
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            }
        });
        if manifest.alarms.email.is_some() {
            alarm["Properties"]["AlarmActions"] = json!([{"Ref": "AlarmTopic"}]);
        }
        resources.insert("DeadTasksAlarm".into(), alarm);
    }
}

fn render_bucket(
    manifest: &Manifest,
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) {
    if !manifest.bucket.existing.is_empty() {
        outputs.insert(
            "ExportBucketName".into(),
            json!({"Description": "Where exports go (an existing bucket)", "Value": manifest.bucket.existing}),
        );
        return;
    }
    let mut rules = vec![
        json!({"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}),
        json!({"Id": "ExpireOldVersions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}),
    ];
    if manifest.bucket.expire_days > 0 {
        rules.push(json!({
            "Id": "ExpireExports",
            "Status": "Enabled",
            "Prefix": format!("{}/", manifest.export_prefix()),
            "ExpirationInDays": manifest.bucket.expire_days,
        }));
    }
    resources.insert(
        "ExportBucket".into(),
        json!({
            "Type": "AWS::S3::Bucket",
            "Metadata": skips(&[("CKV_AWS_18", "server access logs need a second bucket for CSV exports of public data; use CloudTrail data events where access must be audited")]),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": format!("{}-exports-${{AWS::AccountId}}", manifest.stack_name())},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": true}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true,
                    "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true,
                    "RestrictPublicBuckets": true,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": rules},
                "Tags": tags(manifest),
            }
        }),
    );
    resources.insert(
        "ExportBucketPolicy".into(),
        json!({
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "ExportBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": ["ExportBucket", "Arn"]},
                            {"Fn::Sub": "${ExportBucket.Arn}/*"},
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }],
                },
            }
        }),
    );
    outputs.insert(
        "ExportBucketName".into(),
        json!({"Description": "Where exports go", "Value": {"Ref": "ExportBucket"}}),
    );
}

fn render_dead_letters(
    deployment: &Deployment,
    resources: &mut Map<String, Value>,
    outputs: &mut Map<String, Value>,
) {
    let manifest = &deployment.manifest;
    resources.insert(
        "DeadLetterQueue".into(),
        json!({
            "Type": "AWS::SQS::Queue",
            "Metadata": skips(&[("CKV_AWS_27", "encrypted with SSE-SQS (SqsManagedSseEnabled); a KMS key would need a customer-managed key whose policy admits EventBridge, for queued event envelopes")]),
            "Properties": {
                "QueueName": dead_letter_queue_name(manifest),
                "MessageRetentionPeriod": 1_209_600,
                "SqsManagedSseEnabled": true,
                "Tags": tags(manifest),
            }
        }),
    );
    let rules: Vec<Value> = deployment
        .functions
        .iter()
        .flat_map(|f| {
            f.schedules.iter().enumerate().flat_map(move |(i, s)| {
                (0..s.expressions.len())
                    .map(move |j| json!({"Fn::GetAtt": [functions::rule_id(f, i, j), "Arn"]}))
            })
        })
        .collect();
    if !rules.is_empty() {
        resources.insert(
            "DeadLetterQueuePolicy".into(),
            json!({
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "DeadLetterQueue"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "UndeliveredSchedules",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": rules}},
                        }],
                    },
                }
            }),
        );
    }
    outputs.insert(
        "DeadLetterQueueUrl".into(),
        json!({"Description": "Failed scheduled events", "Value": {"Ref": "DeadLetterQueue"}}),
    );
    if !manifest.alarms.enabled {
        return;
    }
    let alarm = alarm(
        manifest,
        format!("{}-dead-letters", manifest.stack_name()),
        "A scheduled run failed after its retries (its event is in the dead-letter queue)",
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
        json!({"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}),
    );
    resources.insert("DeadLetterAlarm".into(), alarm);
}

/// An alarm when `metric` (namespace, name, statistic) of `dimension` reaches 1 in five minutes,
/// notifying the e-mail topic when there is one.
pub(crate) fn alarm(
    manifest: &Manifest,
    name: String,
    description: &str,
    metric: (&str, &str, &str),
    dimension: Value,
) -> Value {
    let mut alarm = json!({
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "Namespace": metric.0,
            "MetricName": metric.1,
            "Dimensions": [dimension],
            "Statistic": metric.2,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        }
    });
    if manifest.alarms.email.is_some() {
        alarm["Properties"]["AlarmActions"] = json!([{"Ref": "AlarmTopic"}]);
    }
    alarm
}

/// `template` as YAML.
pub fn to_yaml(template: &Value) -> Result<String, serde_norway::Error> {
    serde_norway::to_string(template)
}

/// The artefact bucket's own stack: private, encrypted, versioned, TLS only; old versions of
/// uploaded code expire after 30 days.
pub fn artefact_template(bucket: &str) -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Stratus deployment artefacts (Lambda zips), created by `stratus deploy apply`",
        "Resources": {
            "ArtefactBucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": bucket,
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": true}]},
                    "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "LifecycleConfiguration": {"Rules": [
                        {"Id": "ExpireOldVersions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
                        {"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
                    ]},
                }
            }
        },
        "Outputs": {"ArtefactBucketName": {"Value": {"Ref": "ArtefactBucket"}}},
    })
}
