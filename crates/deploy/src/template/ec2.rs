//! The scraper's EC2 way of running ingest, done with least privilege: per job an Auto Scaling
//! group of at most one instance, scaled to 1 by a scheduled action at the job's cron; the
//! instance fetches the `stratus` binary from the code bucket, runs the ingest under a time
//! limit, sets its group back to 0 and powers off (terminate on shutdown), whatever happened.

use serde_json::{Map, Value, json};

use super::{CLI_KEY, CODE_BUCKET, tags};
use crate::iam::{self, Arns};
use crate::manifest::Architecture;
use crate::model::{Access, Deployment};
use stratus_store::tables::TableKind;

pub(crate) fn render(deployment: &Deployment, resources: &mut Map<String, Value>) {
    let manifest = &deployment.manifest;
    let stack = manifest.stack_name();
    let group_name = |i: usize| format!("{stack}-ingest-{}", i + 1);
    let secrets = &deployment.ec2_secrets;
    let access = Access {
        tables: if deployment.tables.is_some() {
            TableKind::ALL.iter().map(|k| (*k, true)).collect()
        } else {
            Default::default()
        },
        exports: true,
        secrets: secrets
            .iter()
            .map(|s| manifest.secret_parameter(s))
            .collect(),
        dead_letters: false,
        ..Access::default()
    };
    let mut statements = iam::access_statements(
        &access,
        deployment.tables.as_ref(),
        manifest,
        &Arns::Template,
    );
    statements.push(json!({
        "Sid": "FetchBinary",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [{"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::${{{CODE_BUCKET}}}/${{{CLI_KEY}}}")}],
    }));
    statements.push(json!({
        "Sid": "ScaleOwnGroupToZero",
        "Effect": "Allow",
        "Action": ["autoscaling:SetDesiredCapacity"],
        "Resource": [{"Fn::Sub": format!("arn:${{AWS::Partition}}:autoscaling:${{AWS::Region}}:${{AWS::AccountId}}:autoScalingGroup:*:autoScalingGroupName/{stack}-ingest-*")}],
    }));
    resources.insert(
        "IngestInstanceRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": format!("{stack}-ingest-instance"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                },
                "Policies": [{"PolicyName": "least-privilege", "PolicyDocument": iam::document(statements)}],
                "Tags": tags(manifest),
            }
        }),
    );
    resources.insert(
        "IngestInstanceProfile".into(),
        json!({
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {
                "InstanceProfileName": format!("{stack}-ingest-instance"),
                "Roles": [{"Ref": "IngestInstanceRole"}],
            }
        }),
    );
    let ami = match manifest.architecture {
        Architecture::Arm64 => "al2023-ami-kernel-default-arm64",
        Architecture::X86_64 => "al2023-ami-kernel-default-x86_64",
    };
    let bucket = if manifest.bucket.existing.is_empty() {
        "${ExportBucket}".to_string()
    } else {
        manifest.bucket.existing.clone()
    };
    for (i, job) in deployment.ec2_jobs.iter().enumerate() {
        let input = job.input.clone().unwrap_or(Value::Null);
        let config = input["config"].as_str().unwrap_or_default();
        let mut flags = String::new();
        if input["full"] == json!(true) {
            flags.push_str(" --full");
        }
        if input["force"] == json!(true) {
            flags.push_str(" --force");
        }
        let fetch_secrets: String = secrets
            .iter()
            .map(|name| {
                format!(
                    "export {name}=\"$(aws ssm get-parameter --name {} --with-decryption --query Parameter.Value --output text)\"\n",
                    manifest.secret_parameter(name)
                )
            })
            .collect();
        let env_lines: String = crate::model::cache_env(manifest)
            .iter()
            .map(|(k, v)| format!("export {k}='{v}'\n"))
            .collect();
        // `${…}` is CloudFormation's substitution; the script's own variables use `$NAME`.
        let script = format!(
            "#!/bin/bash\n\
             set -uo pipefail\n\
             finish() {{ aws autoscaling set-desired-capacity --region ${{AWS::Region}} --auto-scaling-group-name {group} --desired-capacity 0; shutdown -h now; }}\n\
             trap finish EXIT\n\
             export AWS_REGION=${{AWS::Region}} HOME=/root STRATUS_HOME=/opt/stratus\n\
             mkdir -p /opt/stratus && cd /opt/stratus\n\
             aws s3 cp s3://${{{CODE_BUCKET}}}/${{{CLI_KEY}}} ./stratus && chmod +x ./stratus\n\
             {env_lines}{fetch_secrets}cat > ingest.toml <<'STRATUS_INGEST_CONFIG'\n{config}\nSTRATUS_INGEST_CONFIG\n\
             timeout {minutes}m ./stratus ingest --config ingest.toml --destination s3://{bucket}/{prefix}{flags}\n",
            group = group_name(i),
            minutes = manifest.ingest.max_minutes,
            prefix = manifest.export_prefix(),
        );
        let template_id = format!("IngestLaunchTemplate{}", i + 1);
        resources.insert(
            template_id.clone(),
            json!({
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateName": group_name(i),
                    "LaunchTemplateData": {
                        "ImageId": format!("{{{{resolve:ssm:/aws/service/ami-amazon-linux-latest/{ami}}}}}"),
                        "InstanceType": manifest.ingest.instance_type,
                        "InstanceInitiatedShutdownBehavior": "terminate",
                        "IamInstanceProfile": {"Arn": {"Fn::GetAtt": ["IngestInstanceProfile", "Arn"]}},
                        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
                        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": true, "VolumeSize": 8, "VolumeType": "gp3"}}],
                        "UserData": {"Fn::Base64": {"Fn::Sub": script}},
                        "TagSpecifications": [{"ResourceType": "instance", "Tags": tags(manifest)}],
                    }
                }
            }),
        );
        let group_id = format!("IngestGroup{}", i + 1);
        let mut group = json!({
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "AutoScalingGroupName": group_name(i),
                "MinSize": "0",
                "MaxSize": "1",
                "DesiredCapacity": "0",
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": template_id}, "Version": {"Fn::GetAtt": [template_id, "LatestVersionNumber"]}},
            }
        });
        match &manifest.vpc {
            Some(vpc) => group["Properties"]["VPCZoneIdentifier"] = json!(vpc.subnets),
            None => group["Properties"]["AvailabilityZones"] = json!({"Fn::GetAZs": ""}),
        }
        resources.insert(group_id.clone(), group);
        // Auto Scaling recurrences are Unix cron: the expression as written (seconds dropped).
        let fields: Vec<&str> = job.cron.split_whitespace().collect();
        let recurrence = if fields.len() == 6 {
            fields[1..].join(" ")
        } else {
            job.cron.clone()
        };
        resources.insert(
            format!("IngestStart{}", i + 1),
            json!({
                "Type": "AWS::AutoScaling::ScheduledAction",
                "Properties": {
                    "AutoScalingGroupName": {"Ref": group_id},
                    "DesiredCapacity": 1,
                    "Recurrence": recurrence,
                    "TimeZone": "Etc/UTC",
                }
            }),
        );
    }
}
