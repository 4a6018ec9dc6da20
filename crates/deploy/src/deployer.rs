//! The deployer's policy: what `stratus deploy apply | status | verify | destroy | secret set`
//! calls, and what CloudFormation then does with the caller's credentials — scoped to the names
//! this stack gives its resources (every one starts with `{stack}-{stage}`), never `*` where AWS
//! takes a narrower resource.

use serde_json::Value;

use crate::iam::{Arns, allow, arn};
use crate::manifest::Compute;
use crate::model::Deployment;

/// The deployer's statements for `deployment`.
pub(crate) fn statements(deployment: &Deployment, arns: &Arns) -> Vec<Value> {
    let manifest = &deployment.manifest;
    let stack = manifest.stack_name();
    let named = format!("{stack}-*");
    let mut out = vec![
        allow(
            "Stacks",
            &[
                "cloudformation:CreateChangeSet",
                "cloudformation:CreateStack",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResources",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetTemplate",
                "cloudformation:UpdateStack",
            ],
            vec![
                arn(arns, "cloudformation", &format!("stack/{stack}/*"), true),
                arn(
                    arns,
                    "cloudformation",
                    &format!("stack/{stack}-artifacts/*"),
                    true,
                ),
            ],
        ),
        allow(
            "Buckets",
            &[
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetBucketLocation",
                "s3:GetBucketPolicy",
                "s3:GetEncryptionConfiguration",
                "s3:ListBucket",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            vec![arn(arns, "s3", &named, false)],
        ),
        // The objects of the stack's own buckets (artefacts and exports): what its bucket policy
        // and lifecycle rules could grant anyway, so the deployer holds them outright.
        allow(
            "BucketObjects",
            &["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            vec![arn(arns, "s3", &format!("{named}/*"), false)],
        ),
        allow(
            "Functions",
            &[
                "lambda:AddPermission",
                "lambda:CreateFunction",
                "lambda:CreateFunctionUrlConfig",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionConcurrency",
                "lambda:DeleteFunctionUrlConfig",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionUrlConfig",
                "lambda:ListTags",
                "lambda:PutFunctionConcurrency",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:UpdateFunctionUrlConfig",
            ],
            vec![arn(arns, "lambda", &format!("function:{named}"), true)],
        ),
        allow(
            "Roles",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
            ],
            vec![arn(arns, "iam", &format!("role/{named}"), false)],
        ),
        {
            let mut pass = allow(
                "PassRolesToLambda",
                &["iam:PassRole"],
                vec![arn(arns, "iam", &format!("role/{named}"), false)],
            );
            pass["Condition"] = serde_json::json!({"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}});
            pass
        },
        allow(
            "LogGroups",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            vec![arn(
                arns,
                "logs",
                &format!("log-group:/aws/lambda/{named}"),
                true,
            )],
        ),
        allow(
            "Alarms",
            &[
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
            ],
            vec![arn(arns, "cloudwatch", &format!("alarm:{named}"), true)],
        ),
        allow(
            "Secrets",
            &["ssm:GetParameter", "ssm:PutParameter"],
            vec![arn(
                arns,
                "ssm",
                &format!("parameter/{}/{}/*", manifest.stack, manifest.stage),
                true,
            )],
        ),
    ];
    if let Some(tables) = &deployment.tables {
        let mut resources = Vec::new();
        for table in tables.all() {
            resources.push(arn(
                arns,
                "dynamodb",
                &format!("table/{}", table.name),
                true,
            ));
            if !table.indexes.is_empty() {
                resources.push(arn(
                    arns,
                    "dynamodb",
                    &format!("table/{}/index/*", table.name),
                    true,
                ));
            }
        }
        out.push(allow(
            "Tables",
            &[
                "dynamodb:CreateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTable",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:UpdateTable",
            ],
            resources,
        ));
    }
    if deployment.has_schedules() {
        out.push(allow(
            "Schedules",
            &[
                "events:DeleteRule",
                "events:DescribeRule",
                "events:PutRule",
                "events:PutTargets",
                "events:RemoveTargets",
            ],
            vec![arn(arns, "events", &format!("rule/{named}"), true)],
        ));
        out.push(allow(
            "DeadLetterQueue",
            &[
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
            ],
            vec![arn(arns, "sqs", &named, true)],
        ));
    }
    if manifest.alarms.email.is_some() {
        out.push(allow(
            "AlarmTopic",
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
            ],
            vec![arn(arns, "sns", &named, true)],
        ));
        // Changing the e-mail removes its subscription; Unsubscribe names no resource type.
        out.push(allow(
            "AlarmUnsubscribe",
            &["sns:Unsubscribe"],
            vec![Value::String("*".into())],
        ));
    }
    if manifest.ingest.compute == Compute::Ec2Schedule && !deployment.ec2_jobs.is_empty() {
        out.push(allow(
            "InstanceProfile",
            &[
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
            ],
            vec![arn(
                arns,
                "iam",
                &format!("instance-profile/{named}"),
                false,
            )],
        ));
        out.push(allow(
            "IngestGroup",
            &[
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:DeleteScheduledAction",
                "autoscaling:PutScheduledUpdateGroupAction",
                "autoscaling:UpdateAutoScalingGroup",
            ],
            vec![arn(
                arns,
                "autoscaling",
                &format!("autoScalingGroup:*:autoScalingGroupName/{named}"),
                true,
            )],
        ));
        out.push(allow(
            "IngestLaunchTemplate",
            &[
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:DeleteLaunchTemplate",
            ],
            vec![arn(arns, "ec2", "launch-template/*", true)],
        ));
    }
    out
}
